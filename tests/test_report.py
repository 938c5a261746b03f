"""pipeline.report: target walking, comparison, the reproduction report on real ingested data,
graceful skipping of missing inputs, the CLI and headless notebooks."""

from __future__ import annotations

import base64
import json
import shutil
from pathlib import Path

import nbformat
import pandas as pd
import pytest

from pipeline import report as R
from pipeline.cli import main
from pipeline.config import Paths
from pipeline.errors import InputTableMissing, StageInputMissing
from pipeline.report import artefacts as A
from pipeline.report import figures as F
from pipeline.report import notebooks as NB
from pipeline.report import targets as T
from pipeline.report.draw import FigurePool, write_artefacts
from pipeline.report.inputs import MODES
from pipeline.tables import read_table, save_figure
from tests.conftest import REPO_ROOT, make_project

SPEC = REPO_ROOT.parent / "shared" / "docs" / "paper_targets.json"


@pytest.fixture(scope="module")
def root(ingested: Paths, tmp_path_factory: pytest.TempPathFactory) -> Paths:
    """A writable project root holding a copy of the ingested interim tables only."""
    p = make_project(tmp_path_factory.mktemp("report"))
    shutil.copytree(ingested.interim, p.interim)
    return p


@pytest.fixture(scope="module")
def rep(root: Paths) -> pd.DataFrame:
    inp = R.load_inputs(root)
    spec = R.load_spec(root, SPEC)
    return R.reproduction(spec, R.compute_ours(inp, spec)).set_index("target")


def test_walk_targets_ids_values_and_references() -> None:
    spec = {
        "_meta": {"x": 1},
        "counts": {"a": {"value": 3, "unit": "repos", "data_value": 4, "location": "T1"},
                   "inter": {"step one": 7, "unit": "repos", "location": "x"}},
        "cells": {"value": {"Model": {".a": {"size_MB": 1.5}}, "list": ["x", "y"]}, "unit": "MB"},
        "unprinted": {"value": None, "data_value": {"n": 2}, "unit": "files"},
    }
    leaves = list(T.walk_targets(spec))
    assert [(lf.id, lf.value, lf.reference) for lf in leaves] == [
        ("counts.a.value", 3, "paper"),
        ("counts.inter.step one", 7, "package"),
        ("cells.value.Model.[.a].size_MB", 1.5, "paper"),
        ("cells.value.list", ["x", "y"], "paper"),
        ("unprinted.data_value.n", 2, "package"),
    ]
    assert [lf.unit for lf in leaves] == ["repos", "repos", "MB", "MB", "files"]


def test_compare_numbers_sets_and_strings() -> None:
    leaf = T.Leaf("x.value", "x", ("x", "value"), 0, "paper", "")
    assert T.compare(43713, 43713.5, 0.5, leaf) == ("reproduced", 0.5)
    assert T.compare(4, 3.5, 0.49, leaf) == ("differs", -0.5)
    assert T.compare(["b", "a"], ["A", "b"], 0.0, leaf) == ("reproduced", None)
    assert T.compare("arm, arm64, amd64", "amd64,arm", 0.0, leaf) == ("differs", "-arm64")
    assert T.compare(["a"], ["a", "c"], 0.0, leaf) == ("differs", "+c")
    # a bound claim ("more than 5") holds on the claimed side only
    assert T.compare(5, 5.5, 0.0, leaf, "more_than") == ("reproduced", 0.5)
    assert T.compare(5, 5, 0.0, leaf, "more_than") == ("differs", 0.0)
    assert T.compare(5, 4.5, 0.0, leaf, "less_than") == ("reproduced", -0.5)


def test_reproduction_on_the_ingested_package(rep: pd.DataFrame) -> None:
    assert len(rep) == 687  # every compared leaf of paper_targets.json
    assert rep.loc["rq1_table1_medians.Model.Size.value"].kind == "table cell"
    assert rep.loc["data_collection_counts.repos_with_dockerfile.value"].kind == "scalar"
    assert rep.loc["rq2_purpose_taxonomy.value.major_categories"].kind == "list"
    r = rep.loc["data_collection_counts.repos_with_dockerfile.value"]
    assert (r.ours_paper, r.ours_corrected, r.status_paper) == (3075, 3075, "reproduced")
    r = rep.loc["data_collection_counts.unique_repos_search_results.value"]
    assert (r.ours_paper, r.diff_paper, r.status_corrected) == (30138, -1.0, T.UNREPRODUCIBLE)
    assert "study.md 7.2.1" in r.reason
    assert rep.loc["data_collection_counts.removed_by_inclusion_exclusion.value"].ours_paper == 2104
    assert rep.loc["rq2_label_coverage.value.What"].ours_corrected == 246
    assert rep.loc["rq2_label_coverage.value.any"].status_paper == "reproduced"
    # adopted inputs of our method are never compared with themselves
    r = rep.loc["rq2_purpose_taxonomy.value.n_major_categories"]
    assert (r.status_paper, r.status_corrected) == ("not recomputable", "not recomputable")
    assert r.reason.startswith("adopted from Figure 2")
    # Table 1 from repos.csv: the MLOps size median reproduces from the manual labels alone
    r = rep.loc["rq1_table1_medians.MLOps/ AIOps.Size.value"]
    assert (r.ours_paper, r.status_paper) == (24565.0, "reproduced")
    r = rep.loc["rq1_table1_medians.Application System.Forks.value"]
    assert (r.ours_paper, r.diff_paper, r.status_paper) == (87.5, 0.5, "reproduced")
    # without projects.csv the blank labels stay unlabelled; the label mix says so
    r = rep.loc["rq1_category_counts.Toolkit.value"]
    assert (r.ours_paper, r.labels) == (50, "50 manual / 0 predicted")
    r = rep.loc["rq3_run_command_keyword_lists.value.Permissions"]
    assert r.status_paper == "not recomputable" and pd.isna(r.ours_paper)
    assert r.reason.startswith("method parameter")


def test_missing_inputs_are_not_recomputable_with_the_table_named(rep: pd.DataFrame) -> None:
    r = rep.loc["rq3_instruction_frequency.per_category_median_pct.value.Model.RUN"]
    assert (r.status_paper, r.status_corrected) == ("not recomputable", "not recomputable")
    assert r.reason == ("input table instruction_shares missing "
                        "(data/processed/instruction_shares.csv; run `mldock parse`)")
    assert rep.loc["rq4_table2.Model.conf_size.value"].reason == (
        "input table images_table2 missing (data/processed/images_table2.csv; run `mldock images`)")
    assert rep.loc["rq4_fig5b_file_size.value.Model.[.a].size_MB"].status_paper == "not recomputable"
    assert rep.loc["inclusion_criteria.value.min_commits"].reason.startswith("method parameter")
    counts = R.status_counts(rep.reset_index())
    assert counts.loc["not recomputable", "paper"] == (rep["status_paper"] == "not recomputable").sum()
    assert counts["paper"].sum() == 687


@pytest.mark.slow
def test_draw_all_skips_figures_whose_input_is_missing(root: Paths, tmp_path: Path) -> None:
    done = R.draw_all(R.load_inputs(root), out=tmp_path)
    assert done["figure1_funnel"] == "ok"
    assert done["figure2_purposes"] == "ok"
    assert done["table1_paper"] == "ok" and done["table1_corrected"] == "ok"
    assert done["figure3a_instructions_paper"] == (
        "skipped: input table instruction_shares missing "
        "(data/processed/instruction_shares.csv; run `mldock parse`)")
    assert done["table2_corrected"] == ("skipped: input table images_table2 missing "
                                        "(data/processed/images_table2.csv; run `mldock images`)")
    stage = {"parse": ("instruction_shares", "run_category_shares", "base_images"),
             "images": ("images_table2", "file_types_by_num", "file_types_by_size")}
    run = {t: s for s, ts in stage.items() for t in ts}
    missing = {"figure3a_instructions": "instruction_shares",
               "figure3b_run_commands": "run_category_shares",
               "figure4a_base_images": "base_images", "figure4b_base_image_types": "base_images",
               "table2": "images_table2", "figure5a_file_types": "file_types_by_num",
               "figure5b_file_sizes": "file_types_by_size"}
    assert done == {
        "figure1_funnel": "ok", "figure2_purposes": "ok", "table1_paper": "ok",
        "table1_corrected": "ok",
        **{f"{name}_{mode}": f"skipped: input table {table} missing "
                             f"(data/processed/{table}.csv; run `mldock {run[table]}`)"
           for mode in MODES for name, table in missing.items()},
        # paper-mode Figure 4 reads the ingested sheets (study.md 4.4), not parse's table
        "figure4a_base_images_paper": "ok", "figure4b_base_image_types_paper": "ok",
        **{name: f"skipped: input table {table} missing (data/processed/{table}.csv; run "
                 "`mldock smells`)" for name, table in (("smells_top_rules", "smell_top"),
                                                         ("smells_densities", "smell_densities"))}}
    assert (tmp_path / "figures" / "figure1_funnel.png").exists()
    assert (tmp_path / "figures" / "figure2_purposes.pdf").exists()
    t1 = pd.read_csv(tmp_path / "tables" / "table1_paper.csv").set_index("Category")
    assert t1.loc["MLOps/ AIOps", "Size"] == 24565.0
    assert t1.loc["Total", "Repos"] == 406
    assert not (tmp_path / "figures" / "figure3a_instructions_paper.png").exists()


@pytest.mark.slow
def test_cli_writes_the_reproduction_report(root: Paths) -> None:
    assert main(["-q", "--root", str(root.root), "report", "--no-notebooks",
                 "--targets", str(SPEC)]) == 0
    df = read_table("reproduction", root, path=root.reports / "reproduction.csv")
    assert len(df) == 687
    assert set(df["status_paper"]) <= set(T.STATUSES)
    # paper-mode Figures 4a/4b come from the ingested sheets, so they are computed here
    assert df["status_paper"].value_counts().to_dict() == {
        "not recomputable": 483, "differs": 135, "reproduced": 65, T.UNREPRODUCIBLE: 4}
    assert df["status_corrected"].value_counts().to_dict() == {
        "not recomputable": 590, "differs": 51, "reproduced": 42, T.UNREPRODUCIBLE: 4}
    side = json.loads((root.reports / "reproduction.csv.meta.json").read_text())
    assert side["rows"] == 687 and side["table"] == "reproduction"
    md = (root.reports / "reproduction.md").read_text()
    assert "## Summary" in md and "| reproduced |" in md
    assert ("| reproduced | 65 | 42 |\n| differs | 135 | 51 |\n| unreproducible (data) | 4 | 4 |\n"
            "| not recomputable | 483 | 590 |") in md
    assert md.index("## By paper artefact") < md.index("## Summary")
    assert "- **figure1_funnel**: 30,138 searched repositories narrow to 406 studied" in md
    assert "Dockerfile criterion. [both modes]" in md
    assert ("- **figure3a_instructions**: not drawn (skipped: input table instruction_shares "
            "missing (data/processed/instruction_shares.csv; run `mldock parse`))") in md


def test_figures_drawn_by_workers_are_the_bytes_of_one_process(root: Paths, tmp_path: Path) -> None:
    inp = R.load_inputs(root)
    with FigurePool(2) as pool:
        done = write_artefacts(inp, pool, out=tmp_path / "workers", modes=())
        assert pool.wait() == ["figure1_funnel", "figure2_purposes"]
        assert sorted(p.name for p in pool.ready.iterdir()) == [
            "figure1_funnel.done", "figure2_purposes.done"]
    assert done == {"figure1_funnel": "ok", "figure2_purposes": "ok",  # no smells tables here
                    "smells_top_rules": "skipped: input table smell_top missing "
                    "(data/processed/smell_top.csv; run `mldock smells`)",
                    "smells_densities": "skipped: input table smell_densities missing "
                    "(data/processed/smell_densities.csv; run `mldock smells`)"}
    for fn in (A.figure_1, A.figure_2):
        spec = fn(inp).figure
        assert spec is not None
        save_figure(F.draw(spec), fn.name, tmp_path / "one")
        for ext in ("png", "pdf"):
            assert ((tmp_path / "workers" / "figures" / f"{fn.name}.{ext}").read_bytes()
                    == (tmp_path / "one" / f"{fn.name}.{ext}").read_bytes()), (fn.name, ext)


def _images(nb: nbformat.NotebookNode) -> list[bytes]:
    return [base64.b64decode(o["data"]["image/png"]) for c in nb.cells
            if c.cell_type == "code" for o in c.outputs if "image/png" in o.get("data", {})]


@pytest.mark.slow
def test_notebooks_execute_headless(root: Paths, tmp_path: Path) -> None:
    """Notebook 0 as ``mldock report`` runs it (the report's artefacts, its figure file shown
    once the pool has written it), notebook 4 as by hand (reads the tables, draws)."""
    inp = R.load_inputs(root)
    with FigurePool(1) as pool:
        write_artefacts(inp, pool, out=tmp_path / "rep")
        session = NB.ReportSession(inp, None, tmp_path / "rep" / "figures", pool.ready,
                                   set(pool.stems))
        res = R.run_notebooks(root, ("0-funnel.ipynb",), out=tmp_path, session=session)
        pool.wait()
    res |= R.run_notebooks(root, ("4-rq4-images.ipynb",), out=tmp_path)
    assert res == {"0-funnel.ipynb": "ok", "4-rq4-images.ipynb": "ok"}
    nb = nbformat.read(tmp_path / "0-funnel.ipynb", as_version=4)
    assert _images(nb) == [(tmp_path / "rep" / "figures" / "figure1_funnel.png").read_bytes()]
    assert "<Figure size" not in json.dumps([c.outputs for c in nb.cells if c.cell_type == "code"])
    nb4 = nbformat.read(tmp_path / "4-rq4-images.ipynb", as_version=4)
    text = json.dumps([c.outputs for c in nb4.cells if c.cell_type == "code"])
    assert ("Not drawn: input table images_table2 missing (data/processed/images_table2.csv; "
            "run `mldock images`)") in text


def test_a_session_notebook_waits_for_the_reports_figure(
        root: Paths, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    inp = R.load_inputs(root)
    art = A.figure_1(inp)
    (tmp_path / "figures").mkdir()
    (tmp_path / "figures" / "figure1_funnel.png").write_bytes(b"\x89PNG the report's file")
    session = NB.ReportSession(inp, None, tmp_path / "figures", tmp_path, {"figure1_funnel"})
    monkeypatch.setenv(NB.SESSION_ENV, str(NB.save_session(session, tmp_path / "s.pickle")))
    nb = NB.NotebookSession()
    assert nb.inputs.memo.keys() == inp.memo.keys() and nb.paths == root
    with pytest.raises(TimeoutError, match="figure1_funnel not written"):
        NB.wait_for_figure(tmp_path, "figure1_funnel", timeout=0.1)
    (tmp_path / "failed").touch()
    with pytest.raises(RuntimeError, match="failed to draw a figure; figure1_funnel"):
        nb.image(art)
    (tmp_path / "figure1_funnel.done").touch()
    assert nb.image(art).data == b"\x89PNG the report's file"
    # a figure the report does not draw is drawn here
    drawn = nb.image(A.figure_2(inp)).data
    assert drawn[:4] == b"\x89PNG" and len(drawn) > 10_000


def test_committed_notebooks_have_no_outputs() -> None:
    for name in NB.NOTEBOOKS:
        nb = nbformat.read(REPO_ROOT / "notebooks" / name, as_version=4)
        nbformat.validate(nb)
        assert all(not c.get("outputs") for c in nb.cells if c.cell_type == "code"), name
        assert nb.metadata["kernelspec"]["name"] == "python3"


@pytest.mark.slow
def test_missing_targets_file_still_draws_and_says_so(
        root: Paths, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    p = make_project(tmp_path / "r")
    shutil.copytree(root.interim, p.interim)

    def nowhere(*_a: object, **_k: object) -> None:
        raise StageInputMissing("paper_targets.json", "set MLDOCK_PAPER_TARGETS")

    monkeypatch.setattr(R, "load_spec", nowhere)
    res = R.run(p, notebooks=False)
    assert res["counts"] is None and res["drawn"]["figure1_funnel"] == "ok"
    md = (p.reports / "reproduction.md").read_text()
    assert "Not written: missing input paper_targets.json" in md
    assert not (p.reports / "reproduction.csv").exists()


def test_purpose_counts_use_coding_else_prediction(tmp_path: Path) -> None:
    pur = pd.DataFrame({
        "repo": ["a", "a", "b", "b", "c"],
        "purpose": ["hosting", "ci_cd", "hosting", "ci_cd", "ci_cd"],
        "source": ["coded", "coded", "predicted", "rules", "rules"],
    })
    inp = R.Inputs(Paths(tmp_path), {"purposes": pur})
    assert A.purpose_counts(inp) == {"ci_cd": 1, "hosting": 2}
    assert A.purpose_count_note(inp) == "(n) = repositories: 1 coded by the study, 1 predicted"


def test_a_programming_error_propagates_instead_of_a_skipped_row(
        root: Paths, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(inp: R.Inputs, mode: str) -> A.Artefact:
        raise KeyError("no_such_column")

    monkeypatch.setattr(A.table1, "fn", broken)
    inp = R.load_inputs(root)
    with pytest.raises(KeyError, match="no_such_column"):
        R.draw_all(inp, out=tmp_path)
    spec = R.load_spec(root, SPEC)
    with pytest.raises(KeyError, match="no_such_column"):
        R.compute_ours(R.load_inputs(root), spec)


def test_a_missing_input_table_is_the_skipped_row_naming_the_table(root: Paths) -> None:
    inp = R.load_inputs(root)
    assert inp.get("images_table2") is None
    with pytest.raises(InputTableMissing) as exc:
        A.table2(inp, "paper")
    assert exc.value.table == "images_table2"
    assert str(exc.value) == ("input table images_table2 missing "
                              "(data/processed/images_table2.csv; run `mldock images`)")
    ours = R.compute_ours(inp, R.load_spec(root, SPEC))
    assert ours.reason_for("corrected", "rq4_table2.Model.conf_size.value") == str(exc.value)


def test_artefacts_are_computed_once_per_run_and_carry_their_titles(root: Paths) -> None:
    inp = R.load_inputs(root)
    t1 = A.table1(inp, "paper")
    assert A.table1(inp, "paper") is t1 and t1.stem == "table1_paper"
    assert t1.frame.set_index("category").loc["Total", "repos"] == 406
    assert t1.table is not None and t1.table.set_index("Category").loc["Total", "%"] == "100%"
    f2 = A.figure_2(inp)
    assert f2.stem == "figure2_purposes" and f2.figure is not None
    assert f2.figure.title == "Figure 2: purposes of using Docker (21 purposes, 12 subcategories)"
    assert A.figure_1(inp).figure.title == "Figure 1: collection funnel, our counts"


def test_targets_file_with_another_hash_stops_the_report(root: Paths, tmp_path: Path) -> None:
    changed = tmp_path / "paper_targets.json"
    changed.write_bytes(SPEC.read_bytes().replace(b"30139", b"30140", 1))
    with pytest.raises(T.TargetsChanged, match=str(changed)):
        R.load_spec(root, changed)
