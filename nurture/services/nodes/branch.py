"""Branch nodes: ordered conditions ("c0", "c1", ...) and "else", one query per condition."""

from nurture.models import Node
from nurture.services import conditions
from nurture.services.nodes.base import Context, Go, NodeNames, Outcome, Visit, registry


@registry.register(Node.Kind.BRANCH)
def run_branch(node: Node, visits: list[Visit], ctx: Context) -> dict[int, Outcome]:
    outcomes: dict[int, Outcome] = {}
    remaining: dict[int, list[Visit]] = {visit.enrollment.lead_id: [] for visit in visits}
    for visit in visits:
        remaining[visit.enrollment.lead_id].append(visit)
    names = NodeNames(ctx)
    for index, rule in enumerate(node.config.get("conditions", [])):
        if not remaining:
            break
        condition = rule.get("when", rule)
        matched = conditions.matching(lead_ids=remaining, condition=condition, now=ctx.now)
        label = rule.get("label") or conditions.describe(condition, node_names=names)
        for lead_id in matched:
            for visit in remaining.pop(lead_id):
                outcomes[visit.enrollment.pk] = Go(f"c{index}", f"branch: {label} → yes")
    for group in remaining.values():
        for visit in group:
            outcomes[visit.enrollment.pk] = Go("else", "branch: otherwise")
    return outcomes
