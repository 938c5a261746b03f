"""The two policies: each study quirk answers differently in paper and corrected mode."""

from __future__ import annotations

import pytest

from pipeline.config import paths
from pipeline.core import modes
from pipeline.core.modes import CORRECTED, PAPER, policy
from pipeline.taxonomy import load_run_taxonomy


def test_names_and_orders() -> None:
    assert modes.MODE_NAMES == ("corrected", "paper")
    assert [m.name for m in modes.SHOWN] == ["paper", "corrected"]
    assert policy("paper") is PAPER and policy("corrected") is CORRECTED
    with pytest.raises(ValueError, match="unknown mode 'both'"):
        policy("both")


@pytest.mark.parametrize(("name", "kind", "paper", "corrected"), [
    ("Dockerfile", "dockerfile", "dockerfile", "dockerfile"),
    ("mode-dockerfile.js", "not_dockerfile", "dockerfile", None),
    ("docker-compose.yml", "compose", "compose", "compose"),
    ("compose.yaml", "compose", None, "compose"),
    ("docker-compose.dockerfile", "dockerfile", "dockerfile", "dockerfile"),
])
def test_file_selection(name: str, kind: str, paper: str | None, corrected: str | None) -> None:
    assert PAPER.parse_as(name, kind) == paper
    assert CORRECTED.parse_as(name, kind) == corrected
    # a file collected for the orchestration signals only is never parsed
    assert PAPER.parse_as(name, kind, "orchestration") is None
    assert CORRECTED.parse_as(name, kind, "orchestration") is None


def test_command_categories() -> None:
    run = load_run_taxonomy(paths().taxonomy)
    # the study's table puts `install` under Build/Execute (OR §4.3 #12)
    assert PAPER.command_category("install", run) == "Build/Execute"
    assert PAPER.command_category("/usr/bin/pip3", run) == "unknown"
    assert CORRECTED.command_category("/usr/bin/pip3", run) == "Dependencies"
    assert PAPER.token_keywords(run) is run.paper
    assert CORRECTED.token_keywords(run) is None


def test_image_quirks() -> None:
    assert PAPER.repos_of_image(["a/x", "b/y"]) == ["a/x"]
    assert CORRECTED.repos_of_image(["a/x", "b/y"]) == ["a/x", "b/y"]
    assert PAPER.per_repo([1000, 3000]) == 4000.0
    assert CORRECTED.per_repo([1000, 3000]) == 2000.0
    assert PAPER.per_repo([]) is None
    assert PAPER.rootfs("sha256:a/sha256:b") == 2
    assert PAPER.rootfs("") == 1  # the study's off-by-one on an empty list
    assert CORRECTED.rootfs("") == 0
    # convert_size drops the unit: 11,635 bytes and 11.36 MiB both print 11.36
    assert PAPER.config_size(11635) == 11.36
    assert PAPER.config_size(11.36 * 1024 * 1024) == 11.36
    assert CORRECTED.config_size(11635) == 11.36
    assert CORRECTED.config_size(11.36 * 1024 * 1024) == 11632.64
