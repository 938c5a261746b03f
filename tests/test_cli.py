"""The mldock command: every stage has --help and is documented; make lists its targets."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from pipeline.cli import STAGES, main

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("command", sorted(STAGES))
def test_stage_help(command: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main([command, "--help"]) == 0
    out = capsys.readouterr().out
    assert out.startswith(f"Usage: mldock {command}")
    assert "not available yet" not in out


@pytest.mark.parametrize("command", sorted(STAGES))
def test_stage_documented_in_readme(command: str) -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert f"mldock {command}" in readme


def test_top_level_help_lists_stages(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--help"]) == 0
    out = capsys.readouterr().out
    for command in STAGES:
        assert f"  {command} " in out


def test_unknown_command_fails(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["frobnicate"]) == 2
    assert "No such command" in capsys.readouterr().err


def test_make_lists_targets() -> None:
    out = subprocess.run(["make", "-s", "-C", str(ROOT)], capture_output=True, text=True, check=True).stdout
    for target in ("setup", "reproduce", "ingest", "parse", "classify", "images", "report",
                   "publish", "test", "lint", "bench", "search", "filter", "extract"):
        assert f"make {target} " in out, target
