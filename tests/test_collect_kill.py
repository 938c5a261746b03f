"""Killing the collector (SIGKILL) mid-run and restarting it loses and repeats nothing."""

from __future__ import annotations

import os
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from .conftest import REPO_ROOT, make_project
from .fakegithub import FakeServer
from .test_collect import KEYWORDS, TABLES, TOKEN, tables


def start(root: Path, srv: FakeServer) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if k not in ("MLDOCK_HOME", "GITHUB_TOKEN")}
    env.update({"GITHUB_API_URL": srv.api, "DOCKERHUB_URL": srv.hub, "GITHUB_TOKEN": TOKEN})
    cmd = [sys.executable, "-m", "pipeline.cli", "--root", str(root), "-q", "collect",
           "--keywords", KEYWORDS, "--backoff", "0", "--throttle", "0"]
    return subprocess.Popen(cmd, cwd=REPO_ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)


@pytest.mark.slow
def test_sigkill_mid_run_then_resume_equals_uninterrupted(tmp_path: Path) -> None:
    srv = FakeServer().start()
    holder: dict[str, Any] = {}
    try:
        ref = make_project(tmp_path / "ref").root
        proc = holder["proc"] = start(ref, srv)
        out, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err.decode()
        assert b"metadata: 2 requests" in err and b"search: 2 keywords, 17 slices, 30 unique" in err
        assert b"metadata + file listing: 24 requests for 30 candidates = 0.80 per candidate" in err
        ref_keys = [e["key"] for e in srv.log if e["status"] > 0]  # 200s and final 404s
        assert len(ref_keys) == len(set(ref_keys)) == 136

        root = make_project(tmp_path / "killed").root
        base = len(srv.log)
        kill_at = {base + 20, base + 100}  # during the search; during Docker Hub matching

        def hook(index: int, method: str, path: str) -> str | None:
            if index in kill_at:
                holder["proc"].kill()
                holder["proc"].wait()
                return "drop"
            return None

        srv.hook = hook
        codes = []
        for _ in range(3):
            holder["proc"] = start(root, srv)
            _, err = holder["proc"].communicate(timeout=120)
            codes.append(holder["proc"].returncode)
            if codes[-1] == 0:
                break
        assert codes == [-9, -9, 0], err.decode()
        srv.hook = None
        log = srv.log[base:]
        served = [e["key"] for e in log if e["status"] > 0]
        assert [k for k, n in Counter(served).items() if n > 1] == []  # nothing finished was requested again
        assert sorted(served) == sorted(ref_keys)  # and nothing is missing
        dropped = [e["key"] for e in log if e["status"] == 0]
        assert len(dropped) == 2 and set(dropped) <= set(served)
        assert "/api/search/repositories" in dropped[0] and "/hub/v2/" in dropped[1]
        secret = TOKEN.encode()
        assert secret not in err and not [f for f in root.rglob("*") if f.is_file() and secret in f.read_bytes()]
        got, want = tables(root), tables(ref)
        for t in TABLES:
            pd.testing.assert_frame_equal(got[t], want[t], obj=t)
            assert not got[t].duplicated().any()
        assert sorted(p.name for p in (root / "data/raw/files").rglob("*") if p.is_file()) == sorted(
            p.name for p in (ref / "data/raw/files").rglob("*") if p.is_file())
    finally:
        child = holder.get("proc")
        if child is not None and child.poll() is None:  # a failed assertion mid-run: stop it by its pid
            child.kill()
            child.wait()
        srv.stop()
