"""Nodes whose work happens outside the tick's transaction: SMS, notify, task, update.

Arriving, the lead's path row is marked `effect="pending"` and an effect task is enqueued
on commit; the task claims the row (pending → running), does the work once, records the
result and wakes the enrollment, which then moves on. A lost broker message is re-sent by
the backstop when the enrollment next comes due; a worker killed mid-effect leaves the row
`running`, and the lead moves on without it (at most once: a text is never sent twice).
"""

from datetime import timedelta

from nurture.models import Node, PathStep
from nurture.services.nodes.base import Context, Go, Outcome, Visit, Wait, registry

KINDS = (Node.Kind.SMS, Node.Kind.TASK, Node.Kind.NOTIFY, Node.Kind.UPDATE)
BACKSTOP = timedelta(minutes=10)
DRY_NOTES: dict[str, str] = {
    Node.Kind.SMS: "would text the lead",
    Node.Kind.TASK: "would create a task for sales",
    Node.Kind.NOTIFY: "would notify",
    Node.Kind.UPDATE: "would update the lead",
}


def run_effect_node(node: Node, visits: list[Visit], ctx: Context) -> dict[int, Outcome]:
    outcomes: dict[int, Outcome] = {}
    if ctx.dry_run:
        return {visit.enrollment.pk: Go(note=DRY_NOTES[node.kind]) for visit in visits}
    resuming = [visit.enrollment.pk for visit in visits if not visit.arriving]
    states = dict(
        PathStep.objects.filter(enrollment_id__in=resuming, node=node).values_list(
            "enrollment_id", "effect"
        )
    )
    for visit in visits:
        enrollment_id = visit.enrollment.pk
        if visit.arriving:
            ctx.add_effect(enrollment_id, node.pk)
            outcomes[enrollment_id] = Wait(until=ctx.now + BACKSTOP)
            continue
        state = states.get(enrollment_id, "")
        if state == "pending":
            # The task's message was lost (or quiet hours held a text): enqueue it again.
            ctx.add_effect(enrollment_id, node.pk, again=True)
            outcomes[enrollment_id] = Wait(until=ctx.now + BACKSTOP)
        elif state == "running":
            outcomes[enrollment_id] = Go(note=f"{node.get_kind_display()}: not confirmed")
        else:
            outcomes[enrollment_id] = Go(note=node.get_kind_display().lower())
    return outcomes


for _kind in KINDS:
    registry.register(_kind)(run_effect_node)
