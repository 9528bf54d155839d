"""The words stay true: links in the README and docs/ resolve, docs/architecture.md names
files that exist, and nothing in the project cites a design file outside it."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from rundowns import ROOT

DOCS = sorted((ROOT / "docs").glob("*.md"))
PAGES = [ROOT / "README.md", *DOCS]
ARCHITECTURE = ROOT / "docs" / "architecture.md"
# names being reshaped are marked with this sign until the lead settles them at merge
UNSETTLED = "\u2020"
LINK = re.compile(r"\]\(([^)\s]+)\)")
CITED_PATH = re.compile(r"`((?:control|tests|bench|scripts|config|rundown|overlays|docs)/[\w./-]*)`")
TEXT_SUFFIXES = {".py", ".md", ".js", ".html", ".css", ".json", ".yaml", ".yml", ".toml", ".txt"}


def anchors(markdown: str) -> set[str]:
    """The anchors GitHub makes for a page's headings."""
    found = set()
    for heading in re.findall(r"^#{1,6}\s+(.+?)\s*$", markdown, flags=re.M):
        found.add(re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-"))
    return found


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_relative_links_reach_a_file_and_its_heading(page: Path):
    text = page.read_text("utf-8")
    broken = []
    for target in LINK.findall(text):
        if re.match(r"^[a-z]+:", target):  # http:, https:, mailto:
            continue
        path, _, anchor = target.partition("#")
        file = (page.parent / path).resolve() if path else page
        if not file.exists() or (anchor and file.suffix == ".md"
                                 and anchor not in anchors(file.read_text("utf-8"))):
            broken.append(target)
    assert broken == [], f"{page.name}: links that lead nowhere: {broken}"


def test_the_architecture_page_names_files_that_exist():
    missing, marked_item = [], False
    for line in ARCHITECTURE.read_text("utf-8").splitlines():
        # a marked line, or the rest of a list item marked at its start ("- †"), names what
        # is not settled yet
        item = line.lstrip()
        marked_item = item.startswith(f"- {UNSETTLED}") or (
            marked_item and line.startswith("  ") and not item.startswith("- "))
        if marked_item or UNSETTLED in line:
            continue
        missing += [p for p in CITED_PATH.findall(line)
                    if "NAME" not in p and not (ROOT / p).exists()]  # NAME: a placeholder
    assert missing == [], f"docs/architecture.md names files that are not there: {missing}"


def test_no_project_file_cites_a_design_file_outside_the_repository():
    design, shared = "DESIGN" + ".md", "../" + "shared"
    cited = []
    for folder in ("control", "tests", "bench", "scripts", "docs", "overlays", "config"):
        for path in sorted((ROOT / folder).rglob("*")):
            if path.suffix in TEXT_SUFFIXES and path.is_file():
                text = path.read_text("utf-8", errors="replace")
                if design in text or shared in text:
                    cited.append(str(path.relative_to(ROOT)))
    for name in ("README.md", "Makefile", "pyproject.toml"):
        text = (ROOT / name).read_text("utf-8")
        if design in text or shared in text:
            cited.append(name)
    assert cited == [], f"cite docs/architecture.md instead: {cited}"
