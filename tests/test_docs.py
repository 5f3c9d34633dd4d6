"""The README and docs/ link only to files that exist (the README was split into docs/)."""

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
LINK = re.compile(r"\]\(([^)\s]+)\)")


@pytest.mark.parametrize("page", PAGES, ids=lambda page: page.name)
def test_every_relative_link_points_at_a_file(page: Path) -> None:
    text = re.sub(r"`[^`\n]*`", "", page.read_text(encoding="utf-8"))  # code is not a link
    missing = [
        target
        for target in LINK.findall(text)
        if not re.match(r"^(https?:|mailto:|#|/)", target)
        and not (page.parent / target.split("#")[0]).exists()
    ]
    assert not missing


def test_the_readme_stays_a_newcomers_page() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert len(readme) < 25_000, "move detail into docs/ and link it"
    assert readme.index("make run") < readme.index("## What it does")
