"""hadolint over the package's per-release corpus, release by release.

``mldock evolution`` lists the corpus' copies in ``dockerfile_versions`` (one row per archive
member: project, file, tag, its content's SHA-256, whether our parser read it as a
Dockerfile); its provenance names the archive.  Each distinct content the parser read is
linted once, through the same per-content cache as the latest copies (most contents are
the same bytes), and ``release_smells`` sums hadolint's DL and SC findings per project and
release.  Contents hadolint cannot parse are ``unparseable``, never 0 smells.
"""

from __future__ import annotations

import hashlib
import json
import logging
import tarfile
import tempfile
from pathlib import Path
from typing import Any

import pandas as pd

from ..config import Paths
from ..core.dockerfile import MAX_BYTES
from ..executor import Scheduler
from ..progress import Progress, no_progress
from ..schemas import TABLES
from ..tables import ErrorLog, read_table
from . import frames as F
from . import hadolint as H

log = logging.getLogger(__name__)

VERSIONS = "dockerfile_versions"


def corpus_versions(p: Paths) -> tuple[pd.DataFrame, Path] | None:
    """evolution's copies our parser read as Dockerfiles and the archive they are in; None
    when evolution has not run."""
    t = p.table("processed", VERSIONS)
    if not t.exists():
        log.info("smells: no %s table; the per-release corpus is not linted (run mldock evolution)",
                 VERSIONS)
        return None
    v = read_table(VERSIONS, p)
    meta = json.loads(t.with_name(t.name + ".meta.json").read_text(encoding="utf-8"))
    return v[v["parse_status"] != "error"].reset_index(drop=True), Path(str(meta["archive"]))


def extract(archive: Path, wanted: dict[str, str], dest: Path, errors: ErrorLog) -> dict[str, Path]:
    """Write the member of each wanted content (member name -> SHA-256) under ``dest``;
    a member that is too large or whose bytes do not hash to its row is an error row."""
    out: dict[str, Path] = {}
    try:
        with tarfile.open(archive, "r:*") as tar:
            for m in tar:
                sha = wanted.get(m.name)
                if sha is None or sha in out or not m.isfile():
                    continue
                fh = tar.extractfile(m) if m.size <= MAX_BYTES else None
                data = fh.read() if fh is not None else b""
                if hashlib.sha256(data).hexdigest() != sha:
                    errors.add(f"{archive}:{m.name}", "CorpusChanged",
                               f"{m.name}: not the content dockerfile_versions names; rerun mldock evolution")
                    continue
                out[sha] = dest / sha
                out[sha].write_bytes(data)
    except (OSError, tarfile.TarError) as exc:
        errors.add(str(archive), exc, f"cannot read the per-release archive {archive}: {exc}")
    return out


def lint_corpus(p: Paths, exe: Path, config: Path, cache: H.Cache, errors: ErrorLog,
                batch: int = 64, workers: int = 2, progress: Progress = no_progress,
                sched: Scheduler | None = None) -> tuple[pd.DataFrame, H.Linted]:
    """``release_smells`` and hadolint's outcome per distinct content of the corpus."""
    got = corpus_versions(p)
    if got is None:
        return pd.DataFrame(columns=TABLES["release_smells"].column_names), H.Linted()
    versions, archive = got
    firsts = versions.drop_duplicates("sha256")
    todo = {m: s for m, s in zip(firsts["member"], firsts["sha256"], strict=True)
            if cache.get(s) is None}
    p.cache.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="mldock-corpus-", dir=p.cache) as tmp:
        files = extract(archive, todo, Path(tmp), errors) if todo else {}
        cached = [(s, Path(tmp, "in-cache")) for s in firsts["sha256"] if s not in todo.values()]
        linted = H.lint([*cached, *sorted(files.items())], exe, config, cache, batch, workers,
                        progress, sched)
    return releases_frame(versions, per_content(linted)), linted


def per_content(linted: H.Linted) -> pd.DataFrame:
    """One row per content: hadolint's status and its DL and SC findings."""
    rows: list[dict[str, Any]] = []
    for sha, found in linted.findings.items():
        bad = H.unparseable(found)
        fams = [F.family(str(r.get("code", ""))) for r in H.iter_rows(found)] if not bad else []
        rows.append({"sha256": sha, "status": "unparseable" if bad else "ok",
                     "dl": fams.count("DL"), "sc": fams.count("SC")})
    rows += [{"sha256": sha, "status": "failed", "dl": 0, "sc": 0} for sha in linted.failed]
    return pd.DataFrame(rows, columns=["sha256", "status", "dl", "sc"])


def releases_frame(versions: pd.DataFrame, contents: pd.DataFrame) -> pd.DataFrame:
    """``release_smells``: per project and release, its Dockerfiles, how many hadolint could
    not parse, and DL and SC smells per Dockerfile it parsed."""
    v = versions.merge(contents, on="sha256", how="left").fillna({"status": "failed"})
    ok = v[v["status"] == "ok"]
    keys = ["repo", "tag"]
    out = v.groupby(keys).agg(category=("category", "first"), tag_date=("tag_date", "first"),
                              n_dockerfiles=("path", "size"))
    out["n_unparseable"] = v[v["status"] == "unparseable"].groupby(keys).size()
    out["n_failed"] = v[v["status"] == "failed"].groupby(keys).size()
    out = out.join(ok.groupby(keys).agg(dl_per_dockerfile=("dl", "mean"),
                                        sc_per_dockerfile=("sc", "mean"))).reset_index()
    out = out.fillna({"n_unparseable": 0, "n_failed": 0, "category": ""})
    out = out.astype({"n_unparseable": int, "n_failed": int})
    out = out[TABLES["release_smells"].column_names]
    return out.sort_values(["repo", "tag_date", "tag"], kind="stable").reset_index(drop=True)
