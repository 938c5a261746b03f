"""Shared fixtures: the replication package beside the project and an ingested project root."""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from pipeline.config import Paths

pytest_plugins = ["pytester"]  # tests/test_house.py runs a small inner session

REPO_ROOT = Path(__file__).resolve().parents[1]
FIXTURES = Path(__file__).resolve().parent / "fixtures"


def _shared_package() -> Path:
    env = os.environ.get("MLDOCK_REPLICATION")
    if env:
        return Path(env)
    return REPO_ROOT.parent / "shared" / "ease2022"


@pytest.fixture(scope="session")
def shared_package() -> Path:
    """The study's replication data (``../shared/ease2022``); required, never skipped."""
    p = _shared_package()
    assert (p / "RQ1" / "manual-labeling.csv").exists(), f"replication package missing at {p}"
    return p


_LOG = logging.getLogger("pipeline")
_PRISTINE = (_LOG.handlers[:], _LOG.level, _LOG.propagate)


@pytest.fixture(autouse=True)
def _pipeline_logging() -> Iterator[None]:
    """After every test the ``pipeline`` logger is as it was when the session began.

    ``mldock`` (``pipeline.cli.setup_logging``) installs its own handler and level, in a
    test or in a module fixture that runs the CLI; without this they would pass on to
    every later test.
    """
    yield
    _LOG.handlers[:], _LOG.level, _LOG.propagate = _PRISTINE[0][:], _PRISTINE[1], _PRISTINE[2]


def make_project(root: Path) -> Paths:
    """An empty project root whose taxonomy/, notebooks/ and targets/ point at the checkout's."""
    root.mkdir(parents=True, exist_ok=True)
    for name in ("taxonomy", "notebooks", "targets"):
        link = root / name
        if not link.exists():
            link.symlink_to(REPO_ROOT / name, target_is_directory=True)
    (root / "pyproject.toml").touch()
    (root / "pipeline").mkdir(exist_ok=True)
    return Paths(root)


@pytest.fixture(scope="session")
def ingested(tmp_path_factory: pytest.TempPathFactory, shared_package: Path) -> Paths:
    """A project root where ``mldock ingest`` has run on the shared package (session-wide).

    Treat it as read-only; stages that write should use their own root (``make_project``).
    """
    from pipeline import ingest

    p = make_project(tmp_path_factory.mktemp("ingested"))
    ingest.run(str(shared_package), p)
    return p


@pytest.fixture(scope="session")
def classified(ingested: Paths, tmp_path_factory: pytest.TempPathFactory) -> Paths:
    """A project root (session-wide, read-only) with the ingested interim tables and parse's
    corrected-mode tables,
    after `mldock classify` run with data/raw/ removed (classify reads no raw file)."""
    import shutil

    from pipeline import parse
    from pipeline.cli import main

    p = make_project(tmp_path_factory.mktemp("classified"))
    p.data.mkdir()
    (p.data / "raw").symlink_to(ingested.data / "raw", target_is_directory=True)
    shutil.copytree(ingested.interim, p.interim)
    parse.run(p, ("corrected",), workers=2)
    (p.data / "raw").unlink()
    assert main(["-q", "--root", str(p.root), "classify"]) == 0
    return p
