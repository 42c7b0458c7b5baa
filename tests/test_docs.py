"""The repository stands on its own: every ``docs/...`` reference in the package
points at a page (and section) that exists, and nothing in the package cites a
file outside the repository."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "naswot_tui"
DOCS = ROOT / "docs"

# `docs/formats.md`, optionally followed by a section (§1.7) or a range (§1.8-1.9).
CITATION = re.compile(r"docs/([\w./-]+\.md)(?:\s*§(\d+(?:\.\d+)*)(?:-(\d+(?:\.\d+)*))?)?")
HEADING = re.compile(r"^#{2,6}\s+(\d+(?:\.\d+)*)\.?\s", re.MULTILINE)

# Files users do not have: the project's working notes, and anything beside the checkout.
FORBIDDEN = {
    "../shared": re.compile(r"\.\./shared"),
    "BENCHMARK-FORMATS": re.compile(r"BENCHMARK-FORMATS"),
    "SPEC.md": re.compile(r"SPEC\.md"),
    "DESIGN.md": re.compile(r"DESIGN\.md"),
    "a bare SPEC section": re.compile(r"\bSPEC\b"),
}


def _package_text_files() -> list[Path]:
    return sorted(p for p in PACKAGE.rglob("*") if p.is_file() and p.suffix in {".py", ".md", ".tcss", ".toml"})


def _sections(page: Path) -> set[str]:
    return set(HEADING.findall(page.read_text(encoding="utf-8")))


def citations(text: str) -> list[tuple[str, str | None, str | None]]:
    """(page, first section, last section of a range) for each ``docs/`` citation in ``text``."""
    return [(m.group(1), m.group(2), m.group(3)) for m in CITATION.finditer(text)]


def broken_citations(files: list[Path], docs: Path) -> list[str]:
    problems = []
    for path in files:
        for page, first, last in citations(path.read_text(encoding="utf-8")):
            target = docs / page
            if not target.is_file():
                problems.append(f"{path}: docs/{page} does not exist")
                continue
            known = _sections(target)
            for section in (first, last):
                if section is not None and section not in known:
                    problems.append(f"{path}: docs/{page} has no section {section}")
    return problems


def test_the_docs_index_lists_every_page():
    """docs/README.md links each page of docs/, so a maintainer finds them from one place."""
    index = (DOCS / "README.md").read_text(encoding="utf-8")
    pages = sorted(p.name for p in DOCS.glob("*.md") if p.name != "README.md")
    assert pages == ["formats.md", "method.md", "traces.md"]
    for page in pages:
        assert f"]({page})" in index, page


def test_every_docs_citation_in_the_package_exists():
    """Each `docs/<page>.md §<section>` in naswot_tui/ names an existing page and heading."""
    files = _package_text_files()
    cited = [c for p in files for c in citations(p.read_text(encoding="utf-8"))]
    assert len(cited) >= 15, "the package cites the docs (a failing regex would find nothing)"
    assert broken_citations(files, DOCS) == []


def test_every_docs_citation_in_the_tests_exists():
    """Tests cite the docs too; their citations must resolve as well."""
    files = sorted(p for p in (ROOT / "tests").rglob("*.py") if p.name != "test_docs.py")
    assert broken_citations(files, DOCS) == []


def test_the_citation_check_catches_a_missing_page_and_section(tmp_path):
    """The checker itself fails on a wrong page and on a wrong section (it is not vacuous)."""
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "a.md").write_text("# A\n\n## 1. One\n\n### 1.2 Two\n", encoding="utf-8")
    src = tmp_path / "m.py"
    src.write_text('"""See docs/a.md §1.2, docs/a.md §1-1.2, docs/a.md §3 and docs/b.md."""\n', encoding="utf-8")
    assert broken_citations([src], docs) == [f"{src}: docs/a.md has no section 3", f"{src}: docs/b.md does not exist"]


@pytest.mark.parametrize("name", sorted(FORBIDDEN))
def test_the_package_cites_no_file_outside_the_repository(name):
    """No file in naswot_tui/ refers to ../shared or to the project's working notes."""
    pattern = FORBIDDEN[name]
    hits = [f"{p.relative_to(ROOT)}:{n}" for p in _package_text_files()
            for n, line in enumerate(p.read_text(encoding="utf-8").splitlines(), start=1) if pattern.search(line)]
    assert hits == [], f"{name} cited in: {hits}; cite docs/ instead (docs/README.md lists the pages)"
