"""The environment checks: ``make verify`` (publish.verify) and ``make check-dockerfile``
(scripts/check_dockerfile.py) on the project's own Dockerfile and on broken ones."""

from __future__ import annotations

import importlib.util
import json
import shutil
from pathlib import Path
from types import ModuleType

import pytest

from pipeline import publish as P
from pipeline.config import Paths
from tests.conftest import REPO_ROOT, make_project


def _script(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, REPO_ROOT / "scripts" / f"{name}.py")
    assert spec and spec.loader
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


CHECK = _script("check_dockerfile")
TAXONOMY = REPO_ROOT / "taxonomy"


@pytest.fixture
def published(ingested: Paths, tmp_path: Path) -> Paths:
    """A root with the ingested interim tables (repos, funnel, files), published."""
    p = make_project(tmp_path / "root")
    shutil.copytree(ingested.interim, p.interim)
    P.publish(p)
    return p


def test_verify_passes_on_a_fresh_publish(published: Paths) -> None:
    checked, problems = P.verify(published)
    assert (checked, problems) == (["CITATION.cff", "files.csv", "funnel.csv", "repos.csv"], [])


def test_verify_catches_a_changed_or_missing_data_citation(published: Paths) -> None:
    cff = published.data / "published" / "CITATION.cff"
    cff.write_text(cff.read_text().replace("type: dataset", "type: software"))
    assert P.verify(published)[1] == ["CITATION.cff: differs from the one a fresh publish writes"]
    cff.unlink()
    assert P.verify(published)[1] == ["CITATION.cff: missing from the published data"]


def test_verify_catches_a_changed_published_file(published: Paths) -> None:
    f = published.data / "published" / "funnel.csv"
    f.write_bytes(f.read_bytes() + b"\n")
    want = json.loads((published.data / "published" / "datapackage.json").read_text())
    recorded = next(r["hash"] for r in want["resources"] if r["path"] == "funnel.csv")
    _, problems = P.verify(published)
    assert len(problems) == 1
    assert problems[0].startswith("funnel.csv: published file is sha256:")
    assert problems[0].endswith(f"datapackage.json says {recorded}")


def test_verify_catches_tables_that_no_longer_match(published: Paths) -> None:
    src = published.interim / "repos.csv"
    src.write_bytes(src.read_bytes().replace(b"\n", b"\r\n", 1))
    (published.interim / "funnel.csv").unlink()
    _, problems = P.verify(published)
    assert problems[0] == "funnel.csv: published but not rebuilt from the current tables"
    assert [x.split(" file is")[0] for x in problems[1:]] == ["repos.csv: rebuilt"]


def test_verify_without_a_published_package(tmp_path: Path) -> None:
    p = make_project(tmp_path / "root")
    checked, problems = P.verify(p)
    assert checked == []
    assert problems == [f"{p.data / 'published' / 'datapackage.json'} missing: run mldock publish"]


def test_the_projects_dockerfile_parses_cleanly() -> None:
    assert CHECK.dockerfile_problems(REPO_ROOT / "Dockerfile", TAXONOMY) == []


def test_the_projects_dockerfile_is_multi_stage_pinned_and_non_root() -> None:
    from pipeline import parse

    data = (REPO_ROOT / "Dockerfile").read_bytes()
    job = parse.FileJob("mldock", "Dockerfile", "", "dockerfile", data)
    rows = parse.dockerfile_rows(job, "corrected", parse.load_taxonomies(TAXONOMY))
    assert rows["dockerfiles"][0]["n_stages"] == 3
    text = data.decode()
    digest = "sha256:a36c24f9cbdf4fd0f52d67f0823eeac19c2028c637cecc392d97f980d4fec56b"
    assert f"ARG PYTHON_IMAGE=python:3.11-slim-bookworm@{digest}\n" in text
    users = [i["value"] for i in rows["instructions"] if i["instruction"] == "USER"]
    assert users == ["10001", "10001"]
    entry = [i["value"] for i in rows["instructions"] if i["instruction"] == "ENTRYPOINT"]
    assert entry[-1] == '["mldock"]'


@pytest.mark.parametrize(("text", "expected"), [
    ("FROM python:3.11\nFOO bar\n",
     "DockerfileError: [corrected] not a Dockerfile: 1 of 2 instructions are unknown"),
    ("RUN echo hi\n", "DockerfileError: [corrected] not a Dockerfile: no FROM instruction"),
    ("FROM python:3.11\nRUN --mount=type=cache,target=/root/.cache pip install x\n",
     "Dockerfile:2: BuildKit-only syntax in RUN"),
    ("FROM python:3.11\nRUN <<EOT\necho hi\nEOT\n", "Dockerfile:2: BuildKit-only syntax in RUN"),
])
def test_check_dockerfile_reports_problems(tmp_path: Path, text: str, expected: str) -> None:
    f = tmp_path / "Dockerfile"
    f.write_text(text)
    problems = CHECK.dockerfile_problems(f, TAXONOMY)
    assert problems, text
    assert expected in problems[0].replace(str(tmp_path) + "/", "")
    assert CHECK.main([str(f)]) == 1
