"""The hand-off rule: a lead sales has gets no more email from a hand-off sequence.

"Sales has it" is read from the lead's own row, since nurture sits left of sales and cannot
ask it: the lead is hot, a rep owns it, or it is in a stage a rep works. The rule is
checked when a lead is enrolled and again when each delivery is about to go, so it holds
whatever order the facts arrive in (hot at sign-up, a rep claiming it between two steps,
a rescoring landing while a send is queued). Only the Day-1 confirmation, the answer to
the prospect's own request, still goes out.
"""

from django.db.models import Q

from capture.models import Lead
from nurture.models import Enrollment, Sequence, Step

CONFIRMATION_DAY = 1
# sales_ready is where scoring moves a lead that turns hot; the rest are a rep's moves.
SALES_STAGES = frozenset(
    {
        Lead.Stage.SALES_READY,
        Lead.Stage.CONTACTED,
        Lead.Stage.BOOKED,
        Lead.Stage.WON,
        Lead.Stage.LOST,
    }
)


def sales_has_lead(*, lead: Lead) -> str | None:
    """Why sales has `lead` (hot, owned by a rep, in a sales stage), else None."""
    if lead.temperature == Lead.Temperature.HOT:
        return "lead is hot"
    if lead.stage in SALES_STAGES:
        return f"lead is {Lead.Stage(lead.stage).label.lower()}"
    if lead.owner_id is not None:
        return "lead has a sales owner"
    return None


def handed_to_sales(*, lead: Lead, sequence: Sequence) -> str | None:
    """Why `sequence` must stop mailing `lead` under the hand-off rule, else None."""
    return sales_has_lead(lead=lead) if sequence.hand_hot_leads_to_sales else None


def is_confirmation(step: Step) -> bool:
    if step.day is None:  # a journey's email: marked transactional by the marketer
        return step.transactional
    return step.day <= CONFIRMATION_DAY


def confirmation_survives(*, enrollment: Enrollment, step: Step) -> bool:
    """A hand-off ends the enrollment but leaves its Day-1 confirmation to go out."""
    return (
        enrollment.state == Enrollment.State.EXITED
        and enrollment.exit_reason == Enrollment.ExitReason.HANDED_TO_SALES
        and is_confirmation(step)
    )


def deliverable() -> Q:
    """Deliveries whose enrollment still lets them go (a filter on Delivery).

    Every exit cancels the enrollment's scheduled deliveries but a hand-off's Day-1
    confirmation, so a scheduled delivery of an exited enrollment is that confirmation: one
    condition on the enrollment, not an OR joining the step, keeps the tick's claim query as
    cheap as before (`nurture.tick_flat`). The send task checks `confirmation_survives`.
    """
    return Q(enrollment__state__in=(Enrollment.State.ACTIVE, Enrollment.State.EXITED))
