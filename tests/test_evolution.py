"""The evolution stage and its core: tag dates, member names, the per-release corpus.

Real data: the package's ``samples/dockerfiles.tar.gz`` and its tag lists."""

from __future__ import annotations

import hashlib
import io
import json
import os
import shutil
import signal
import tarfile
from pathlib import Path

import pandas as pd
import pytest

from pipeline import parse
from pipeline.config import Paths
from pipeline.core import evolution as evo
from pipeline.core import smells as smells_core
from pipeline.core.dockerfile import MAX_BYTES
from pipeline.evolution import build, corpus, figures
from pipeline.evolution import run as evolution
from pipeline.smells import frames as smell_frames
from pipeline.tables import ErrorLog, read_table, repo_categories
from pipeline.taxonomy import load_orchestration, load_run_taxonomy, load_smell_rules
from tests.conftest import REPO_ROOT, make_project

APOLLO = "ApolloAuto/apollo"


# -- core ----------------------------------------------------------------------------------

def test_tag_line_is_dated_in_utc() -> None:
    assert evo.parse_tag_line(r"b'refs/tags/v0.1 Wed Oct 9 22:55:53 2013 -0700\n'") == \
        ("v0.1", "2013-10-10T05:55:53Z")
    assert evo.parse_tag_line(r"b'refs/tags/r1.0 Fri Feb 10 23:59:30 2017 +0530\n'") == \
        ("r1.0", "2017-02-10T18:29:30Z")


def test_bad_tag_lines_are_problems_not_crashes() -> None:
    tags, problems = evo.parse_tags("b'refs/tags/v1 Mon Jan 20 18:24:41 2014 -0800\\n'\n"
                                    "refs/tags/v2 yesterday\n\n"
                                    "b'refs/tags/v3 Mon Foo 20 18:24:41 2014 -0800\\n'\n")
    assert tags == {"v1": "2014-01-21T02:24:41Z"}
    assert problems == ["not a tag line: 'refs/tags/v2 yesterday'",
                        "tag v3: bad date 'Mon Foo 20 18:24:41 2014 -0800'"]


def test_member_is_split_by_the_longest_known_tag() -> None:
    tags = {"v1.0", "1.0", "ops_v1.0", "operator"}
    assert evo.split_member("dockerfiles/a/b/Dockerfile_ops_v1.0", tags) == \
        evo.Member("a/b", "Dockerfile", "ops_v1.0")
    assert evo.split_member("dockerfiles/a/b/x_y.Dockerfile_v1.0", tags) == \
        evo.Member("a/b", "x_y.Dockerfile", "v1.0")
    assert evo.split_member("dockerfiles/a/b/Dockerfile_v2.0", tags) is None
    assert evo.split_member("dockerfiles/a/Dockerfile_v1.0", tags) is None
    assert evo.split_member("dockerfiles/a/b/_v1.0", tags) is None


def test_pinning_and_labels() -> None:
    assert [evo.pinned(t, d) for t, d in (("", ""), ("latest", ""), ("LATEST", "sha256:1"),
                                          ("18.04", ""))] == [False, False, True, True]
    assert evo.image_label("ubuntu", "") == "ubuntu:latest"
    assert evo.image_label("ubuntu", "", "sha256:0123456789abcdef0123") == "ubuntu@sha256:0123456789ab"


# -- real data -----------------------------------------------------------------------------

@pytest.fixture(scope="module")
def apollo(shared_package: Path) -> dict[str, pd.DataFrame]:
    """ApolloAuto/apollo's rows, built from the real archive and tag lists (no figures)."""
    errors = ErrorLog("evolution")
    tags = corpus.read_tags(shared_package, errors)
    index, contents = corpus.read_members(corpus.archive_path(shared_package))
    assert index.too_large == []
    members = index.files
    versions = [v for v in corpus.versions_of(members, tags, Path("x"), errors)
                if v.repo.lower() == APOLLO.lower()]
    rules, run_tax = load_orchestration(REPO_ROOT / "taxonomy"), load_run_taxonomy(REPO_ROOT / "taxonomy")
    smell_rules = load_smell_rules(REPO_ROOT / "taxonomy")
    sums = {v.sha256: corpus.summarise(contents[v.sha256], run_tax, rules, smell_rules)
            for v in versions}
    df = build.versions_frame(versions, sums, tags, {APOLLO.lower(): APOLLO},
                              {APOLLO: "Application System"})
    changes = build.changes_frame(df)
    return {"versions": df, "changes": changes, "releases": build.releases_frame(df),
            "histories": build.histories_frame(df, changes), "members": pd.DataFrame(members),
            "errors": pd.DataFrame(errors.rows),
            "contents": {v.sha256: contents[v.sha256] for v in versions}}


def test_the_archive_and_its_tags(apollo: dict[str, pd.DataFrame]) -> None:
    members = apollo["members"]
    assert len(members) == 31594
    assert members[1].nunique() == 382
    assert apollo["errors"].empty  # every member names a known project and tag


def test_apollo_history_exact(apollo: dict[str, pd.DataFrame]) -> None:
    rel = apollo["releases"]
    assert rel["tag"].tolist() == ["v1.0.0", "v1.5.0", "v2.0.0", "v2.5.0", "v3.0.0", "v3.5.0",
                                   "v5.0.0", "v5.5.0", "v6.0.0"]
    assert rel["tag_date"].tolist()[:2] == ["2017-07-04T19:26:26Z", "2017-09-19T20:36:41Z"]
    assert rel["tag_date"].iloc[-1] == "2020-09-21T21:02:04Z"
    assert set(rel["n_files"]) == {8} and set(rel["n_dockerfiles"]) == {8}
    assert set(rel["instructions_per_dockerfile"]) == {18.75}
    assert set(rel["stages_per_dockerfile"]) == {1.625}
    assert set(rel["os_versions"]) == {'["ubuntu:18.04"]'} and set(rel["cuda_versions"]) == {'["11.1"]'}
    v = apollo["versions"]
    first = v[(v["tag"] == "v1.0.0")].set_index("path")
    assert first.loc["runtime.x86_64.dockerfile.sample", "base_image"] == \
        "nvidia/cuda:11.1-runtime-ubuntu18.04"
    assert first.loc["standalone.x86_64.dockerfile", "base_image"] == \
        "apolloauto/apollo:runtime-x86_64-18.04-20210517_1712"
    assert first.loc["dev.x86_64.dockerfile", "base_image"] == "${BASE_IMAGE}"
    assert bool(first.loc["runtime.x86_64.dockerfile.sample", "gpu"])
    assert set(v["tag_date_source"]) == {"gh_tags"}
    assert set(rel["mld_smells_per_dockerfile"]) == {2.0}
    assert first["mld_smells"].to_dict() == {
        "base.aarch64.dockerfile": 1, "base.x86_64.dockerfile": 1, "cyber.aarch64.dockerfile": 1,
        "cyber.x86_64.dockerfile": 1, "dev.aarch64.dockerfile": 1, "dev.x86_64.dockerfile": 1,
        "runtime.x86_64.dockerfile.sample": 4, "standalone.x86_64.dockerfile": 6}


def test_smells_over_releases_are_those_of_the_smells_stage(apollo: dict[str, pd.DataFrame]) -> None:
    """Evolution reads a content's facts from the parsed file, the smells stage from parse's
    rows: both give the same MLD findings, for each of apollo's contents."""
    tax, rules = parse.load_taxonomies(REPO_ROOT / "taxonomy"), load_smell_rules(REPO_ROOT / "taxonomy")
    for sha, data in apollo["contents"].items():
        job = parse.FileJob("a/b", "Dockerfile", sha, "dockerfile", data)
        rows = parse.dockerfile_rows(job, "corrected", tax)
        facts = smell_frames.facts_by_file(pd.DataFrame(rows["instructions"]),
                                           pd.DataFrame(rows["base_images"]))[("a/b", "Dockerfile")]
        parsed = parse.parse_bytes(data, "corrected", tax)
        assert smells_core.evaluate(rules, smells_core.facts_of(parsed)) == \
            smells_core.evaluate(rules, facts), sha


def test_apollo_files_never_change_across_releases(apollo: dict[str, pd.DataFrame]) -> None:
    """The corpus holds one content per file for every tag: a 2017 tag ships CUDA 11.1."""
    h = apollo["histories"]
    assert len(h) == 8
    assert set(h["n_releases"]) == {9} and set(h["n_contents"]) == {1}
    assert apollo["changes"].empty and set(h["n_base_image_changes"]) == {0}


def test_changes_between_releases_of_one_file() -> None:
    """A file whose base image moves: rows for each move, by tag date (not by tag name)."""
    rows = [("v2", "2019-01-01T00:00:00Z", "ubuntu:18.04", "ubuntu:18.04", ""),
            ("v10", "2020-01-01T00:00:00Z", "nvidia/cuda:11.1-runtime-ubuntu20.04", "ubuntu:20.04", "11.1"),
            ("v1", "2018-01-01T00:00:00Z", "ubuntu:16.04", "ubuntu:16.04", ""),
            ("v3", "2019-06-01T00:00:00Z", "ubuntu:18.04", "ubuntu:18.04", "")]
    df = pd.DataFrame([{"repo": "a/b", "category": "Model", "path": "Dockerfile", "tag": t,
                        "tag_date": d, "base_image": b, "os_version": o, "cuda_version": c}
                       for t, d, b, o, c in rows])
    ch = build.changes_frame(df)
    assert ch[["from_tag", "to_tag", "from_os_version", "to_os_version"]].values.tolist() == [
        ["v1", "v2", "ubuntu:16.04", "ubuntu:18.04"], ["v3", "v10", "ubuntu:18.04", "ubuntu:20.04"]]
    grid = build.moves(ch)
    assert grid.loc["ubuntu:16.04", "ubuntu:18.04"] == 1
    assert grid.loc["ubuntu:18.04", "cuda 11.1 ubuntu:20.04"] == 1
    assert int(grid.to_numpy().sum()) == 2
    fig = figures.fig_heatmap(grid)
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.get_yticklabels()] == list(grid.index)
    assert sorted(t.get_text() for t in ax.texts) == ["1", "1"]


# -- the stage -----------------------------------------------------------------------------

def _project(root: Path, ingested: Paths) -> Paths:
    p = make_project(root)
    p.interim.mkdir(parents=True)
    for name in ("repos.csv", "repos.csv.meta.json", "source.json"):
        shutil.copy(ingested.interim / name, p.interim / name)
    return p


@pytest.mark.slow
def test_stage_writes_resumes_and_repeats_its_bytes(tmp_path: Path, ingested: Paths) -> None:
    p = _project(tmp_path / "a", ingested)
    counts = evolution.run(p)
    assert {k: counts[k] for k in ("members", "distinct", "parsed", "dockerfile_versions",
                                   "base_image_changes", "dockerfile_histories",
                                   "release_summary", "errors")} == {
        "members": 31594, "distinct": 382, "parsed": 382, "dockerfile_versions": 31594,
        "base_image_changes": 0, "dockerfile_histories": 413, "release_summary": 1579,
        "errors": 76}
    assert evolution.run(p) == {"members": 0, "skipped": 1}
    outputs = [*(p.table("processed", t) for t in evolution.OUTPUT_TABLES),
               *(p.reports / "figures" / f"{f}.{e}" for f in evolution.FIGURES for e in ("png", "pdf"))]
    before = {o.name: o.read_bytes() for o in outputs}
    again = evolution.run(p, force=True)
    assert again["parsed"] == 0  # every content from the cache
    assert {o.name: o.read_bytes() for o in outputs} == before
    meta = json.loads(p.table("processed", "release_summary").with_name(
        "release_summary.csv.meta.json").read_text())
    assert meta["distinct_contents"] == 382 and meta["archive"].endswith("dockerfiles.tar.gz")
    h = read_table("dockerfile_histories", p)
    assert int((h["n_contents"] == 1).sum()) == 413
    cats = repo_categories(read_table("repos", p))
    assert set(read_table("release_summary", p)["category"]) <= set(cats["category"]) | {""}


# -- hostile package files -----------------------------------------------------------------

def _alarm(seconds: int) -> None:
    def boom(*_: object) -> None:
        raise TimeoutError("blocked reading the package")
    signal.signal(signal.SIGALRM, boom)
    signal.alarm(seconds)


def test_unsafe_tag_lists_are_error_rows_never_hangs(tmp_path: Path, shared_package: Path) -> None:
    pkg = tmp_path / "Datasets"
    logs = pkg / corpus.LOGS
    for repo in ("o/fifo", "o/zero", "o/good"):
        (logs / repo).mkdir(parents=True)
    os.mkfifo(logs / "o/fifo/gh_tags.txt")  # opening it for reading would block for ever
    (logs / "o/zero/gh_tags.txt").symlink_to("/dev/zero")  # reading it never ends
    real = shared_package / corpus.LOGS / "1adrianb/face-alignment/gh_tags.txt"
    shutil.copy(real, logs / "o/good/gh_tags.txt")
    errors = ErrorLog("evolution")
    _alarm(20)
    try:
        tags = corpus.read_tags(pkg, errors)
    finally:
        signal.alarm(0)
    assert list(tags) == ["o/good"] and len(tags["o/good"]) == 10
    assert tags["o/good"] == corpus.read_tags(shared_package, ErrorLog("x"))["1adrianb/face-alignment"]
    assert [(r["item"], r["error_type"], r["message"]) for r in errors.rows] == [
        (str(logs / "o/fifo/gh_tags.txt"), "UnsafeFile",
         f"{logs / 'o/fifo/gh_tags.txt'}: a FIFO, not a regular file; not read; its tags are not dated"),
        (str(logs / "o/zero/gh_tags.txt"), "UnsafeFile",
         f"{logs / 'o/zero/gh_tags.txt'}: symbolic link to /dev/zero, outside the package; not followed; "
         "its tags are not dated")]


def test_archive_members_over_the_size_limit_are_skipped(tmp_path: Path) -> None:
    archive = tmp_path / "dockerfiles.tar.gz"
    big = b"#" * (MAX_BYTES + 1)
    small = b"FROM ubuntu:20.04\n"
    with tarfile.open(archive, "w:gz") as tar:
        for name, data in (("samples/o/r/v1/Dockerfile", big), ("samples/o/r/v2/Dockerfile", small)):
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    members, contents = corpus.read_members(archive)
    sha = hashlib.sha256(small).hexdigest()
    assert members == corpus.Members([("samples/o/r/v2/Dockerfile", sha)],
                                     [("samples/o/r/v1/Dockerfile", MAX_BYTES + 1)])
    assert contents == {sha: small}
    errors = ErrorLog("evolution")
    corpus.record_too_large(members, archive, errors)
    assert [r["message"] for r in errors.rows] == [
        f"{archive}:samples/o/r/v1/Dockerfile: {MAX_BYTES + 1} bytes, over parse's limit of {MAX_BYTES}; skipped"]
    corpus.save_member_index(members, "ab" * 32, tmp_path / "cache")
    assert corpus.member_index("ab" * 32, tmp_path / "cache") == members
    assert corpus.archive_sha256(archive) == hashlib.sha256(archive.read_bytes()).hexdigest()
