"""Goal nodes: the journey's conversion point.

A lead that meets the goal anywhere in the journey converts at once (see
`goals.convert`); one that reaches the goal node without meeting it ends as completed.
Goal events: booked, won, reached a stage, clicked a link.
"""

from nurture.models import Node
from nurture.services import goals
from nurture.services.nodes.base import Context, End, Outcome, Visit, registry


@registry.register(Node.Kind.GOAL)
def run_goal(node: Node, visits: list[Visit], ctx: Context) -> dict[int, Outcome]:
    met = goals.leads_meeting(
        node=node, lead_ids={v.enrollment.lead_id for v in visits}, now=ctx.now
    )
    label = goals.describe(node)
    return {
        visit.enrollment.pk: End(converted=True, note=f"goal: {label}")
        if visit.enrollment.lead_id in met
        else End(converted=False, note=f"reached the end without “{label}”")
        for visit in visits
    }
