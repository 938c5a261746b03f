"""Paper-mode Figures 4a/4b from the study's sheet, the data-defect status, the artefact table."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from pipeline import ingest_sheets
from pipeline import report as R
from pipeline import report_fig4 as F4
from pipeline.ingest import read_sheets

ROOT = Path(__file__).resolve().parents[1]
XLSX = "RQ1/ML_Docker_repositories.xlsx"
CATS = {"application": "App", "application/autopilot": "App", "mlops": "MLOps",
        "DL framwork": "DL", "tool": "Toolkit", "Machine Learning": "Toolkit",
        "AutoML": "Toolkit", "automl": "Toolkit", "model": "Model",
        "tutorials/ documentation": "Doc"}


@pytest.fixture(scope="module")
def sheets(shared_package: Path) -> dict[str, pd.DataFrame]:
    raw = read_sheets(shared_package / XLSX, list(ingest_sheets.SHEETS))
    return ingest_sheets.sheet_tables(raw, shared_package / XLSX)


def test_sheets_ingested(sheets: dict[str, pd.DataFrame]) -> None:
    bi, temp = sheets["package_base_images"], sheets["package_base_types"]
    assert len(bi) == 2827 and F4.n_repos(bi) == 399
    assert bi["base"].nunique() == 545
    assert len(temp) == 566 and temp["label_1"].isna().sum() == 108


def test_figure4a_keywords_from_taxonomy() -> None:
    kw = F4.load_fig4(ROOT / "taxonomy")["figure4a"]
    assert len(kw) == 16 and kw["{}/cuda"] == ["cuda", "nvidia", "cudnn", "gpu"]


def _independent_counts(bi: pd.DataFrame, words: list[str]) -> dict[str, int]:
    """Repositories per labelled category whose Baseimage contains a word, by hand."""
    out: dict[str, set[str]] = {}
    for repo, cat, full in zip(bi["repo"], bi["raw_category"], bi["baseimage"], strict=True):
        if isinstance(cat, str) and any(w in str(full).lower() for w in words):
            out.setdefault(CATS[cat], set()).add(repo)
    return {k: len(v) for k, v in out.items()}


def test_figure4a_bars_on_labelled_repositories(sheets: dict[str, pd.DataFrame]) -> None:
    """The 16 bars, per category, on the copy's labelled repositories of the sheet."""
    bi = sheets["package_base_images"]
    labelled = bi[bi["raw_category"].notna()]
    kw = F4.load_fig4(ROOT / "taxonomy")["figure4a"]
    hits = F4.keyword_hits(labelled, kw).merge(
        labelled[["repo", "raw_category"]].drop_duplicates(), on="repo")
    got = hits.assign(c=hits["raw_category"].map(CATS)).groupby(["key", "c"])["repo"].nunique()
    for key, words in kw.items():
        exp = _independent_counts(labelled, words)
        assert {c: int(n) for c, n in got[key].items()} == exp, key
    # pinned: the copy's labelled repositories (319 of 399) for two bars
    assert got["ubuntu"].to_dict() == {"App": 67, "DL": 32, "Doc": 5, "MLOps": 43,
                                       "Model": 3, "Toolkit": 28}
    assert got["{}/cuda"].to_dict() == {"App": 41, "DL": 28, "Doc": 4, "MLOps": 23,
                                        "Model": 7, "Toolkit": 18}


def test_figure4b_rule_search(sheets: dict[str, pd.DataFrame]) -> None:
    bi, temp = sheets["package_base_images"], sheets["package_base_types"]
    merge = F4.load_fig4(ROOT / "taxonomy")["figure4b_merge"]
    target = {"operating_system": 253, "language_runtime": 203, "platform_runtime": 157,
              "ml_platform": 118, "variable": 75, "web_computing": 29, "static_binary": 21,
              "data_processing": 17, "interactive_computing": 14, "database": 9,
              "compute_distributed": 7, "network_communication": 6, "monitoring": 1}
    ranked = F4.search_type_rules(bi, temp, merge, target)
    best, exact, residual = ranked[0]
    assert best == F4.TypeRule(3, "official", True)
    assert (exact, residual) == (4, 70)
    assert len(ranked) == 18 and ranked[-1][2] > residual


def test_data_defect_status_and_artefact_table() -> None:
    spec = {"rq1_category_counts": {"MLOps/ AIOps": {"value": 92}, "Model": {"value": 13}}}
    ours = R.Ours()
    ours.both("rq1_category_counts.MLOps/ AIOps.value", 93)
    ours.both("rq1_category_counts.Model.value", 13)
    rep = R.reproduction(spec, ours)
    assert rep["status_paper"].tolist() == [R.UNREPRODUCIBLE, "reproduced"]
    assert "study.md 2.5" in rep["reason"].iloc[0]
    art = R.artefact_counts(rep).set_index("artefact")
    assert art.loc["Table 1", "paper: unreproducible (data)"] == 1
    assert art.loc["Table 1", "corrected: reproduced"] == 1
    assert art.loc["Fig 4a", "targets"] == 0


def test_every_target_section_has_an_artefact() -> None:
    paper_spec = R.load_spec(R.Paths(ROOT))
    covered = [s for _, secs in R.ARTEFACTS for s in secs]
    assert len(covered) == len(set(covered))
    assert {k for k in paper_spec if not k.startswith("_")} == set(covered)
