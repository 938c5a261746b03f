"""The README and docs/ quote no measured figure that reports/ does not contain.

A measured figure (a score, a count from the data, a time) typed by hand goes stale the day
the data or the code changes; the numbers belong in the generated files under ``reports/``
and the docs link to them. So every number in the prose of ``README.md`` and ``docs/*.md``
must be one of:

* not a quantity: a version (``Python >= 3.11``, ``2.x``), a year, a section (``§2.4``), an
  identifier (``Figure 3a``, ``Table 2``, ``RQ4``, ``Step 1``, ``amd64``);
* a number of the paper or the package, as recorded in ``paper_targets.json`` (facts);
* a fact of the method, listed in :data:`DEFINITIONS` (taxonomy sizes, limits and defaults
  of the code, limits of GitHub), each with the words that make it one;
* or a number that a generated file under ``reports/`` contains (``reproduction.md``,
  ``classification.md``, ``tables/*.md``, the CSVs), as written there.

Code (fenced blocks and inline spans) and link targets are not prose. The check runs
against the checkout's ``reports/``: ``make test`` builds them first (``make reproduce evaluate``); without
``reports/`` the test fails and says so.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from tests.conftest import REPO_ROOT

DOCS = [REPO_ROOT / "README.md", *sorted((REPO_ROOT / "docs").glob("*.md"))]
REPORTS = REPO_ROOT / "reports"
TARGETS = REPO_ROOT.parent / "shared" / "docs" / "paper_targets.json"

#: phrases whose numbers are facts of the method, not measurements
DEFINITIONS = [
    r"\b6 (?:project )?categories", r"\b21(?:-category)? (?:major )?(?:Docker )?purposes",
    r"\b21-category taxonomy", r"\b12 subcategories", r"\b13 types", r"\b18 Dockerfile keywords",
    r"\b12 plotted instructions", r"\b5 RUN-command categories", r"top 1[02]\b",
    r"1,000(?:-result cap| hits)", r"\b60 requests/hour", r"per 25 repositories", r"\b256-dimensional", r"2\.5–97\.5 %",
    r"\b\d+ MiB per (?:value|file)", r">\s?2 MiB", r">\s?20%", r">\s?64 levels", r"\b100 multi-output",
    r"inner 3-fold", r"\b5-fold", r"× 3 repeats", r"\b3 repeats", r"C=1\b", r"seed [01]\b",
    r"39 headers for 38 values", r"\+1 per image", r"\(\+1\)", r"no \+1", r"per_page=1",
    r"`last` page", r"over 50% of training", r">50% of training", r"\b3 per candidate \+ 1 per",
    r"\b1 request", r"one-line", r"(?:accuracy|macro-F1|micro-F1) ≥ 0\.[78]0", r"target [≥<]=? ?[\d.]+",
    r"≤ 150 lines", r"\b403/429\b", r"\b429/5xx", r"(?:>=|≥) ?3\.1\d\b",  # HTTP statuses, Python
]
IDENTIFIER = re.compile(
    r"(?:Figures?|Fig\.|Tables?|RQ|Steps?|§|Sec\.|EASE|[Pp]ython\s*(?:>=|≥)?|version|v)\s*"
    r"\d+(?:\.\d+)*[a-z]?(?:\s*(?:[-/,]|and)\s*\d+(?:\.\d+)*[a-z]?)*")
NUMBER = re.compile(r"(?<![\w.])(\d{1,3}(?:,\d{3})+|\d+)(\.\d+)?(?![\w])(%?)")


def prose(text: str) -> list[tuple[int, str]]:
    """(line number, line) of the prose: no fenced blocks, inline code, link targets or URLs."""
    out, fenced = [], False
    for i, line in enumerate(text.splitlines(), 1):
        if line.lstrip().startswith("```"):
            fenced = not fenced
            continue
        if fenced:
            continue
        line = re.sub(r"`[^`]*`", " ", line)
        line = re.sub(r"\]\([^)]*\)", "]", line)
        line = re.sub(r"https?://\S+", " ", line)
        out.append((i, line))
    return out


def quoted_numbers(text: str) -> list[tuple[int, str, str]]:
    """(line, number as written without thousands commas, the line) for every quantity."""
    found = []
    for i, line in prose(text):
        for pattern in DEFINITIONS:
            line = re.sub(pattern, " ", line)
        line = IDENTIFIER.sub(" ", line)
        line = re.sub(r"\b(?:19|20)\d\d\b", " ", line)  # years
        line = re.sub(r"\b\d+(?:\.\d+){2,}\b|\b\d+\.x\b", " ", line)  # versions
        for m in NUMBER.finditer(line):
            found.append((i, m.group(1).replace(",", "") + (m.group(2) or "") + m.group(3), line))
    return found


def numbers_in(text: str) -> set[str]:
    """Every number in ``text`` as written (commas dropped), with and without a % sign."""
    out = set()
    for m in NUMBER.finditer(text):
        n = m.group(1).replace(",", "") + (m.group(2) or "")
        out.update({n, n + m.group(3)})
    return out


def paper_numbers() -> set[str]:
    assert TARGETS.exists(), f"{TARGETS} missing (the paper's numbers)"
    return numbers_in(json.dumps(json.loads(TARGETS.read_text(encoding="utf-8")), ensure_ascii=False))


def report_numbers(reports: Path) -> set[str]:
    files = [f for pattern in ("*.md", "*.csv", "tables/*.md", "tables/*.csv")
             for f in sorted(reports.glob(pattern)) if f.name not in ("README.md", "timings.csv")]
    if not (reports / "reproduction.md").exists():
        pytest.fail(f"{reports / 'reproduction.md'} missing: run `make reproduce evaluate` first "
                    "(the docs' figures are checked against the generated reports/)")
    return set().union(*(numbers_in(f.read_text(encoding="utf-8")) for f in files))


def unbacked(docs: list[Path], known: set[str]) -> list[str]:
    bad = []
    for doc in docs:
        for line, number, context in quoted_numbers(doc.read_text(encoding="utf-8")):
            if number not in known and number.rstrip("%") not in known:
                bad.append(f"{doc.relative_to(doc.parents[1]) if doc.parent.name == 'docs' else doc.name}"
                           f":{line}: {number}  in: {context.strip()[:110]}")
    return bad


def test_the_docs_quote_only_figures_that_reports_contain() -> None:
    bad = unbacked(DOCS, paper_numbers() | report_numbers(REPORTS))
    assert not bad, ("measured figures typed into the docs that no file under reports/ contains "
                     "(link the report instead, or generate the figure there):\n" + "\n".join(bad))


def test_a_typed_figure_is_caught(tmp_path: Path) -> None:
    reports = tmp_path / "reports"
    (reports / "tables").mkdir(parents=True)
    (reports / "reproduction.md").write_text("| accuracy | 0.641 ± 0.036 |\n| repos | 1,366 |\n")
    (reports / "tables" / "table2_paper.csv").write_text("category,env\nModel,8.5\n")
    docs = tmp_path / "docs"
    docs.mkdir()
    doc = docs / "classify.md"
    doc.write_text(
        "# Notes\n\nSee Figure 3a and Table 2 (RQ4, §2.4-2.6, Python >= 3.11, EASE 2022).\n"
        "The 21 purposes, `--repeats 3` and [a link](reports/x_17.md) are not figures.\n"
        "```\nmldock classify evaluate   # 0.999\n```\n"
        "Accuracy 0.641 on 1366 services, Env 8.5; paper: 406 repositories.\n"
        "Accuracy 0.642, evaluate takes 45 s, 12.5% of files, 2,483 files.\n")
    known = paper_numbers() | report_numbers(reports)
    assert unbacked([doc], known) == [
        "docs/classify.md:9: 0.642  in: Accuracy 0.642, evaluate takes 45 s, 12.5% of files, 2,483 files.",
        "docs/classify.md:9: 45  in: Accuracy 0.642, evaluate takes 45 s, 12.5% of files, 2,483 files.",
        "docs/classify.md:9: 12.5%  in: Accuracy 0.642, evaluate takes 45 s, 12.5% of files, 2,483 files.",
        "docs/classify.md:9: 2483  in: Accuracy 0.642, evaluate takes 45 s, 12.5% of files, 2,483 files.",
    ]


def test_without_reports_the_check_says_what_to_run(tmp_path: Path) -> None:
    with pytest.raises(pytest.fail.Exception, match="run `make reproduce evaluate` first"):
        report_numbers(tmp_path / "reports")
