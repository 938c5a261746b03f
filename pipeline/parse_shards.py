"""Sharded tables for the corpus path: workers write, the stage merges in key order.

Each partition of work items (contiguous in the sorted item list) is parsed by
:func:`shard_partition`, which writes one CSV shard a table (the partition's rows, in item
order, formatted exactly as :func:`pipeline.tables.write_table` formats them, without the
header) to a scratch folder of the stage's output set, and returns only a
:class:`ShardSummary`: the shard paths, the row counts, the error rows and the counts
the share tables need.  :func:`merge` appends the shards in partition order to the
final tables, so the client's memory does not grow with the tables and the bytes do not
depend on the scheduler, the number of workers or the partition size.

The scratch folder is inside ``data/.staging/<stage>/``: never committed, and dropped with
the staging folder -- a killed run's shards are discarded at the next start, and every
run writes to a fresh folder, so they can never be merged into a rerun.
"""

from __future__ import annotations

import contextlib
import functools
import io
import os
import shutil
import uuid
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

import pandas as pd

from . import parse
from .config import Paths
from .executor import DEFAULT_PARTITION, Scheduler, map_partitions
from .outputs import scratch_dir
from .progress import Progress, no_progress
from .schemas import TABLES as SCHEMAS
from .tables import ErrorLog, atomic_path, conform, write_sidecar

ROW_TABLES = parse.OUTPUT_TABLES[:5]  # dockerfiles, instructions, base_images, run_commands, compose


@dataclass
class ShardSummary:
    """What a partition gives back: shards (or, for a poisoned item, its rows inline)."""

    shards: dict[str, str] = field(default_factory=dict)
    inline: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    rows: Counter[str] = field(default_factory=Counter)
    read: int = 0
    read_errors: list[dict[str, str]] = field(default_factory=list)
    errors: list[dict[str, str]] = field(default_factory=list)
    instr_total: Counter[tuple[str, str]] = field(default_factory=Counter)
    instr_kept: Counter[tuple[str, str, str]] = field(default_factory=Counter)
    run_known: Counter[tuple[str, str, str]] = field(default_factory=Counter)


def csv_rows(name: str, rows: list[dict[str, Any]]) -> str:
    """``rows`` as ``write_table`` writes them (schema dtypes), without the header."""
    frame = conform(pd.DataFrame(rows, columns=SCHEMAS[name].column_names), SCHEMAS[name])
    buf = io.StringIO(newline="")
    frame.to_csv(buf, index=False, header=False)
    return buf.getvalue()


def header(name: str) -> str:
    """The header line ``write_table`` writes for table ``name``."""
    frame = conform(pd.DataFrame([], columns=SCHEMAS[name].column_names), SCHEMAS[name])
    return frame.to_csv(index=False)


def _count(summary: ShardSummary, rows: dict[str, list[dict[str, Any]]], run_ids: set[str]) -> None:
    for r in rows.get("instructions", []):
        summary.instr_total[(r["mode"], r["repo"])] += 1
        if r["instruction"] in parse.PLOTTED_INSTRUCTIONS:
            summary.instr_kept[(r["mode"], r["repo"], r["instruction"])] += 1
    for r in rows.get("run_commands", []):
        if r["category"] in run_ids:
            summary.run_known[(r["mode"], r["repo"], r["category"])] += 1


def summarise(results: Iterable[parse.Result], run_ids: set[str]) -> tuple[ShardSummary, dict[str, list[dict[str, Any]]]]:
    """The summary and the rows per table of a partition's results (in order)."""
    s = ShardSummary()
    rows: dict[str, list[dict[str, Any]]] = {t: [] for t in ROW_TABLES}
    for res in results:
        if "read_errors" in res:
            s.read_errors += res["read_errors"]
            continue
        s.read += 1
        for k, v in res.items():
            if k == "errors":
                s.errors += v
            else:
                rows[k] += v
    _count(s, rows, run_ids)
    s.rows.update({k: len(v) for k, v in rows.items()})
    return s, rows


def shard_partition(taxonomy_dir: str, folder: str, items: list[parse.WorkItem]) -> list[ShardSummary | None]:
    """The executor's function: parse the partition, write its shards under ``folder``;
    the summary stands for the first item, ``None`` for the others."""
    tax = parse._taxonomies(taxonomy_dir)
    results = [parse.parse_item(i, tax) for i in items]
    return write_shards(folder, results, set(tax.run.ids))


def write_shards(folder: str, results: list[parse.Result], run_ids: set[str]) -> list[ShardSummary | None]:
    """The shards of one partition's ``results`` (one per item) and its summary list."""
    summary, rows = summarise(results, run_ids)
    stem = uuid.uuid4().hex
    for name, table_rows in rows.items():
        if not table_rows:
            continue
        target = Path(folder) / f"{stem}.{name}.csv"
        # scratch: not synced, never renamed -- a partition's shards are merged only once
        # its summary came back, and a killed run's are dropped with the staging folder
        with open(target, "w", encoding="utf-8", newline="") as fh:
            fh.write(csv_rows(name, table_rows))
        summary.shards[name] = str(target)
    return [summary, *([None] * (len(results) - 1))]


def poisoned(run_ids: set[str], item: parse.WorkItem, exc: BaseException) -> ShardSummary:
    """The summary of an item that failed alone: its error rows inline."""
    summary, rows = summarise([parse.poisoned(item, exc)], run_ids)
    summary.inline = {k: v for k, v in rows.items() if v}
    return summary


@dataclass
class Merged:
    """The merged tables' row counts, the error rows and the share counts."""

    rows: Counter[str] = field(default_factory=Counter)
    read: int = 0
    totals: ShardSummary = field(default_factory=ShardSummary)


def merge(p: Paths, out: Path, summaries: Iterable[ShardSummary | None], errors: ErrorLog) -> Merged:
    """Append every shard, in order, to ``out/<table>.csv``; errors into ``errors``
    (unreadable files first, as :func:`pipeline.parse.collect_rows` orders them)."""
    merged = Merged()
    later: list[dict[str, str]] = []
    with contextlib.ExitStack() as stack:
        files: dict[str, BinaryIO] = {}
        for name in ROW_TABLES:
            fh = stack.enter_context(atomic_path(out / f"{name}.csv", "wb"))
            fh.write(header(name).encode("utf-8"))
            files[name] = fh
        for s in summaries:
            if s is None:
                continue
            _append(s, files)
            for e in s.read_errors:
                errors.add(e["item"], e["error_type"], e["message"])
            later += s.errors
            merged.rows.update(s.rows)
            merged.read += s.read
            for attr in ("instr_total", "instr_kept", "run_known"):
                getattr(merged.totals, attr).update(getattr(s, attr))
    for e in later:
        errors.add(e["item"], e["error_type"], e["message"])
    for name in ROW_TABLES:
        write_sidecar(p, SCHEMAS[name], merged.rows[name], out / f"{name}.csv")
    return merged


def _append(s: ShardSummary, files: dict[str, BinaryIO]) -> None:
    for name, path in s.shards.items():
        with open(path, "rb") as src:
            shutil.copyfileobj(src, files[name], 1 << 20)
        os.unlink(path)
    for name, rows in s.inline.items():
        files[name].write(csv_rows(name, rows).encode("utf-8"))


def shares(counts: Counter[tuple[str, str, str]], totals: Counter[tuple[str, str]], what: str) -> pd.DataFrame:
    """``instruction_shares`` / ``run_category_shares`` from the merged counts (same rows)."""
    cols = ["mode", "repo", what, "count", "total", "percentage"]
    rows = [(m, r, k, c, totals[(m, r)]) for (m, r, k), c in counts.items()]
    out = pd.DataFrame(rows, columns=cols[:5])
    if out.empty:
        return pd.DataFrame(columns=cols)
    out["percentage"] = 100.0 * out["count"] / out["total"]
    return out[cols].sort_values(["mode", "repo", what]).reset_index(drop=True)


def run_sharded(p: Paths, out: Path, items: list[parse.WorkItem], errors: ErrorLog,
                sched: Scheduler | None, partition_size: int = DEFAULT_PARTITION,
                progress: Progress = no_progress) -> tuple[Merged, dict[str, pd.DataFrame]]:
    """Parse ``items`` into sharded tables under ``out``; returns the merge and the shares."""
    tax = parse.load_taxonomies(p.taxonomy)
    run_ids = set(tax.run.ids)
    folder = scratch_dir(f"shards-{uuid.uuid4().hex[:12]}", p, parse.STAGE)
    fn = functools.partial(shard_partition, str(p.taxonomy), str(folder))
    results: Iterator[ShardSummary | None] = map_partitions(
        fn, items, sched=sched, partition_size=partition_size,
        poisoned=functools.partial(poisoned, run_ids), progress=progress, desc="parse", unit="file")
    merged = merge(p, out, results, errors)
    t = merged.totals
    run_totals: Counter[tuple[str, str]] = Counter()
    for (m, r, _), c in t.run_known.items():
        run_totals[(m, r)] += c
    frames = {"instruction_shares": shares(t.instr_kept, t.instr_total, "instruction"),
              "run_category_shares": shares(t.run_known, run_totals, "category")}
    return merged, frames
