"""Ingest: real replication package, zip and URL sources, quirks, bad sources."""

from __future__ import annotations

import http.server
import shutil
import threading
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest

from pipeline import ingest
from pipeline.cli import main
from pipeline.config import Paths
from pipeline.core.sniff import classify_file
from pipeline.errors import SourceInvalid, SourceNotFound
from pipeline.ingest_checks import read_sheets
from pipeline.schemas import PACKAGE_TABLES
from pipeline.tables import read_package_csv, read_table

from .conftest import make_project

# The shared copy has some labels blanked on purpose; these are its labelled counts.
SHARED_LABELLED = {
    "Application System": 136,
    "MLOps/AIOps": 75,
    "DL Framework": 50,
    "Toolkit": 50,
    "Model": 10,
    "Documentation": 5,
}


def test_repos_are_the_406_studied(ingested: Paths) -> None:
    repos = read_table("repos", ingested)
    assert len(repos) == 406
    assert repos["repo"].is_unique
    assert int(repos["in_final_dataset"].sum()) == 405
    only_manual = repos.loc[~repos["in_final_dataset"].astype(bool), "repo"].tolist()
    assert only_manual == ["Hydrospheredata/hydro-serving-ui"]
    # its metadata comes from the xlsx sheet `filtered`
    hydro = repos.set_index("repo").loc["Hydrospheredata/hydro-serving-ui"]
    assert pd.notna(hydro["commits"]) and hydro["commits"] > 100


def test_labelled_category_counts(ingested: Paths) -> None:
    repos = read_table("repos", ingested)
    labelled = repos[repos["label_source"] == "manual"]
    assert labelled["category"].value_counts().to_dict() == SHARED_LABELLED
    assert len(labelled) == 326
    blank = repos[repos["label_source"].isna()]
    assert len(blank) == 80
    assert blank["category"].isna().all() and blank["raw_label"].isna().all()


def test_repo_metadata_values(ingested: Paths) -> None:
    repos = read_table("repos", ingested).set_index("repo")
    keras = repos.loc["keras-team/keras"]
    assert (keras["commits"], keras["stars"], keras["forks"], keras["releases"]) == (6096, 52839, 18840, 30)
    assert keras["size_kb"] == 20111
    assert keras["images"] == '["arunothia/cs-221:latest"]'
    assert keras["search_topic"] == "keras"
    assert keras["archived"] == False  # noqa: E712
    assert repos.loc["esmBot/esmBot", "total_dockerfiles"] == 2


def test_funnel_counts(ingested: Paths) -> None:
    funnel = read_table("funnel", ingested)
    assert funnel["count"].tolist() == [30138, 3075, 1780, 1002, 1002, 971, 469, 422, 406, 405]
    removed = dict(zip(funnel["step"], funnel["removed"], strict=True))
    assert removed["commits>=100"] == 1295
    assert removed["releases>=1"] == 778
    assert removed["forks>=1,stars>=1"] == 0
    assert removed["not_archived"] == 31


def test_every_log_file_classified_with_a_reason(ingested: Paths, shared_package: Path) -> None:
    files = read_table("files", ingested)
    on_disk = sum(1 for p in (shared_package / ingest.LOGS).glob("*/*/latest/**/*") if p.is_file())
    assert len(files) == on_disk == 2703
    assert files["reason"].str.len().gt(0).all()
    assert files["kind"].value_counts().to_dict() == {
        "dockerfile": 2274, "not_dockerfile": 219, "compose": 210}
    assert files["name_match"].value_counts().to_dict() == {"dockerfile": 2493, "compose": 210}
    assert not files["path"].str.startswith("/").any()
    # editor modes named like Dockerfiles are not Dockerfiles
    js = files[files["path"].str.endswith("mode-dockerfile.js")]
    assert len(js) == 28 and (js["kind"] == "not_dockerfile").all()
    # copies are byte-identical
    row = files[(files["repo"] == "keras-team/keras") & (files["path"] == ".devcontainer/Dockerfile")].iloc[0]
    copy = ingested.data / row["raw_path"]
    assert copy.read_bytes() == (shared_package / ingest.LOGS / "keras-team/keras/latest/.devcontainer/Dockerfile").read_bytes()
    assert row["kind"] == "dockerfile"


def test_purpose_text(ingested: Paths) -> None:
    pt = read_table("purpose_text", ingested)
    assert len(pt) == 406
    assert int((pt["what"].fillna("") != "").sum()) == 246


def test_provenance_sidecar(ingested: Paths) -> None:
    import json

    meta = json.loads((ingested.interim / "repos.csv.meta.json").read_text())
    assert meta["rows"] == 406
    assert meta["source"]["kind"] == "directory"
    assert len(meta["taxonomy_hash"]) == 16


# --------------------------------------------------------------------------------------
# classify_file on fixtures
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "text", "kind", "reason_part"),
    [
        ("Dockerfile", b"# syntax=docker/dockerfile:1\nARG V=1\nFROM python:${V}\n", "dockerfile", "line 3"),
        ("Dockerfile.gpu", b"ARG BASE=\\\n  ubuntu\n\nfrom ${BASE}\nRUN x\n", "dockerfile", "line 4"),
        ("Dockerfile", b"\xef\xbb\xbfFROM alpine\r\nRUN echo\r\n", "dockerfile", "line 1"),
        ("mode-dockerfile.js", b"define(function(require) {\n", "not_dockerfile", "line 1"),
        ("x.partial.Dockerfile", b"RUN pip install x\n", "not_dockerfile", "RUN"),
        ("Dockerfile", b"", "not_dockerfile", "empty"),
        ("Dockerfile", b"\x00\x01FROM", "not_dockerfile", "binary"),
        ("Dockerfile", b"# only a comment\n", "not_dockerfile", "no instruction"),
        ("docker-compose.yml", b"version: '3'\nservices:\n  a:\n    image: redis\n", "compose", "1 services"),
        ("docker-compose.yml", b"web:\n  build: .\n", "compose", "v1"),
        ("docker-compose.yml", b"a: [unclosed\n", "not_dockerfile", "invalid YAML"),
        ("dockerfile.py", b"import os\nfrom typing import List\n", "not_dockerfile", "line 1"),
        ("dockerfile.py", b"# x\nfrom typing import List\n", "not_dockerfile", "not 'FROM image [AS name]'"),
        ("Dockerfile", b"FROM --platform=$X base AS b\n", "dockerfile", "line 1"),
        ("dockerfile.tmpl", b"FROM {{ base }}\n{% if x %}\nRUN a\n{% endif %}\n", "not_dockerfile", "Jinja"),
    ],
)
def test_classify_file(name: str, text: bytes, kind: str, reason_part: str) -> None:
    _, got_kind, reason = classify_file(name, text)
    assert got_kind == kind
    assert reason_part in reason


def test_label_mapping_handles_misspellings(tmp_path: Path) -> None:
    mapping = ingest.load_label_mapping(Path(__file__).parents[1] / "taxonomy" / "categories.yaml")
    assert ingest.map_label("DL framwork", mapping) == "DL Framework"
    assert ingest.map_label("DL framework", mapping) == "DL Framework"
    assert ingest.map_label("AutoML", mapping) == ingest.map_label("automl", mapping) == "Toolkit"
    assert ingest.map_label("application ", mapping) == "Application System"
    assert ingest.map_label(float("nan"), mapping) is None
    with pytest.raises(KeyError):
        ingest.map_label("remove/ tool", mapping)


def test_complete_labels_give_study_counts(tmp_path: Path, shared_package: Path) -> None:
    """With every label present (as in the published package) the counts are study.md §2.4."""
    manual = read_package_csv(shared_package / ingest.MANUAL)
    # raw label distribution of the complete package (study.md §2.4, manual-labeling.csv)
    full = (["application"] * 159 + ["application/autopilot"] * 11 + ["mlops"] * 93
            + ["DL framwork"] * 62 + ["tool"] * 30 + ["Machine Learning"] * 18 + ["AutoML"] * 13
            + ["automl"] + ["model"] * 13 + ["tutorials/ documentation"] * 6)
    assert len(full) == len(manual) == 406
    manual["manual_topic"] = full
    final = read_package_csv(shared_package / ingest.FINAL)
    filtered = read_sheets(shared_package / ingest.XLSX, {"filtered": ("Repos",)}, "xlsx")["filtered"]
    mapping = ingest.load_label_mapping(Path(__file__).parents[1] / "taxonomy" / "categories.yaml")
    repos = ingest.build_repos(manual, final, filtered, mapping)
    assert repos["category"].value_counts().to_dict() == {
        "Application System": 170, "MLOps/AIOps": 93, "DL Framework": 62, "Toolkit": 62,
        "Model": 13, "Documentation": 6}


# --------------------------------------------------------------------------------------
# zip and URL sources give identical tables
# --------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def package_zip(tmp_path_factory: pytest.TempPathFactory, shared_package: Path) -> Path:
    """A zip laid out like GitHub's archive of the package repository."""
    out = tmp_path_factory.mktemp("zip") / "EASE2022-main.zip"
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=1) as zf:
        for f in sorted(shared_package.rglob("*")):
            if f.is_file():
                zf.write(f, "EASE2022-main/Datasets/" + f.relative_to(shared_package).as_posix())
    return out


def _tables(p: Paths) -> dict[str, pd.DataFrame]:
    return {n: read_table(n, p) for n in ("repos", "funnel", "files", "purpose_text")}


def _assert_same(a: Paths, b: Paths) -> None:
    ta, tb = _tables(a), _tables(b)
    for name in ta:
        pd.testing.assert_frame_equal(ta[name], tb[name], check_exact=True)


@pytest.mark.slow
def test_zip_source_identical(tmp_path: Path, package_zip: Path, ingested: Paths) -> None:
    p = make_project(tmp_path / "proj")
    res = ingest.run(str(package_zip), p)
    assert res.source.kind == "zip"
    assert (p.external / "EASE2022-main" / "EASE2022-main" / "Datasets" / "RQ1").is_dir()
    _assert_same(p, ingested)


@pytest.fixture()
def http_server(package_zip: Path) -> Iterator[str]:
    directory = str(package_zip.parent)

    class Handler(http.server.SimpleHTTPRequestHandler):
        def __init__(self, *a, **kw):  # type: ignore[no-untyped-def]
            super().__init__(*a, directory=directory, **kw)

        def log_message(self, *a):  # type: ignore[no-untyped-def]
            pass

    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    t = threading.Thread(target=srv.serve_forever, daemon=True)
    t.start()
    try:
        yield f"http://127.0.0.1:{srv.server_address[1]}"
    finally:
        srv.shutdown()
        srv.server_close()


@pytest.mark.slow
def test_url_source_identical(tmp_path: Path, http_server: str, ingested: Paths, package_zip: Path) -> None:
    p = make_project(tmp_path / "proj")
    res = ingest.run(f"{http_server}/EASE2022-main.zip", p)
    assert res.source.kind == "url"
    downloaded = p.external / "EASE2022-main.zip"
    assert downloaded.read_bytes() == package_zip.read_bytes()
    _assert_same(p, ingested)


def test_folder_containing_datasets(tmp_path: Path, shared_package: Path) -> None:
    outer = tmp_path / "EASE2022-main"
    outer.mkdir()
    (outer / "Datasets").symlink_to(shared_package, target_is_directory=True)
    src = ingest.resolve_source(str(outer), make_project(tmp_path / "p"))
    assert src.package_dir == shared_package.resolve()


# --------------------------------------------------------------------------------------
# bad sources: one clear line, non-zero exit, no partial outputs
# --------------------------------------------------------------------------------------


def _run_cli(root: Path, *args: str, capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    code = main(["--quiet", "--root", str(root), "ingest", *args])
    err = capsys.readouterr().err
    return code, err


def _no_outputs(p: Paths) -> bool:
    return not any(p.interim.glob("*.csv")) and not p.raw_files.exists()


def test_missing_source_cli(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    p = make_project(tmp_path / "p")
    code, err = _run_cli(p.root, "--from", str(tmp_path / "nowhere"), capsys=capsys)
    assert code == 1
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("mldock: error: replication package not found")
    assert "nowhere" in lines[0]
    assert _no_outputs(p)


def test_no_default_source(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MLDOCK_REPLICATION", raising=False)
    p = make_project(tmp_path / "isolated" / "p")
    with pytest.raises(SourceNotFound) as exc:
        ingest.resolve_source(None, p)
    assert "MLDOCK_REPLICATION" in str(exc.value)


def test_default_source_from_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, shared_package: Path) -> None:
    monkeypatch.setenv("MLDOCK_REPLICATION", str(shared_package))
    src = ingest.resolve_source(None, make_project(tmp_path / "p"))
    assert src.package_dir == shared_package.resolve()


def test_malformed_folder(tmp_path: Path, shared_package: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "Datasets"
    shutil.copytree(shared_package / "RQ1", bad / "RQ1")
    (bad / "RQ1" / "manual-labeling.csv").write_bytes(b"\xef\xbb\xbfnot,the,columns\n1,2,3\n")
    (bad / "raw-data" / "Dockerfiles" / "logs").mkdir(parents=True)
    (bad / "raw-data" / "DockerImage" / "layers").mkdir(parents=True)
    shutil.copytree(shared_package / "RQ4" / "files-v2", bad / "RQ4" / "files-v2")
    p = make_project(tmp_path / "p")
    code, err = _run_cli(p.root, "--from", str(bad), capsys=capsys)
    assert code == 1
    assert len(err.strip().splitlines()) == 1
    assert "manual-labeling.csv: no column 'repos'" in err
    assert _no_outputs(p)


def test_incomplete_folder(tmp_path: Path) -> None:
    (tmp_path / "Datasets" / "RQ1").mkdir(parents=True)
    with pytest.raises(SourceInvalid, match="missing RQ1/manual-labeling.csv"):
        ingest.resolve_source(str(tmp_path), make_project(tmp_path / "p"))


def test_not_a_zip(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    f = tmp_path / "package.zip"
    f.write_text("this is not a zip")
    p = make_project(tmp_path / "p")
    code, err = _run_cli(p.root, "--from", str(f), capsys=capsys)
    assert code == 1 and "not a zip archive" in err
    assert _no_outputs(p)


def test_zip_slip_rejected(tmp_path: Path) -> None:
    z = tmp_path / "evil.zip"
    with zipfile.ZipFile(z, "w") as zf:
        zf.writestr("EASE2022-main/Datasets/RQ1/x.csv", "a\n")
        zf.writestr("../../escape.txt", "gotcha")
    p = make_project(tmp_path / "p")
    with pytest.raises(SourceInvalid, match="unsafe path"):
        ingest.resolve_source(str(z), p)
    assert not (tmp_path.parent / "escape.txt").exists()
    assert not (p.external / "evil").exists()


@pytest.mark.slow
def test_failed_rerun_keeps_previous_outputs(tmp_path: Path, shared_package: Path) -> None:
    """A good ingest followed by a bad one leaves the good tables untouched."""
    p = make_project(tmp_path / "p")
    ingest.run(str(shared_package), p)
    before = (p.interim / "repos.csv").read_bytes()
    with pytest.raises(SourceNotFound):
        ingest.run(str(tmp_path / "missing"), p)
    assert (p.interim / "repos.csv").read_bytes() == before
    assert (p.raw_files / "keras-team" / "keras").is_dir()


# --------------------------------------------------------------------------------------
# the package's RQ4 image CSVs as interim tables (read by images --replication)
# --------------------------------------------------------------------------------------


def test_package_image_tables_row_counts(ingested: Paths) -> None:
    counts = {name: len(read_table(name, ingested)) for name in PACKAGE_TABLES}
    assert counts == {
        "package_image_configs": 512, "package_image_layers": 9315, "package_image_repos": 558,
        "package_file_types_top_num": 72, "package_file_types_num": 1963,
        "package_file_types_top_size": 70, "package_file_types_repos": 15201,
    }


def test_package_image_tables_values(ingested: Paths) -> None:
    cfg = read_table("package_image_configs", ingested)
    row = cfg[cfg["image"] == "ultralytics/yolov5"].iloc[0]
    assert (row.file, row.repo_tag, row.config_size, row.config_env_count, row.architecture) == (
        "Manifest_Config_info.csv", "latest", "50741", "52", "amd64")
    assert row.diff_ids.count("sha256:") == 65  # the shifted header undone
    repos = read_table("package_image_repos", ingested)
    cs = repos[repos["image"] == "arunothia/cs-221"]
    assert cs[["rank", "repo"]].values.tolist() == [[1, "keras-team/keras"], [2, "keras-team/autokeras"]]
    top = read_table("package_file_types_top_num", ingested)
    assert sorted(set(top["raw_category"])) == ["Application System", "DL Framwork", "Documentation",
                                                "MLOps/ AIOps", "Model", "Toolkit"]
    assert set(top["category"]) == {"Application System", "DL Framework", "Documentation",
                                    "MLOps/AIOps", "Model", "Toolkit"}
    per = read_table("package_file_types_repos", ingested)
    assert per.groupby("file").size().to_dict() == {
        "layers_files_Application System.csv": 6451, "layers_files_DL Framwork.csv": 2350,
        "layers_files_Documentation.csv": 250, "layers_files_MLOps.csv": 3300,
        "layers_files_Model.csv": 450, "layers_files_Toolkit.csv": 2400}
