"""pipeline.report.frames (the table computations on small frames, exact values),
pipeline.report.figures (the drawings) and pipeline.report.markdown (the tables)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from matplotlib.figure import Figure

from pipeline.report import figures as F
from pipeline.report import frames as T
from pipeline.report import markdown as M
from pipeline.tables import UNLABELLED, repo_categories, save_figure


def _repos() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "repo": ["a/1", "a/2", "a/3", "b/1", "b/2", "c/1"],
            "in_final_dataset": [True, True, True, True, True, False],
            "size_kb": [10, 20, 40, 100, 300, 7],
            "commits": [100, 200, 300, 400, 500, 9],
            "contributors": [1, 2, 3, 4, 5, 6],
            "forks": [5, 6, 7, 8, 9, 10],
            "stars": [11, 12, 13, 14, 15, 16],
            "releases": [1, 1, 2, 3, 5, 8],
            "total_dockerfiles": [1, 2, 6, 3, 4, 9],
            "category": ["", "", "", "", "", ""],
            "label_source": ["", "", "", "", "", ""],
        }
    )


def _cats() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "repo": ["a/1", "a/2", "a/3", "b/1", "b/2", "c/1"],
            "category": ["Model", "Model", "Model", "Toolkit", "Toolkit", "Toolkit"],
            "category_source": ["manual", "manual", "predicted", "manual", "predicted", "manual"],
        }
    )


def test_table1_counts_shares_and_medians_over_the_final_dataset() -> None:
    t = T.table1_frame(_repos(), _cats()).set_index("category")
    assert list(t.index) == ["Toolkit", "Model", "Total"]  # Table 1 order (CATEGORIES)
    assert t.loc["Model", "repos"] == 3 and t.loc["Toolkit", "repos"] == 3
    assert t.loc["Model", "share_pct"] == 50.0
    assert (t.loc["Model", "n_manual"], t.loc["Model", "n_predicted"]) == (2, 1)
    # medians use in_final_dataset rows only: c/1 (Toolkit, not final) is left out
    assert t.loc["Model", "size_kb"] == 20.0
    assert t.loc["Toolkit", "size_kb"] == 200.0
    assert t.loc["Toolkit", "commits"] == 450.0
    assert t.loc["Model", "dockerfiles"] == 2.0
    assert t.loc["Toolkit", "dockerfiles"] == 3.5
    assert t.loc["Total", "repos"] == 6
    assert t.loc["Total", "releases"] == 2.0


def test_table1_uses_given_dockerfile_counts_and_zero_for_missing_repos() -> None:
    t = T.table1_frame(_repos(), _cats(), dockerfiles={"a/1": 5, "a/2": 7}).set_index("category")
    assert t.loc["Model", "dockerfiles"] == 5.0  # a/3 has none -> 0; median of 5, 7, 0
    assert t.loc["Toolkit", "dockerfiles"] == 0.0


def test_repo_categories_prefers_projects_and_marks_unlabelled() -> None:
    repos = _repos().assign(category=["Model", "", "", "", "", ""],
                            label_source=["manual", "", "", "", "", ""])
    c = repo_categories(repos)
    assert c["category"].tolist()[:2] == ["Model", UNLABELLED]
    projects = _cats().assign(predicted_category="x")
    c2 = repo_categories(repos, projects)
    assert c2["category"].tolist() == _cats()["category"].tolist()
    assert T.label_mix(c2) == {"Model": "2 manual / 1 predicted",
                               "Toolkit": "2 manual / 1 predicted"}
    assert T.label_mix(c2, ["a/1", "b/2"]) == {"Model": "1 manual / 0 predicted",
                                              "Toolkit": "0 manual / 1 predicted"}


def test_median_shares_per_category_and_item() -> None:
    shares = pd.DataFrame({
        "repo": ["a/1", "a/2", "a/3", "a/1", "b/1"],
        "instruction": ["RUN", "RUN", "RUN", "FROM", "RUN"],
        "percentage": [10.0, 40.0, 20.0, 5.0, 50.0],
    })
    m = T.median_shares(shares, _cats(), "instruction").set_index(["category", "instruction"])
    assert m.loc[("Model", "RUN"), "median"] == 20.0
    assert m.loc[("Model", "RUN"), "q1"] == 15.0
    assert m.loc[("Model", "RUN"), "n_repos"] == 3
    assert m.loc[("Model", "FROM"), "median"] == 5.0
    assert m.loc[("Toolkit", "RUN"), "median"] == 50.0


def test_base_image_shares_counts_distinct_repos_over_repos_with_a_from() -> None:
    bi = pd.DataFrame({
        "repo": ["a/1", "a/1", "a/2", "b/1", "b/2", "c/1"],
        "key": ["ubuntu", "ubuntu", "python", "ubuntu", "", "alpine"],
    })
    s = T.base_image_shares(bi, _cats(), "key")
    got = {(r.category, r.key): (r.repos, round(r.pct, 4)) for r in s.itertuples()}
    # 5 distinct repos have a FROM row; a/1 counts once for ubuntu; empty keys are ignored
    assert got == {("Model", "ubuntu"): (1, 20.0), ("Model", "python"): (1, 20.0),
                   ("Toolkit", "ubuntu"): (1, 20.0), ("Toolkit", "alpine"): (1, 20.0)}
    top1 = T.base_image_shares(bi, _cats(), "key", top=1, n_repos=4)
    assert len(top1) == 2 and set(top1["pct"]) == {25.0}
    # ties keep the alphabetically first key of each category
    assert list(zip(top1["category"], top1["key"], strict=True)) == [
        ("Model", "python"), ("Toolkit", "alpine")]


def test_canonical_category_accepts_the_papers_spellings() -> None:
    assert T.canonical_category("DL Framwork") == "DL Framework"
    assert T.canonical_category("MLOps/ AIOps") == "MLOps/AIOps"
    assert T.canonical_category("Documentations") == "Documentation"
    assert T.display("MLOps/AIOps") == "MLOps/ AIOps"
    with pytest.raises(KeyError):
        T.canonical_category("Robots")


def test_to_markdown_formats_numbers_and_escapes_pipes() -> None:
    df = pd.DataFrame({"a": ["x|y", "z"], "n": [1234, 5], "f": [43713.5, np.nan]})
    assert M.to_markdown(df) == (
        "| a | n | f |\n|---|---|---|\n| x\\|y | 1,234 | 43,713.5 |\n| z | 5 |  |\n")


def test_save_table_and_figure_write_csv_md_png_pdf(tmp_path: Path) -> None:
    funnel = pd.DataFrame({"order": [1, 2], "step": ["s", "t"],
                           "description": ["searched", "kept"], "count": [3000, 400]})
    fig = F.fig_funnel(funnel, "Figure 1")
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.get_yticklabels()] == ["searched", "kept"]
    assert sorted(t.get_text() for t in ax.texts) == ["3,000", "400"]
    paths = save_figure(fig, "f1", tmp_path) + M.save_table(funnel, "f1", tmp_path)
    assert [p.name for p in paths] == ["f1.png", "f1.pdf", "f1.csv", "f1.md"]
    assert (tmp_path / "f1.png").read_bytes()[:4] == b"\x89PNG"
    assert (tmp_path / "f1.pdf").read_bytes()[:5] == b"%PDF-"
    assert pd.read_csv(tmp_path / "f1.csv")["count"].tolist() == [3000, 400]
    assert not list(tmp_path.glob(".*"))  # no temporary files left behind


def test_purpose_tree_draws_every_node_with_its_count() -> None:
    nodes = [{"id": "m", "name": "Model Management", "parent": None},
             {"id": "t", "name": "Model Training", "parent": "m"},
             {"id": "h", "name": "Hosting", "parent": None}]
    fig = F.fig_purpose_tree(nodes, {"m": 4, "t": 2}, "Figure 2")
    texts = {t.get_text() for t in fig.axes[0].texts}
    assert texts == {"Purpose", "Model Management (4)", "Model Training (2)", "Hosting"}
    assert fig.axes[0].get_title() == "Figure 2"


def test_category_boxplots_one_panel_per_category_with_paper_names() -> None:
    df = pd.DataFrame({
        "repo": ["a", "b", "c", "d"],
        "category": ["MLOps/AIOps", "MLOps/AIOps", "DL Framework", UNLABELLED],
        "instruction": ["RUN", "FROM", "RUN", "RUN"],
        "percentage": [50.0, 10.0, 30.0, 1.0],
    })
    fig = F.fig_category_boxplots(df, "instruction", "percentage", ["FROM", "RUN"], "t", "y")
    titles = [a.get_title() for a in fig.axes if a.get_title()]
    assert titles == ["MLOps/ AIOps (n=2)", "DL Framework (n=1)"]


def test_stacked_bars_total_labels() -> None:
    sh = pd.DataFrame({"category": ["Model", "Toolkit", "Model"], "key": ["ubuntu", "ubuntu", "x"],
                       "pct": [2.5, 1.0, 0.5]})
    fig = F.fig_stacked_bars(sh, "t", "y")
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.get_xticklabels()] == ["ubuntu", "x"]
    assert [t.get_text() for t in ax.texts] == ["3.5", "0.5"]
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["Toolkit", "Model"]


def test_category_bars_one_panel_per_category_largest_first() -> None:
    df = pd.DataFrame({
        "category": ["Model", "Model", "Model", "Toolkit", UNLABELLED],
        "file_type": ["ELF", ".a", "ELF", "Python", "x"],
        "size_mb": [1.0, 5.0, 2.0, 7.0, 9.0],
    })
    fig = F.fig_category_bars(df, "file_type", "size_mb", "Figure 5b", "File size (MB)")
    axes = fig.axes
    assert len(axes) == 6 and fig.get_suptitle() == "Figure 5b"
    # Table 1 order, Unlabelled left out; the unused panels are hidden
    assert [a.get_title() for a in axes] == ["Toolkit", "Model", "", "", "", ""]
    assert [a.axison for a in axes] == [True, True, False, False, False, False]
    # bars summed per item and sorted largest first
    assert [t.get_text() for t in axes[1].get_xticklabels()] == [".a", "ELF"]
    assert [p.get_height() for p in axes[1].patches] == [5.0, 3.0]
    assert [a.get_ylabel() for a in axes] == ["File size (MB)", "", "", "File size (MB)", "", ""]


def test_saved_pdf_has_no_date_so_reruns_give_the_same_bytes(tmp_path: Path) -> None:
    def draw(out: Path) -> bytes:
        fig = Figure()
        fig.add_subplot().bar(["a", "b"], [1, 2])
        save_figure(fig, "f", out)
        return (out / "f.pdf").read_bytes()

    first = draw(tmp_path / "1")
    assert b"CreationDate" not in first
    assert draw(tmp_path / "2") == first
