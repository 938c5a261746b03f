"""``mldock report --compare``: two runs side by side, on the ingested package."""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd
import pytest

from pipeline.cli import main
from pipeline.config import Paths
from pipeline.report.compare import side_by_side

from .conftest import make_project


def test_side_by_side_joins_on_keys_and_keeps_keys_of_one_run() -> None:
    a = pd.DataFrame({"category": ["x", "y"], "repos": [3, 4], "label": ["p", "q"]})
    b = pd.DataFrame({"category": ["x", "z"], "repos": [5, 1], "label": ["p", "q"]})
    out = side_by_side(a, b, ("category",))
    assert out.columns.tolist() == ["category", "repos_this", "repos_other", "repos_diff"]
    assert out.fillna(-1).values.tolist() == [["x", 3, 5, 2], ["y", 4, -1, -1], ["z", -1, 1, -1]]


@pytest.mark.slow
def test_compare_a_run_with_a_changed_copy(classified: Paths, tmp_path: Path) -> None:
    other = make_project(tmp_path / "other")
    shutil.copytree(classified.data, other.data, symlinks=True)
    repos = pd.read_csv(other.interim / "repos.csv", keep_default_na=False)
    repos["stars"] = repos["stars"] * 2  # "GitHub today": every repository has twice the stars
    repos.to_csv(other.interim / "repos.csv", index=False)
    this = make_project(tmp_path / "this")
    shutil.copytree(classified.data, this.data, symlinks=True)
    assert main(["-q", "--root", str(this.root), "report", "--compare", str(other.root)]) == 0
    t1 = pd.read_csv(this.reports / "compare" / "table1.csv").set_index("category")
    assert (t1["stars_other"] == 2 * t1["stars_this"]).all() and (t1["repos_diff"] == 0).all()
    assert t1.loc["Total", "repos_this"] == 406
    f3 = pd.read_csv(this.reports / "compare" / "figure3a_instructions.csv")
    assert len(f3) > 0 and (f3["median_diff"] == 0).all()
    assert (this.reports / "compare" / "compare.md").read_text().startswith(f"# {this.root} vs {other.root}")


@pytest.mark.slow
def test_compare_skips_an_artefact_whose_table_the_other_root_lacks(
        classified: Paths, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    other = make_project(tmp_path / "other")
    shutil.copytree(classified.data, other.data, symlinks=True)
    for f in other.processed.glob("instruction_shares*"):
        f.unlink()
    this = make_project(tmp_path / "this")
    shutil.copytree(classified.data, this.data, symlinks=True)
    with caplog.at_level("WARNING", logger="pipeline.report.compare"):
        assert main(["-q", "--root", str(this.root), "report", "--compare", str(other.root)]) == 0
    skipped = [r.getMessage() for r in caplog.records]
    assert len(skipped) == 1 and skipped[0].startswith(
        "compare: figure3a_instructions skipped: input table instruction_shares missing")
    assert not (this.reports / "compare" / "figure3a_instructions.csv").exists()
    assert (this.reports / "compare" / "table1.csv").exists()
    assert (this.reports / "compare" / "figure4b_base_image_types.csv").exists()
