"""pipeline.publish: datapackage.json validated with frictionless against every published CSV,
every column described, provenance sidecars, CITATION.cff."""

from __future__ import annotations

import hashlib
import json
import shutil
import sys
from pathlib import Path

import pandas as pd
import pytest
import yaml
from frictionless import Package, validate

from pipeline import __version__, parse
from pipeline import publish as P
from pipeline import report as R
from pipeline.cli import main
from pipeline.config import Paths
from pipeline.schemas import TABLES, C, Table
from pipeline.tables import code_version, source_info, taxonomy_hash
from tests.conftest import REPO_ROOT, make_project

SPEC = REPO_ROOT.parent / "shared" / "docs" / "paper_targets.json"


@pytest.fixture(scope="module")
def published(ingested: Paths, tmp_path_factory: pytest.TempPathFactory) -> Paths:
    """A root with the ingested interim tables and a reproduction report, then published."""
    p = make_project(tmp_path_factory.mktemp("publish"))
    shutil.copytree(ingested.interim, p.interim)
    inp = R.load_inputs(p)
    R.write_reproduction(inp, R.load_spec(p, SPEC), {})
    argv = ["-q", "--root", str(p.root), "publish"]
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(sys, "argv", ["mldock", *argv])  # the command line the sidecars record
        assert main(argv) == 0
    return p


def _validate(pkg_path: Path) -> None:
    pkg = json.loads(pkg_path.read_text(encoding="utf-8"))
    assert P.undocumented_fields(pkg) == []
    report = validate(str(pkg_path))
    errors = report.flatten(["resourceName", "rowNumber", "fieldName", "type", "note"])
    assert report.valid, errors[:10]


def test_published_package_validates_against_every_csv(published: Paths) -> None:
    out = published.data / "published"
    _validate(out / "datapackage.json")
    pkg = json.loads((out / "datapackage.json").read_text())
    names = [r["title"] for r in pkg["resources"]]
    # what exists in this root: ingest's published tables and the reproduction report
    assert names == ["files", "funnel", "repos", "reproduction"]
    repos = next(r for r in pkg["resources"] if r["title"] == "repos")
    assert repos["schema"]["primaryKey"] == ["repo"]
    fields = {f["name"]: f for f in repos["schema"]["fields"]}
    assert fields["stars"]["type"] == "integer"
    assert fields["in_final_dataset"]["type"] == "boolean"
    assert fields["repo"]["constraints"] == {"required": True}
    assert fields["images"]["description"].endswith("(JSON-encoded)")
    assert len(fields) == len(TABLES["repos"].columns)
    rows = Package(str(out / "datapackage.json")).get_resource("repos").read_rows()
    assert len(rows) == 406


def test_sidecars_carry_provenance_and_row_counts(published: Paths) -> None:
    out = published.data / "published"
    for name, rows, stage, src in (("repos", 406, "ingest", "data/interim/repos.csv"),
                                   ("funnel", 10, "ingest", "data/interim/funnel.csv"),
                                   ("reproduction", 687, "report", "reports/reproduction.csv")):
        meta = json.loads((out / f"{name}.csv.meta.json").read_text())
        assert meta["rows"] == rows == len(pd.read_csv(out / f"{name}.csv"))
        for key in ("command", "code_version", "taxonomy_hash", "source", "written_at"):
            assert key in meta, (name, key)
        assert (meta["table"], meta["stage"]) == (name, stage)
        # not a git checkout: the package version alone; the taxonomy is the checkout's
        assert meta["code_version"] == code_version(published.root) == __version__
        assert meta["taxonomy_hash"] == taxonomy_hash(REPO_ROOT)
        assert meta["source"] == source_info(published)
        assert meta["published"]["hash"].startswith("sha256:")
        assert meta["published"]["hash"] == (
            "sha256:" + hashlib.sha256((out / f"{name}.csv").read_bytes()).hexdigest())
        assert meta["published"]["command"].startswith("mldock")
        assert meta["published"]["command"] == f"mldock -q --root {published.root} publish"
        assert meta["published"]["from"] == src
        assert meta["published"]["code_version"] == __version__
    assert json.loads((out / "repos.csv.meta.json").read_text())["source"]["package_dir"]


def test_the_data_citation_goes_with_the_data(published: Paths) -> None:
    cff = yaml.safe_load((published.data / "published" / "CITATION.cff").read_text())
    assert not (published.root / "CITATION.cff").exists()  # the software's: tracked, never written
    assert (cff["cff-version"], cff["type"]) == ("1.2.0", "dataset")
    assert cff["version"] == "0.0.0"  # this root's pyproject.toml is empty
    software, paper = cff["references"]
    assert (software["type"], software["title"]) == ("software", "mldock: ")
    assert paper["title"] == "Studying the Practices of Deploying Machine Learning Projects on Docker"
    assert [a["family-names"] for a in paper["authors"]] == [
        "Openja", "Majidi", "Khomh", "Chembakottu", "Li"]


def test_the_software_citation_is_the_checkouts_own() -> None:
    """The tracked CITATION.cff cites the software at pyproject's version and the study."""
    cff = yaml.safe_load((REPO_ROOT / "CITATION.cff").read_text())
    meta = P.project_meta(Paths(REPO_ROOT))
    assert (cff["type"], cff["version"]) == ("software", meta["version"])
    assert cff["title"] == f"{meta['name']}: {meta['description']}"
    assert cff["references"][0]["title"] == P.PAPER_REFERENCE["title"]


def test_a_column_without_description_is_caught(published: Paths) -> None:
    pkg = json.loads((published.data / "published" / "datapackage.json").read_text())
    pkg["resources"][0]["schema"]["fields"][1]["description"] = " "
    assert P.undocumented_fields(pkg) == [f"{pkg['resources'][0]['name']}.path"]
    with pytest.raises(ValueError, match="empty description"):
        C("x", "str", "")


def test_table_schema_types_and_keys() -> None:
    t = Table("t", "processed", "report", "d", (C("a", "int", "A", False), C("b", "json", "B"),
                                                  C("c", "float", "C"), C("d", "date", "D")),
              key=("a",))
    s = P.table_schema(t)
    assert [(f["name"], f["type"]) for f in s["fields"]] == [
        ("a", "integer"), ("b", "string"), ("c", "number"), ("d", "string")]
    assert s["primaryKey"] == ["a"] and s["missingValues"] == [""]
    assert s["fields"][0]["constraints"] == {"required": True}
    assert "constraints" not in s["fields"][1]


def test_every_published_table_is_fully_described() -> None:
    for t in TABLES.values():
        if t.published:
            res = {"name": t.name, "description": t.description, "schema": P.table_schema(t)}
            assert P.undocumented_fields({"resources": [res]}) == [], t.name


def test_unknown_table_option_is_refused(published: Paths, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--root", str(published.root), "publish", "--table", "nope"]) == 2
    assert "unknown table(s) ['nope']" in capsys.readouterr().err


@pytest.mark.slow
def test_parsed_package_publishes_and_validates(
        ingested: Paths, tmp_path_factory: pytest.TempPathFactory) -> None:
    """Real parse output of the whole replication package, published and validated."""
    p = make_project(tmp_path_factory.mktemp("publish-parsed"))
    p.data.mkdir(parents=True, exist_ok=True)
    (p.data / "raw").symlink_to(ingested.data / "raw", target_is_directory=True)
    shutil.copytree(ingested.interim, p.interim)
    parse.run(p, parse.MODES, workers=2)
    res = P.publish(p)
    rows = {"base_images": 5677, "compose_services": 1366, "dockerfiles": 4767, "files": 2703,
            "funnel": 10, "instruction_shares": 5355, "instructions": 92996, "repos": 406,
            "orchestration_signals": 580,
            "run_category_shares": 2861, "run_commands": 108134}
    assert res["published"] == sorted(rows)
    assert res["skipped"] == [
        "base_image_changes", "dockerfile_histories", "dockerfile_versions",
        "file_types_by_num", "file_types_by_size", "image_file_types", "images",
        "images_repo_stats", "images_table2", "images_table2_live", "layers",
        "orchestration_repos", "orchestration_shares", "projects", "purposes", "release_smells",
        "release_summary", "reproduction", "smell_densities", "smell_files", "smell_tests",
        "smell_top", "smells"]
    out = p.data / "published"
    for name, n in rows.items():
        assert json.loads((out / f"{name}.csv.meta.json").read_text())["rows"] == n, name
    _validate(out / "datapackage.json")


SAMPLE = {"str": "x", "int": 7, "float": 1.5, "bool": True, "date": "2021-10-14T02:18:40Z",
          "json": '["a:1"]'}


def test_every_published_table_round_trips_through_frictionless(tmp_path: Path) -> None:
    """One typed row per published table, written with write_table, published, validated."""
    from pipeline.tables import write_table

    p = make_project(tmp_path / "all")
    tables = [t for t in TABLES.values() if t.published]
    for t in tables:
        row = {c.name: SAMPLE[c.dtype] for c in t.columns}
        path = P.source_path(p, t)
        write_table(pd.DataFrame([row, {**row, **{k: f"{SAMPLE['str']}2" if
                    t.column(k).dtype == "str" else 8 for k in t.key}}]), t, p, path=path)
    res = P.publish(p)
    assert sorted(res["published"]) == sorted(t.name for t in tables) and res["skipped"] == []
    _validate(p.data / "published" / "datapackage.json")
