"""scripts/ensure-system-deps, run with a fake PATH: the commands it would call are stubs that
record their arguments, so no package is installed and no process is stopped here."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from tests.conftest import REPO_ROOT

SCRIPT = REPO_ROOT / "scripts" / "ensure-system-deps"
BASH = "/bin/bash"
INSTALL_LINE = ("ensure-system-deps: the tests need the Debian package(s) docker-registry; "
                "install with: sudo apt-get install --no-install-recommends docker-registry")


def stub(bindir: Path, name: str, body: str = "") -> None:
    f = bindir / name
    f.write_text(f'#!{BASH}\necho "{name} $*" >> "$CALLS"\n{body}\n', encoding="utf-8")
    f.chmod(0o755)


@pytest.fixture
def fake(tmp_path: Path) -> dict[str, Path]:
    """A PATH with only stubs: ``id`` says root, ``apt-get``/``service`` record calls."""
    bindir = tmp_path / "bin"
    bindir.mkdir()
    stub(bindir, "id", "echo 0")
    stub(bindir, "apt-get")
    stub(bindir, "service")
    return {"bin": bindir, "calls": tmp_path / "calls.log", "pidfile": tmp_path / "reg.pid",
            "systemd": tmp_path / "no-systemd"}


def run(fake: dict[str, Path], *args: str) -> subprocess.CompletedProcess[str]:
    env = {"PATH": str(fake["bin"]), "CALLS": str(fake["calls"]),
           "MLDOCK_REGISTRY_PIDFILE": str(fake["pidfile"]),
           "MLDOCK_SYSTEMD_DIR": str(fake["systemd"])}
    return subprocess.run([BASH, str(SCRIPT), *args], env=env, capture_output=True, text=True,
                          timeout=30, check=False)


def calls(fake: dict[str, Path]) -> list[str]:
    """Calls of the stubs other than ``id``."""
    if not fake["calls"].exists():
        return []
    return [c for c in fake["calls"].read_text().splitlines() if not c.startswith("id")]


def test_installed_and_not_running_is_a_no_op(fake: dict[str, Path]) -> None:
    stub(fake["bin"], "docker-registry")
    res = run(fake)
    assert (res.returncode, res.stdout, res.stderr) == (0, "", "")
    assert calls(fake) == []


def test_missing_as_root_installs_with_apt(fake: dict[str, Path]) -> None:
    res = run(fake, "docker-registry")
    assert res.returncode == 0, res.stderr
    assert res.stdout == "ensure-system-deps: installing docker-registry\n"
    assert calls(fake) == ["apt-get update -qq",
                           "apt-get install -y -qq --no-install-recommends docker-registry"]


def test_only_missing_packages_are_installed(fake: dict[str, Path]) -> None:
    stub(fake["bin"], "chromium")
    res = run(fake, "chromium", "chromium-driver")
    assert res.returncode == 0, res.stderr
    assert calls(fake)[-1] == "apt-get install -y -qq --no-install-recommends chromium-driver"


def test_missing_without_root_says_what_to_run_in_one_line(fake: dict[str, Path]) -> None:
    stub(fake["bin"], "id", "echo 1000")
    res = run(fake)
    assert res.returncode == 1
    assert res.stderr == INSTALL_LINE + "\n"
    assert calls(fake) == []


def test_missing_as_root_without_apt_says_what_to_run(fake: dict[str, Path]) -> None:
    (fake["bin"] / "apt-get").unlink()
    res = run(fake)
    assert (res.returncode, res.stderr) == (1, INSTALL_LINE + "\n")


def test_dry_run_prints_the_commands_and_runs_none(fake: dict[str, Path]) -> None:
    res = run(fake, "--dry-run")
    assert res.returncode == 0
    assert res.stdout.splitlines() == [
        "ensure-system-deps: installing docker-registry",
        "would run: apt-get update -qq",
        "would run: apt-get install -y -qq --no-install-recommends docker-registry"]
    assert calls(fake) == []


def test_running_packaged_registry_is_stopped_through_its_service(fake: dict[str, Path]) -> None:
    stub(fake["bin"], "docker-registry")
    fake["pidfile"].write_text(f"{os.getpid()}\n")  # a live pid; the stub stops nothing
    res = run(fake)
    assert res.returncode == 0, res.stderr
    assert calls(fake) == ["service docker-registry stop"]
    assert f"(pid {os.getpid()} from {fake['pidfile']})" in res.stdout


def test_without_service_command_the_pid_from_the_pid_file_is_signalled(
        fake: dict[str, Path]) -> None:
    stub(fake["bin"], "docker-registry")
    (fake["bin"] / "service").unlink()
    fake["pidfile"].write_text(f"{os.getpid()}\n")
    res = run(fake, "--dry-run")  # dry run: the kill is printed, not sent
    assert res.stdout.splitlines()[-1] == f"would run: kill {os.getpid()}"


def test_stale_or_garbled_pid_file_stops_nothing(fake: dict[str, Path]) -> None:
    stub(fake["bin"], "docker-registry")
    for content in ("not-a-pid\n", "999999999\n"):  # the second is above Linux's pid_max
        fake["pidfile"].write_text(content)
        res = run(fake)
        assert (res.returncode, res.stdout) == (0, "")
    assert calls(fake) == []


def test_under_systemd_an_active_unit_is_stopped(fake: dict[str, Path]) -> None:
    stub(fake["bin"], "docker-registry")
    fake["systemd"].mkdir()
    stub(fake["bin"], "systemctl")  # exits 0: "is-active" says active
    res = run(fake)
    assert res.returncode == 0, res.stderr
    assert calls(fake) == ["systemctl is-active --quiet docker-registry",
                           "systemctl stop docker-registry"]
    stub(fake["bin"], "systemctl", "exit 3")  # inactive: nothing to stop
    fake["calls"].unlink()
    assert run(fake).stdout == ""
    assert calls(fake) == ["systemctl is-active --quiet docker-registry"]


def test_unknown_package_is_refused(fake: dict[str, Path]) -> None:
    res = run(fake, "docker-registri")
    assert res.returncode == 2
    assert "unknown package 'docker-registri'" in res.stderr
