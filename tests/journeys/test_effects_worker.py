"""Effect nodes on the real stack: a Celery worker on Redis runs the effects (a task for
the owner, then an email to the owner through an SMTP sink); the test process ticks."""

from collections.abc import Iterator
from email import message_from_bytes, policy

import pytest
from django.conf import settings

from leadfunnel.celery import app as celery_app
from nurture.models import Enrollment, Node, PathStep
from nurture.services import advancing, journeys, triggers
from sales.models import Task
from tests.factories import LeadFactory
from tests.journeys.builders import node
from tests.processes import SmtpSink, Stack, app_env, wait_until
from tests.sales.support import make_rep

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def stack() -> Iterator[tuple[Stack, SmtpSink]]:
    with SmtpSink() as smtp:
        stack = Stack(
            app_env(
                broker_url=settings.CELERY_BROKER_URL,
                cache_url=settings.REDIS_URL,
                smtp_port=smtp.port,
            )
        )
        eager = celery_app.conf.task_always_eager
        celery_app.conf.task_always_eager = False
        try:
            stack.worker(concurrency=1)
            yield stack, smtp
        finally:
            celery_app.conf.task_always_eager = eager
            stack.stop_all()


def test_a_real_worker_creates_the_task_then_emails_the_owner(
    stack: tuple[Stack, SmtpSink],
) -> None:
    workers, smtp = stack
    rita = make_rep("rita", email="rita@leadfunnel.example")
    lead = LeadFactory(owner=rita, email="ada@example.com", first_name="Ada", last_name="L")
    journey = journeys.build(
        name="Hot lead follow-up",
        hand_hot_leads_to_sales=False,  # the owner's own lead: tasks, not a hand-off
        nodes={
            "task": node(Node.Kind.TASK, "Call", title="Call {{ name }}", due_hours=2),
            "tell": node(
                Node.Kind.NOTIFY,
                "Tell the owner",
                to="owner",
                subject="Call {{ name }} today",
                message="{{ email }} is waiting.",
            ),
        },
        edges=[("task", "next", "tell")],
        start="task",
    )

    enrollment = triggers.enter_journey(lead=lead, journey=journey, trigger="test")
    assert enrollment is not None

    # The first node ran in the worker (advance on commit, then the effect task).
    assert wait_until(lambda: Task.objects.exists(), timeout=60), workers.tail()
    task = Task.objects.get()
    assert (task.owner_id, task.title, task.source) == (rita.pk, "Call Ada L", "journey")
    assert wait_until(
        lambda: PathStep.objects.filter(enrollment=enrollment, effect="done").exists(), timeout=10
    )

    # The tick (beat's job) moves the lead on; the worker sends the notification.
    def notified() -> bool:
        advancing.advance_all_due()
        return smtp.count_for("rita@leadfunnel.example") == 1

    assert wait_until(notified, timeout=30, interval=0.5), workers.tail()
    [received] = smtp.messages
    parsed = message_from_bytes(received.content, policy=policy.default)
    assert parsed["Subject"] == "Call Ada L today"
    assert parsed.get_content().strip() == "ada@example.com is waiting."
    assert wait_until(
        lambda: PathStep.objects.filter(node_name="Tell the owner", effect="done").exists(),
        timeout=10,
    )
    tell = PathStep.objects.get(node_name="Tell the owner")
    assert tell.result == "notified rita@leadfunnel.example"
    assert Task.objects.count() == 1  # once, though the tick ran many times
    advancing.advance_all_due()
    enrollment.refresh_from_db()
    assert enrollment.state == Enrollment.State.COMPLETED
