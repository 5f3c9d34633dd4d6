"""The journey map's drawing and editing in a real browser, as the marketer's walkthrough
found them: arrows left to right in the order of their conditions and variants, Tab along
the flow, long variant labels clipped inside their boxes, the remove confirmation inside the
panel (and its Cancel), segment triggers and conditions, and a long journey name that wraps."""

import json
import re
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Locator, Page, expect

from leadfunnel.groups import MARKETERS
from nurture.models import Journey, Node, Sequence, Trigger
from nurture.services import journeys
from segments.models import Segment
from tests.factories import UserFactory
from tests.journeys.builders import email, node

pytestmark = pytest.mark.django_db(transaction=True)
SCREENSHOTS = Path(__file__).resolve().parents[2] / "var" / "screenshots"
PASSWORD = "correct-horse-battery"
LONG_A = "Alpha: the long subject line"
LONG_B = "Beta: the other long subject"


def _journey(name: str = "Map order") -> Sequence:
    """welcome → hot? (hot: clicked? yes/timed out; otherwise: a split of two long labels)."""
    return journeys.build(
        name=name,
        nodes={
            "welcome": email("Welcome"),
            "hot": node(
                Node.Kind.BRANCH,
                "Hot?",
                conditions=[
                    {"when": {"field": "temperature", "op": "is", "value": "hot"}, "label": "hot"}
                ],
            ),
            "clicked": node(
                Node.Kind.WAIT_UNTIL,
                "Clicked?",
                event={"field": "clicked"},
                timeout={"amount": 3, "unit": "days"},
            ),
            "story": email("A client story"),
            "reminder": email("In case you missed it"),
            "split": node(
                Node.Kind.SPLIT,
                "Subject test",
                variants=[{"label": LONG_A, "weight": 50}, {"label": LONG_B, "weight": 50}],
            ),
            "one": email("Variant one"),
            "two": email("Variant two"),
        },
        edges=[
            ("welcome", "next", "hot"),
            ("hot", "c0", "clicked"),
            ("hot", "else", "split"),
            ("clicked", "yes", "story"),
            ("clicked", "timeout", "reminder"),
            ("split", "v0", "one"),
            ("split", "v1", "two"),
        ],
        start="welcome",
        triggers=[],
    )


def _open_map(page: Page, url: str, journey: Sequence) -> Locator:
    user = UserFactory(is_staff=True, group=MARKETERS, username="marta")
    page.goto(f"{url}/admin/login/")
    page.get_by_label("Username").fill(user.username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.goto(f"{url}/admin/nurture/journey/{journey.pk}/map/")
    expect(page.locator("svg.jm-svg g.jm-node")).to_have_count(8)
    return page.locator("#node-panel")


def _x(locator: Locator) -> float:
    box = locator.bounding_box()
    assert box is not None
    return box["x"] + box["width"] / 2


def _label(page: Page, text: str) -> Locator:
    return page.locator("svg.jm-svg text.jm-label").filter(has_text=re.compile(f"^{text}"))


def test_arrows_go_left_to_right_in_order_and_tab_follows_the_flow(
    live_server: Any, page: Page
) -> None:
    journey = _journey()
    _open_map(page, live_server.url, journey)

    # Conditions and variants left to right as listed; "otherwise" and "timed out" last.
    assert _x(_label(page, "hot")) < _x(_label(page, "otherwise"))
    assert _x(_label(page, "yes")) < _x(_label(page, "timed out"))
    assert _x(_label(page, "variant Alpha")) < _x(_label(page, "variant Beta"))
    split = page.locator('g.jm-node[data-name="Subject test"]')
    cells = split.locator("rect.jm-variant")
    assert _x(cells.nth(0)) < _x(cells.nth(1))
    one, two = (page.locator(f'g.jm-node[data-name="Variant {n}"]') for n in ("one", "two"))
    assert _x(one) < _x(two), "variant A's email is under its box, B's to its right"

    # Long variant labels stay inside their boxes; the tooltip has them whole.
    titles = split.locator("text.jm-variant-title")
    for index, label in enumerate((LONG_A, LONG_B)):
        text, cell = titles.nth(index).bounding_box(), cells.nth(index).bounding_box()
        assert text and cell
        assert cell["x"] <= text["x"] and text["x"] + text["width"] <= cell["x"] + cell["width"]
        assert titles.nth(index).text_content().endswith("…")
        assert split.locator("g.jm-variant-cell > title").nth(index).text_content() == (
            f"Variant {label} 50%: 0 sent · —"
        )

    # Tab from the heading: each node, then the "+" of each of its arrows, in flow order.
    data = json.loads(page.locator("#journey-data").text_content() or "")
    expected = []
    for row in data["nodes"]:
        expected.append(row["name"])
        for arrow in row["arrows"]:
            after = f" ({arrow['label']})" if arrow["label"] else ""
            if arrow["target"]:
                target = next(n["name"] for n in data["nodes"] if n["id"] == arrow["target"])
                expected.append(f"+ between {row['name']} and {target}{after}")
            else:
                expected.append(f"+ after {row['name']}{after}")
    assert expected[:3] == ["Welcome", "+ between Welcome and Hot?", "Hot?"]
    # From the map's heading (focused as a starting point), not from wherever a click lands.
    page.locator("#journey-map-heading").evaluate("h => { h.tabIndex = -1; h.focus(); }")
    focused = []
    for _ in expected:
        page.keyboard.press("Tab")
        focused.append(
            page.evaluate(
                """() => { const e = document.activeElement;
                  return e.dataset.name || (e.getAttribute('aria-label') || '')
                    .replace(/^Add a node /, '+ '); }"""
            )
        )
    assert focused == expected
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "journey-map-order.png"), full_page=True)


def test_remove_asks_inside_the_panel_and_cancel_brings_the_form_back(
    live_server: Any, page: Page
) -> None:
    journey = _journey()
    clicked = Node.objects.get(sequence=journey, name="Clicked?")
    welcome = Node.objects.get(sequence=journey, name="Welcome")
    Node.objects.filter(pk=clicked.pk).update(
        config={**clicked.config, "event": {"field": "clicked", "node": welcome.pk}}
    )
    panel = _open_map(page, live_server.url, journey)

    page.locator('g.jm-node[data-name="A client story"]').click()
    expect(panel.get_by_role("heading", name="Email: A client story")).to_be_visible()
    panel.get_by_role("link", name="Remove this node").click()
    expect(panel.get_by_role("heading")).to_have_text("Remove “A client story”?")
    expect(panel.locator(".journey-preview")).to_have_text(
        "No lead waits at “A client story”; removing it moves nobody."
    )
    # The panel is still the one aside beside the map, holding the confirmation.
    expect(page.locator("aside#node-panel")).to_have_count(1)
    expect(page.locator(".journey-editor > aside#node-panel")).to_have_count(1)
    expect(page.locator("#journey-canvas svg.jm-svg")).to_be_visible()
    panel.get_by_role("link", name="Cancel").click()
    expect(panel.get_by_role("heading", name="Email: A client story")).to_be_visible()
    expect(panel.get_by_label("Subject")).to_have_value("A client story")

    # An email a wait-until names: the confirmation says why it stays, and offers no remove.
    page.locator('g.jm-node[data-name="Welcome"]').click()
    expect(panel.get_by_role("heading", name="Email: Welcome")).to_be_visible()
    panel.get_by_role("link", name="Remove this node").click()
    expect(panel.get_by_role("alert")).to_have_text(
        "“Welcome” is used by “Clicked?”: change that first."
    )
    expect(panel.get_by_role("button", name="Remove the node")).to_have_count(0)
    panel.get_by_role("link", name="Cancel").click()
    expect(panel.get_by_role("heading", name="Email: Welcome")).to_be_visible()
    assert Node.objects.filter(pk=welcome.pk).exists()


def test_a_marketer_saves_a_segment_trigger_and_a_segment_condition(
    live_server: Any, page: Page
) -> None:
    segment = Segment.objects.create(
        name="Pricing fans",
        conditions={
            "match": "all",
            "conditions": [{"field": "temperature", "op": "is", "value": "hot"}],
        },
    )
    journey = _journey()
    panel = _open_map(page, live_server.url, journey)

    adding = page.locator("form.journey-trigger").filter(has_text="Add a trigger")
    adding.get_by_label("Kind").select_option(label="Joined a segment")
    expect(adding.get_by_label("Segment")).to_be_visible()
    expect(adding.get_by_label("Page")).to_be_hidden()
    adding.get_by_label("Segment").select_option(label="Pricing fans")
    adding.get_by_role("button", name="Add trigger").click()
    expect(panel.get_by_role("status")).to_contain_text("Added the trigger")
    trigger = Trigger.objects.get(sequence=journey)
    assert (trigger.kind, trigger.config) == (Trigger.Kind.SEGMENT, {"segment": segment.pk})

    page.locator('g.jm-node[data-name="Hot?"]').click()
    condition = panel.locator(".journey-condition").first
    condition.get_by_label("Field").select_option("segment")
    expect(condition.get_by_label("Segment")).to_be_visible()
    expect(condition.get_by_label("Value")).to_be_hidden()
    condition.get_by_label("Comparison").select_option("is_not")
    condition.get_by_label("Segment").select_option(label="Pricing fans")
    panel.get_by_role("button", name="Save").click()
    expect(panel.get_by_role("status")).to_have_text("Saved “Hot?”.")
    hot = Node.objects.get(sequence=journey, name="Hot?")
    (rule,) = hot.config["conditions"]
    assert rule["when"]["field"] == "segment" and rule["when"]["op"] == "is_not"
    assert str(rule["when"]["value"]) == str(segment.pk)


def test_a_long_journey_name_wraps_and_the_breadcrumbs_are_the_admins(
    live_server: Any, page: Page
) -> None:
    journey = _journey(name="L" * 200)
    _open_map(page, live_server.url, journey)
    overflow = "document.documentElement.scrollWidth - window.innerWidth"

    assert page.evaluate(overflow) <= 0, "the map page is no wider than the window"
    crumbs = page.locator("ol.breadcrumbs")
    expect(crumbs).to_have_css("background-color", "rgb(38, 75, 93)")
    expect(crumbs.locator("li")).to_have_text(["Home", "Nurture", "Journeys", "L" * 200, "Map"])
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "journey-map-long-name.png"), full_page=True)
    for suffix in ("dry-run/", "report/"):
        page.goto(f"{live_server.url}/admin/nurture/journey/{journey.pk}/{suffix}")
        expect(page.locator("ol.breadcrumbs")).to_have_css("background-color", "rgb(38, 75, 93)")
        assert page.evaluate(overflow) <= 0, suffix

    page.goto(f"{live_server.url}/admin/nurture/journey/")
    expect(page.locator("#result_list .field-name a")).to_have_text("L" * 200)
    assert page.evaluate(overflow) <= 0, "the journey list's columns stay on screen"
    assert Journey.objects.count() == 1
