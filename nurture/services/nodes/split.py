"""Split-test nodes: ports "v0".."v3" by weight, or the winner once one is picked."""

from nurture.models import Node
from nurture.services import splits
from nurture.services.nodes.base import Context, Go, Outcome, Visit, registry


@registry.register(Node.Kind.SPLIT)
def run_split(node: Node, visits: list[Visit], ctx: Context) -> dict[int, Outcome]:
    winner = node.config.get("winner") if ctx.dry_run else splits.decide(node)
    labels = [v.get("label") or chr(ord("A") + i) for i, v in enumerate(splits.variants(node))]
    outcomes: dict[int, Outcome] = {}
    for visit in visits:
        port = winner or splits.pick(node=node, enrollment_id=visit.enrollment.pk)
        label = (
            labels[int(port[1:])] if port[1:].isdigit() and int(port[1:]) < len(labels) else port
        )
        note = f"split: winner {label}" if winner else f"split: variant {label}"
        outcomes[visit.enrollment.pk] = Go(port, note)
    return outcomes
