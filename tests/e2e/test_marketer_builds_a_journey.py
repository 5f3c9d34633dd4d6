"""Issue 13's browser test: the marketer builds a journey on the map (a branch on
temperature, a split test with two email variants, a wait-until with a "timed out" email),
dry-runs it for a hot and a cold lead, publishes it; two prospects then submit the landing
page, a real Celery worker sends their emails to an SMTP sink, and the map shows who went
where."""

import re
import tempfile
from email import message_from_bytes, policy
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Locator, Page, expect

from capture.models import Lead
from nurture.models import Delivery, Edge, Enrollment, Journey, Node, Trigger
from nurture.services import advancing
from nurture.services.dispatching import hand_out_due
from tests.e2e.conftest import USER_AGENT, watch
from tests.factories import FitRuleFactory, LandingPageFactory, LeadFactory, marketer
from tests.processes import SmtpSink, Stack, wait_until

pytestmark = pytest.mark.django_db(transaction=True)
PASSWORD = "correct-horse-battery"
SCREENSHOTS = Path(tempfile.gettempdir())  # the brief: screenshots go to /tmp
CONFIRM = "Thanks for registering"
SUBJECTS = {
    CONFIRM: "Your webinar seat, {{ first_name }}",
    "For hot leads": "For hot leads: a call this week?",
    "Variant A": "Three ideas for your pipeline",
    "Variant B": "Your pipeline, three ways",
    "Timed out A": "In case you missed it",
    "Timed out B": "In case you missed it",
}


# -- the map, driven as the marketer does ---------------------------------------------------


def _node(page: Page, name: str) -> Locator:
    return page.locator(f'svg.jm-svg g.jm-node[data-name="{name}"]')


def _item(page: Page, name: str) -> Locator:
    """The node's entry in the list below the map."""
    return page.locator(f"#node-item-{_node(page, name).get_attribute('data-node')}")


def _add_after(page: Page, after: str, *, port: str = "", kind: str, name: str) -> Locator:
    """The "+" at the end of an arrow, the kind and name, "Add the node": its form opens."""
    arrow = f" ({port})" if port else ""
    page.locator(f'svg.jm-svg g.jm-plus[aria-label="Add a node after {after}{arrow}"]').click()
    panel = page.locator("#node-panel")
    where = f"after “{after}”" + (f" (on “{port}”)" if port else "")
    expect(panel.get_by_role("heading")).to_have_text(f"Add a node {where}")
    expect(panel.locator(".journey-preview")).to_have_text(
        f"No lead waits at “{after}”; the new node reaches leads that enter from now on."
    )
    panel.get_by_label("Kind of node").select_option(kind)
    panel.get_by_label("Name").fill(name)
    panel.get_by_role("button", name="Add the node").click()
    expect(panel.get_by_role("status")).to_have_text(f"Added “{name}”: fill in its form.")
    expect(_node(page, name)).to_be_visible()
    return panel


def _saved(panel: Locator, name: str) -> None:
    panel.get_by_role("button", name="Save").click()
    expect(panel.get_by_role("status")).to_have_text(f"Saved “{name}”.")


def _write_email(page: Page, panel: Locator, name: str, *, transactional: bool = False) -> None:
    panel.get_by_label("Name").fill(name)
    panel.get_by_label("Subject").fill(SUBJECTS[name])
    panel.get_by_label("Body").fill(f"Hi {{{{ first_name }}}},\n\n{name}: the webinar notes.")
    if transactional:
        panel.get_by_label("Transactional").check()
    else:
        # The confirmation went out minutes before: these may follow on the same day.
        panel.get_by_label("May go the same day as another email of this journey").check()
    _saved(panel, name)
    expect(_node(page, name)).to_contain_text(f"“{SUBJECTS[name][:30]}")


def _build(page: Page, url: str, landing_title: str) -> Journey:
    page.goto(f"{url}/admin/nurture/journey/add/")
    page.locator("#id_name").fill("Spring webinar journey")
    page.locator("#id_window_start_hour").fill("0")
    page.locator("#id_window_end_hour").fill("24")
    for box in page.locator("#id_weekdays input[type=checkbox]").all():
        box.check()
    # On for a new journey; this one has an email for hot leads, so it keeps them.
    hand_off = page.get_by_label("Hand leads to sales")
    expect(hand_off).to_be_checked()
    hand_off.uncheck()
    page.get_by_role("button", name="Save", exact=True).click()

    # A new journey opens on its map with its one email's form beside it.
    panel = page.locator("#node-panel")
    expect(panel.get_by_role("heading", name="Email: First email")).to_be_visible()
    expect(page.locator("svg.jm-svg g.jm-node")).to_have_count(1)
    expect(page.get_by_text("Status: paused (draft)")).to_be_visible()
    journey = Journey.objects.get(name="Spring webinar journey")
    _write_email(page, panel, CONFIRM, transactional=True)
    expect(_node(page, CONFIRM)).to_contain_text("Email · start")

    # Leads enter from the landing page.
    adding = page.locator("form.journey-trigger").filter(has_text="Add a trigger")
    adding.get_by_label("Kind").select_option("form")
    adding.get_by_label("Page").select_option(label=landing_title)
    adding.get_by_role("button", name="Add trigger").click()
    expect(panel.get_by_role("status")).to_contain_text("Added the trigger")
    expect(page.locator("#triggers fieldset legend").first).to_have_text("Landing-page submission")

    # A branch: hot leads one way, everyone else the other.
    panel = _add_after(page, CONFIRM, kind="branch", name="Hot?")
    expect(panel.get_by_role("heading", name="Branch: Hot?")).to_be_visible()
    condition = panel.locator(".journey-condition").first
    condition.get_by_label("Field").select_option("temperature")
    condition.get_by_label("Comparison").select_option("is")
    condition.get_by_label("Value").fill("hot")
    condition.get_by_label("Arrow label").fill("hot")
    _saved(panel, "Hot?")
    expect(_node(page, "Hot?")).to_contain_text("1 condition + otherwise")
    labels = page.locator("svg.jm-svg text.jm-label")
    expect(labels.filter(has_text="hot")).to_have_count(1)
    expect(labels.filter(has_text="otherwise")).to_have_count(1)

    panel = _add_after(page, "Hot?", port="hot", kind="email", name="For hot leads")
    _write_email(page, panel, "For hot leads")

    # Otherwise: a split test of two emails, then a wait for a click of at most an hour.
    panel = _add_after(page, "Hot?", port="otherwise", kind="split", name="Subject test")
    expect(panel.get_by_label("Label of variant 1")).to_have_value("A")
    expect(panel.get_by_label("Percent of variant 2")).to_have_value("50")
    _saved(panel, "Subject test")
    split = _node(page, "Subject test")
    expect(split.locator("text.jm-variant-title")).to_have_text(["A 50%", "B 50%"])
    for variant in ("A", "B"):
        email = f"Variant {variant}"
        port = f"variant {variant}"
        panel = _add_after(page, "Subject test", port=port, kind="email", name=email)
        _write_email(page, panel, email)
        wait = f"Clicked {variant}?"
        panel = _add_after(page, email, kind="wait_until", name=wait)
        panel.get_by_label("Event").select_option("clicked")
        panel.get_by_label("Which email").select_option(label=email)
        panel.get_by_label("Time out after").fill("1")
        panel.get_by_label("Unit").select_option("hours")
        _saved(panel, wait)
        expect(_node(page, wait)).to_contain_text(f"until clicked “{email}”, at most")
        # The box clips its summary; the list below the map has it whole.
        expect(_item(page, wait).locator(".journey-summary")).to_contain_text(
            f"until clicked “{email}”, at most 1 hour"
        )
        panel = _add_after(page, wait, port="timed out", kind="email", name=f"Timed out {variant}")
        _write_email(page, panel, f"Timed out {variant}")

    # Ten boxes, each drawn with its name, and the arrows labelled.
    names = [
        CONFIRM,
        "Hot?",
        "For hot leads",
        "Subject test",
        "Variant A",
        "Variant B",
        "Clicked A?",
        "Clicked B?",
        "Timed out A",
        "Timed out B",
    ]
    expect(page.locator("svg.jm-svg g.jm-node")).to_have_count(len(names))
    for name in names:
        expect(_node(page, name).locator("text.jm-name")).to_have_text(name)
    for label in ("variant A", "variant B", "timed out", "yes"):
        expect(labels.filter(has_text=label).first).to_be_visible()
    page.screenshot(path=str(SCREENSHOTS / "h7-journey-built.png"), full_page=True)
    return journey


def _graph(journey: Journey) -> set[tuple[str, str, str]]:
    return {
        (edge.source.name, edge.port, edge.target.name)
        for edge in Edge.objects.filter(source__sequence=journey).select_related("source", "target")
    }


# -- the prospects ------------------------------------------------------------------------


def _subjects(sink: SmtpSink, address: str) -> list[str]:
    with sink.lock:
        received = [message for message in sink.messages if address in message.rcpt_tos]
    return [str(message_from_bytes(m.content, policy=policy.default)["Subject"]) for m in received]


def _tick_until(done: Any, *, worker: Stack, timeout: float = 45) -> None:
    """The journey tick and the dispatcher, as beat runs them, until `done()` holds."""

    def tick() -> bool:
        advancing.advance_all_due()
        hand_out_due()
        return bool(done())

    assert wait_until(tick, timeout=timeout, interval=0.5), worker.tail()


def test_marketer_builds_dry_runs_and_publishes_a_journey_and_two_prospects_take_its_branches(
    live_server: Any, browser: Browser, page: Page, sink: SmtpSink, worker: Stack, settings: Any
) -> None:
    settings.CAPTURE_MIN_FILL_SECONDS = 0
    landing = LandingPageFactory(slug="spring-webinar", title="Spring webinar")
    # A director is hot on sight (hot from 60).
    FitRuleFactory(name="Director", value="director", points=60)
    LeadFactory(email="hot.sample@example.com", temperature=Lead.Temperature.HOT)
    LeadFactory(email="cold.sample@example.com", temperature=Lead.Temperature.COLD)
    user = marketer()

    page.goto(f"{live_server.url}/admin/login/")
    page.get_by_label("Username").fill(user.username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    journey = _build(page, live_server.url, landing.title)
    assert _graph(journey) == {
        (CONFIRM, "next", "Hot?"),
        ("Hot?", "c0", "For hot leads"),
        ("Hot?", "else", "Subject test"),
        ("Subject test", "v0", "Variant A"),
        ("Subject test", "v1", "Variant B"),
        ("Variant A", "next", "Clicked A?"),
        ("Variant B", "next", "Clicked B?"),
        ("Clicked A?", "timeout", "Timed out A"),
        ("Clicked B?", "timeout", "Timed out B"),
    }
    trigger = Trigger.objects.get(sequence=journey)
    assert (trigger.kind, trigger.config) == (Trigger.Kind.FORM, {"page": landing.pk})
    confirm = Node.objects.get(sequence=journey, name=CONFIRM)
    assert confirm.step.transactional and confirm.step.subject == SUBJECTS[CONFIRM]

    # The dry run for the hot and the cold sample lead: two paths, nothing written.
    page.get_by_role("link", name="Dry run", exact=True).click()
    page.get_by_label("A sample of the most recent leads").check()
    page.get_by_label("Sample size").fill("2")
    page.get_by_role("button", name="Dry-run").click()
    paths = page.locator("#dry-run-paths tbody tr")
    expect(paths).to_have_count(2)
    expect(paths.filter(has_text="For hot leads")).to_contain_text(
        f"{CONFIRM} → Hot? → For hot leads → Completed"
    )
    expect(paths.filter(has_text="Subject test")).to_contain_text(
        re.compile(
            f"{CONFIRM} → Hot\\? → Subject test → Variant ([AB]) → Clicked \\1\\? → "
            "Timed out \\1 → Completed"
        )
    )
    rows = page.locator("#dry-run-leads tbody tr")
    hot_row = rows.filter(has_text="hot.sample@example.com")
    cold_row = rows.filter(has_text="cold.sample@example.com")
    expect(hot_row.locator("td").first).to_contain_text("For hot leads")
    expect(hot_row.locator("td").first).not_to_contain_text("Subject test")
    expect(cold_row.locator("td").first).to_contain_text("Subject test")
    expect(cold_row.locator("td").first).not_to_contain_text("For hot leads")
    expect(cold_row.locator("td").first).to_contain_text("(split: variant")
    # A wait-until takes its timed-out path in a dry run: what the lead does is not known.
    expect(cold_row.locator("td").first).to_contain_text("Timed out")
    expect(cold_row.locator("td").first).to_contain_text("(assumed: no “clicked “Variant")
    expect(hot_row.locator("td").nth(1)).to_contain_text("For hot leads:")
    page.screenshot(path=str(SCREENSHOTS / "h7-dry-run.png"), full_page=True)
    assert not Enrollment.objects.filter(sequence=journey).exists()

    # Publish.
    page.get_by_role("link", name="Map", exact=True).click()
    page.get_by_role("button", name="Publish", exact=True).click()
    expect(page.locator(".journey-status")).to_contain_text("Status: published (active)")
    expect(page.locator(".messagelist")).to_contain_text("is published")

    # Two prospects submit the page in their own browsers: a director (hot), a student.
    prospects = {
        "dana.director@example.com": ("Dana", "Director of Marketing"),
        "sam.student@example.com": ("Sam", "Student"),
    }
    for address, (first_name, job_title) in prospects.items():
        context = browser.new_context(user_agent=USER_AGENT, timezone_id="UTC")
        visitor = watch(context.new_page())
        visitor.goto(f"{live_server.url}/l/{landing.slug}/")
        visitor.get_by_label("Work email").fill(address)
        visitor.get_by_label("First name").fill(first_name)
        visitor.locator("#id_company").fill("Example Ltd")
        visitor.get_by_label("Job title").fill(job_title)
        visitor.get_by_label("Just researching").check()
        visitor.get_by_label("I agree to receive emails").check()
        visitor.get_by_role("button", name="Send").click()
        expect(visitor.get_by_role("heading", name="Thank you")).to_be_visible()
        context.close()
        assert visitor.console_errors == [], visitor.console_errors  # type: ignore[attr-defined]
    hot, cold = (Lead.objects.get(email=address) for address in prospects)
    assert (hot.temperature, cold.temperature) == ("hot", "cold")

    def arrived() -> bool:
        return len(_subjects(sink, hot.email)) >= 2 and len(_subjects(sink, cold.email)) >= 2

    _tick_until(arrived, worker=worker)
    wait_until(lambda: False, timeout=2)  # room for a duplicate to show up
    assert _subjects(sink, hot.email) == ["Your webinar seat, Dana", SUBJECTS["For hot leads"]]
    variant = Delivery.objects.get(
        enrollment__lead=cold, node__name__in=["Variant A", "Variant B"]
    ).node.name
    assert _subjects(sink, cold.email) == ["Your webinar seat, Sam", SUBJECTS[variant]]
    assert set(Delivery.objects.values_list("status", flat=True)) == {"sent"}
    other = "Variant B" if variant == "Variant A" else "Variant A"
    wait = f"Clicked {variant[-1]}?"
    cold_enrollment = Enrollment.objects.get(lead=cold, sequence=journey)
    assert cold_enrollment.current_node.name == wait

    # The map, reloaded: who went where.
    page.reload()
    expect(_node(page, CONFIRM)).to_contain_text("entered 2 · waiting now 0")
    expect(_node(page, CONFIRM)).to_contain_text("sent 2 ·")
    expect(_node(page, "Hot?")).to_contain_text("entered 2")
    expect(_node(page, "For hot leads")).to_contain_text("entered 1 · waiting now 0")
    expect(_node(page, "For hot leads")).to_contain_text("sent 1 ·")
    split = _node(page, "Subject test")
    expect(split).to_contain_text("entered 1 · waiting now 0")
    figures = split.locator("text.jm-variant-figure").all_text_contents()
    assert sum(int(text.split(" sent")[0]) for text in figures) == 1, figures
    expect(_node(page, variant)).to_contain_text("sent 1 ·")
    expect(_node(page, other)).to_contain_text("entered 0 · waiting now 0")
    expect(_node(page, wait)).to_contain_text("entered 1 · waiting now 1")
    # The list below the map says the same in words.
    hot_item = _item(page, "For hot leads")
    expect(hot_item.locator(".journey-figures")).to_contain_text("entered 1 · waiting now 0")
    page.set_viewport_size({"width": 1600, "height": 2000})
    page.screenshot(path=str(SCREENSHOTS / "h7-journey-map-counts.png"), full_page=True)
