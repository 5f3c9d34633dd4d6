"""The marketer on a journey's map in a real browser: the SVG drawn by dagre with live
figures and labelled arrows, a node's form opening beside the map (htmx), a node added on
an arrow after its preview, the SMS segment count as they type, keyboard focus on the
nodes, and axe finding nothing serious."""

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import time_machine
from playwright.sync_api import Page, expect

from leadfunnel.groups import MARKETERS
from nurture.models import Edge, Node
from nurture.services import advancing, editing, journeys, triggers
from nurture.services.dispatching import hand_out_due
from tests.e2e.conftest import check_a11y, drop_expected
from tests.factories import LandingPageFactory, LeadFactory, UserFactory
from tests.journeys.builders import playbook

pytestmark = pytest.mark.django_db(transaction=True)
# Under var/ with the suite's other screenshots: a test run must not rewrite docs/ (the
# README's copy, docs/screenshots/journey-map.png, was taken from this same view).
SCREENSHOT = Path(__file__).resolve().parents[2] / "var" / "screenshots" / "journey-map.png"
PASSWORD = "correct-horse-battery"
TEXT = (
    "Hi {{ first_name }}, your free consultation is one click away: "
    "reply YES and we call you today."
)


def _journey_with_leads() -> Any:
    page = LandingPageFactory()
    journey = playbook(page=page)
    now = datetime.now(UTC)
    with time_machine.travel(now, tick=False):
        for _ in range(3):
            lead = LeadFactory(time_zone="UTC")
            triggers.on_capture(lead_id=lead.pk, landing_page_id=page.pk)
        advancing.advance_all_due(now=now)
        hand_out_due(now=now)
        advancing.advance_all_due(now=now)
    # A subject test before Day 2, decided for the short subject.
    hot = Node.objects.get(sequence=journey, name="Hot?")
    day2 = Node.objects.get(sequence=journey, name="Three ways to grow")
    split = editing.insert_between(
        edge=Edge.objects.get(source=hot, port="else"), kind=Node.Kind.SPLIT, name="Subject test"
    )
    long = journeys.create_node(
        journey=journey,
        kind=Node.Kind.EMAIL,
        name="Three ways (long)",
        email={"subject": "Three ways to grow your pipeline this quarter", "body": "Hello"},
    )
    journeys.connect(source=split, target=long, port="v1")
    journeys.connect(source=long, target=Edge.objects.get(source=day2).target)
    Node.objects.filter(pk=split.pk).update(
        config={
            **split.config,
            "winner": "v0",
            "variants": [{"label": "Short", "weight": 50}, {"label": "Long", "weight": 50}],
        }
    )
    return journey


def _sign_in(page: Page, url: str) -> None:
    user = UserFactory(is_staff=True, group=MARKETERS, username="marta")
    page.goto(f"{url}/admin/login/")
    page.get_by_label("Username").fill(user.username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()


def test_marketer_reads_and_edits_the_journey_map(live_server: Any, page: Page) -> None:
    journey = _journey_with_leads()
    _sign_in(page, live_server.url)
    page.goto(f"{live_server.url}/admin/nurture/journey/{journey.pk}/map/")

    # The SVG: one focusable box per node, labelled with its kind, name and figures.
    nodes = page.locator("svg.jm-svg g.jm-node")
    expect(nodes).to_have_count(Node.objects.filter(sequence=journey).count())
    confirm = page.locator('g.jm-node[data-name="Thanks, we got your request"]')
    expect(confirm).to_contain_text("entered 3 · waiting now 0")
    expect(confirm).to_contain_text("sent 3 · opened 0 (0%) · clicked 0 (0%)")
    wait = page.locator('g.jm-node[data-name="Wait"]')
    expect(wait).to_contain_text("entered 3 · waiting now 3")
    # The split's variants side by side, the winner marked.
    split = page.locator('g.jm-node[data-name="Subject test"]')
    expect(split.locator("rect.jm-variant")).to_have_count(2)
    expect(split.locator("rect.jm-winner")).to_have_count(1)
    expect(split.locator("text.jm-variant-title")).to_have_text(["★ Short 50%", "Long 50%"])
    labels = page.locator("svg.jm-svg text.jm-label")
    for label in ("yes", "timed out", "hot", "otherwise", "variant Short", "variant Long"):
        expect(labels.filter(has_text=label).first).to_be_visible()
    # The list below says the same in text, without JavaScript.
    expect(page.locator("#journey-node-list > li")).to_have_count(nodes.count())

    # Clicking a node opens its form beside the map.
    page.locator('g.jm-node[data-name="Three ways to grow"]').click()
    panel = page.locator("#node-panel")
    expect(panel.get_by_role("heading", name="Email: Three ways to grow")).to_be_visible()
    expect(panel.get_by_label("Subject")).to_have_value("Three ways to grow")
    canvas_box = page.locator("#journey-canvas").bounding_box()
    panel_box = panel.bounding_box()
    assert panel_box["x"] >= canvas_box["x"] + canvas_box["width"], "the form is beside the map"

    # A bad merge field is refused with its message; nothing is saved.
    panel.get_by_label("Subject").fill("Hi {{ firstname }}")
    panel.get_by_role("button", name="Save").click()
    expect(panel.get_by_role("alert").first).to_contain_text("Unknown merge field firstname.")
    drop_expected(page, "/node/")
    panel.get_by_label("Subject").fill("Hi {{ first_name }}, three ideas")
    panel.get_by_role("button", name="Save").click()
    expect(panel.get_by_role("status")).to_have_text("Saved “Three ways to grow”.")
    expect(page.locator('g.jm-node[data-name="Three ways to grow"]')).to_contain_text(
        "“Hi {{ first_name }}, three ideas”"
    )

    # A node added on the arrow from the wait to the branch, after its preview.
    page.locator('g.jm-plus[aria-label="Add a node between Wait and Hot?"]').click()
    expect(panel.get_by_role("heading")).to_have_text("Add a node between “Wait” and “Hot?”")
    expect(panel.locator(".journey-preview")).to_have_text(
        "3 leads waiting at “Wait” will go through the new node next."
    )
    panel.get_by_label("Kind of node").select_option("sms")
    panel.get_by_label("Name").fill("Text them")
    panel.get_by_role("button", name="Add the node").click()
    expect(page.locator('g.jm-node[data-name="Text them"]')).to_be_visible()
    sms = Node.objects.get(sequence=journey, name="Text them")
    assert Edge.objects.get(source=sms, port="next").target.name == "Hot?"
    expect(panel.get_by_role("heading", name="SMS: Text them")).to_be_visible()
    # The segment count follows the text as it is typed.
    panel.get_by_label("Body").fill("x" * 161)
    expect(panel.locator("#sms-segments")).to_have_text(
        "161 characters (GSM-7): 2 segments of up to 153."
    )
    # A real text for the README's picture: one segment. The merge field's four braces are
    # GSM escapes, two septets each: 95 characters cost 99.
    panel.get_by_label("Body").fill(TEXT)
    assert len(TEXT) == 95
    expect(panel.locator("#sms-segments")).to_have_text(
        "99 characters (GSM-7): 1 segment of up to 160."
    )
    panel.get_by_role("button", name="Save").click()
    expect(panel.get_by_role("status")).to_have_text("Saved “Text them”.")
    expect(page.locator('g.jm-node[data-name="Text them"]')).to_contain_text("“Hi {{ first_name")
    page.set_viewport_size({"width": 1600, "height": 2300})
    page.evaluate("window.scrollTo(0, 0)")
    SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOT))

    # Keyboard: Tab from the map's heading reaches a node; Enter opens its form.
    page.locator("#journey-map-heading").click()
    for _ in range(40):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.classList.contains('jm-node')"):
            break
    else:
        pytest.fail("Tab never reached a node of the map")
    kind, name = page.evaluate(
        "[document.activeElement.dataset.kind, document.activeElement.dataset.name]"
    )
    page.keyboard.press("Enter")
    expect(panel.get_by_role("heading", name=f"{kind}: {name}")).to_be_visible()
    expect(page.locator("#panel-heading")).to_be_focused()

    check_a11y(page, "journey map")
    # The split's form states its test in words, and is as clean.
    page.locator('g.jm-node[data-name="Subject test"]').click()
    expect(panel.locator(".journey-significance")).to_contain_text(
        "Two-proportion z-test on click rates of the two best variants; the winner is picked "
        "when p < 0.05"
    )
    expect(panel.locator(".journey-winner")).to_contain_text("Short (winner)")
    check_a11y(page, "split form")
    # A branch's condition shows only the inputs its field uses.
    page.locator('g.jm-node[data-name="Hot?"]').click()
    condition = panel.locator(".journey-condition").first
    expect(condition.get_by_label("Value")).to_have_value("hot")
    expect(condition.get_by_label("Page")).to_be_hidden()
    condition.get_by_label("Field").select_option("visited")
    expect(condition.get_by_label("Page")).to_be_visible()
    expect(condition.get_by_label("Value")).to_be_hidden()
    check_a11y(page, "branch form")
