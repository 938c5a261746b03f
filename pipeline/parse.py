"""Parse stage (RQ3): Dockerfiles and compose files into tidy tables, in two modes.

``mldock parse --mode {corrected,paper,both}`` reads ``data/interim/files.csv`` and the
file copies it points at, and writes (both modes in the same files, tagged by ``mode``):
``dockerfiles``, ``instructions``, ``base_images``, ``run_commands``, ``compose_services``,
``instruction_shares`` (Figure 3a inputs) and ``run_category_shares`` (Figure 3b inputs)
under ``data/processed/``; unreadable files go to ``data/interim/parse_errors.csv``.

File selection per mode:
- ``corrected``: files whose content was recognised as a Dockerfile or compose file
  (``files.kind``);
- ``paper``: the study's name rules (``'dockerfile' in name.lower()`` whatever the content;
  compose files by ``'docker-compose' in name.lower()``).

The pure core is :mod:`pipeline.core.dockerfile` (taxonomies: :mod:`pipeline.core.taxonomy`); the share formulas (study.md §4.2-4.3) are the
pure functions :func:`instruction_shares` and :func:`run_category_shares`.
"""

from __future__ import annotations

import functools
import hashlib
import json
import logging
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from .config import Paths
from .core import compose
from .core import dockerfile as df_core
from .core import orchestration as orch
from .core import taxonomy as tax_core
from .core.modes import MODE_NAMES, policy
from .executor import DEFAULT_PARTITION, Scheduler, failure_code, failure_text, map_partitions
from .outputs import writes_set
from .progress import Progress, no_progress
from .schemas import TABLES
from .tables import ErrorLog, fingerprint_unchanged, raw_copy, read_table, write_table
from .taxonomy import load_base_image_types, load_orchestration, load_run_taxonomy

log = logging.getLogger(__name__)

STAGE = "parse"
MODES = MODE_NAMES
OUTPUT_TABLES = ("dockerfiles", "instructions", "base_images", "run_commands",
                 "compose_services", "instruction_shares", "run_category_shares",
                 "orchestration_signals")
PLOTTED_INSTRUCTIONS = df_core.PLOTTED_INSTRUCTIONS


# ---------------------------------------------------------------------------------------
# taxonomies
# ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Taxonomies:
    run: tax_core.RunTaxonomy
    base: tax_core.BaseImageTypes


def load_taxonomies(taxonomy_dir: Path) -> Taxonomies:
    """Load and validate ``run_commands.yaml`` and ``base_image_types.yaml``."""
    return Taxonomies(load_run_taxonomy(taxonomy_dir), load_base_image_types(taxonomy_dir))


# ---------------------------------------------------------------------------------------
# one file -> rows (pure apart from the taxonomy argument)
# ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class FileJob:
    repo: str
    path: str
    sha256: str
    kind: str  # parsed as: "dockerfile" or "compose"
    data: bytes


_CACHE: dict[tuple[bytes, str, int], df_core.ParsedDockerfile | Exception] = {}
_CACHE_MAX = 4096


def parse_bytes(data: bytes, mode: str, tax: Taxonomies) -> df_core.ParsedDockerfile:
    """Decode and parse file bytes; identical contents are parsed once per process.

    Identical files are common (vendored and per-release copies); the result is treated as
    read-only by callers.  Raises :class:`pipeline.core.dockerfile.DockerfileError` (cached too).
    """
    key = (hashlib.sha1(data).digest(), mode, id(tax))
    hit = _CACHE.get(key)
    if hit is None:
        try:
            text, problems = df_core.decode(data)
            hit = df_core.parse_dockerfile(text, mode, policy(mode).token_keywords(tax.run))
            if problems:
                hit.errors[:0] = problems
                if hit.status == "ok":
                    hit.status = "partial"
        except Exception as exc:
            hit = exc
        if len(_CACHE) >= _CACHE_MAX:
            _CACHE.clear()
        _CACHE[key] = hit
    if isinstance(hit, Exception):
        raise hit
    return hit


def dockerfile_rows(job: FileJob, mode: str, tax: Taxonomies) -> dict[str, list[dict[str, Any]]]:
    """Rows for one Dockerfile in one mode: dockerfiles, instructions, base_images, run_commands."""
    key = {"mode": mode, "repo": job.repo, "path": job.path}
    pol = policy(mode)
    out: dict[str, list[dict[str, Any]]] = {"dockerfiles": [], "instructions": [],
                                            "base_images": [], "run_commands": [], "errors": []}
    try:
        parsed = parse_bytes(job.data, mode, tax)
    except Exception as exc:  # one bad file never stops the stage
        msg = f"{job.repo}/{job.path}: {exc}"
        out["dockerfiles"].append({**key, "sha256": job.sha256, "n_stages": 0,
                                   "n_instructions": 0, "n_run_commands": 0,
                                   "parse_status": "error", "error": msg})
        out["errors"].append({"item": f"{job.repo}/{job.path}", "error_type": type(exc).__name__,
                              "message": f"[{mode}] {exc}"})
        return out
    for i, ins in enumerate(parsed.instructions):
        out["instructions"].append({**key, "seq": i, "stage": ins.stage, "line": ins.line,
                                    "instruction": ins.instruction, "value": ins.value,
                                    "expanded": ins.expanded, "exec_form": ins.exec_form,
                                    "heredoc": bool(ins.heredocs)})
    stage_types: dict[int, tuple[str, str]] = {}
    aliases: dict[str, int] = {}
    for b in parsed.base_images:
        first = b.raw.split()[0].lower() if b.raw.split() else ""
        if pol.types_raw_from_text:
            tid, how = tax.base.classify(b.raw.split(":")[0], "$" in b.raw)
            if tid == tax_core.UNKNOWN and first in aliases:
                tid, how = stage_types[aliases[first]][0], "stage"
        elif b.is_stage_reference:
            tid, how = stage_types.get(aliases.get(b.image.lower(), -1), (tax_core.UNKNOWN, "stage"))
            how = "stage"
        else:
            name = b.image.split("@")[0]
            last = name.rsplit("/", 1)[-1]
            if ":" in last:
                name = name[: len(name) - len(last)] + last.split(":")[0]
            tid, how = tax.base.classify(name, b.is_variable, b.tag)
        stage_types[b.stage] = (tid, how)
        if b.alias:
            aliases[b.alias.lower()] = b.stage
        out["base_images"].append({
            **key, "stage": b.stage, "line": b.line, "raw": b.raw, "image": b.image,
            "registry": b.registry, "namespace": b.namespace, "name": b.name, "tag": b.tag,
            "digest": b.digest, "alias": b.alias, "platform": b.platform,
            "is_stage_reference": b.is_stage_reference, "is_variable": b.is_variable,
            "official": b.official, "base_type": tid,
            "base_type_label": tax.base.label(tid, paper=pol.base_type_labels_of_paper),
            "type_rule": how,
        })
    for i, c in enumerate(parsed.commands):
        cat = pol.command_category(c.command, tax.run)
        out["run_commands"].append({**key, "seq": i, "stage": c.stage, "line": c.line,
                                    "command": c.command, "first_arg": c.first_arg,
                                    "category": cat, "method": c.method})
    out["dockerfiles"].append({**key, "sha256": job.sha256, "n_stages": parsed.n_stages,
                               "n_instructions": len(parsed.instructions),
                               "n_run_commands": len(parsed.commands),
                               "parse_status": parsed.status, "error": parsed.message})
    if parsed.errors:
        out["errors"].append({"item": f"{job.repo}/{job.path}", "error_type": "ParseWarning",
                              "message": f"[{mode}] {parsed.message}"})
    return out


def compose_rows(job: FileJob, mode: str) -> dict[str, list[dict[str, Any]]]:
    """Rows of ``compose_services`` for one compose file (or an error).

    Read with :func:`pipeline.core.compose.read_compose`; paper mode skips files without a
    ``services`` key (as the study did), corrected mode reads them as compose v1.
    """
    out: dict[str, list[dict[str, Any]]] = {"compose_services": [], "errors": []}
    try:
        cf = compose.read_compose(job.data)
        if cf.services_key == "missing" and policy(mode).compose_needs_services_key:
            raise compose.ComposeError("no_services", "no 'services' key (the study skipped such files)")
        if cf.services_key == "other":
            raise compose.ComposeError("services_not_mapping", "'services' is not a mapping")
    except Exception as exc:
        out["errors"].append({"item": f"{job.repo}/{job.path}", "error_type": type(exc).__name__,
                              "message": f"[{mode}] {exc}"})
        return out
    version = cf.version if cf.services_key == "mapping" else (cf.version or "1")
    for svc in cf.services:
        out["compose_services"].append({
            "mode": mode, "repo": job.repo, "path": job.path,
            "compose_version": "" if version is None else version,
            "service": svc.name, "image": svc.image, "build_context": svc.build_context,
            "ports": json.dumps(list(svc.ports), default=str),
            "networks": json.dumps(list(svc.networks), default=str),
            "volumes": json.dumps(list(svc.volumes), default=str),
            "environment_count": svc.environment_count,
            "depends_on": json.dumps(list(svc.depends_on), default=str),
        })
    return out


# ---------------------------------------------------------------------------------------
# shares (Figure 3a / 3b), pure functions over the tables
# ---------------------------------------------------------------------------------------


def instruction_shares(instructions: pd.DataFrame,
                       kept: Iterable[str] = PLOTTED_INSTRUCTIONS) -> pd.DataFrame:
    """Per (mode, repo, instruction): count, all-instruction total, percentage (study.md §4.2).

    ``percentage = 100 * count / total`` where ``total`` counts every instruction of every
    file of the repository (the study's denominator).  Only ``kept`` instructions with a
    non-zero count get a row.
    """
    cols = ["mode", "repo", "instruction", "count", "total", "percentage"]
    if instructions.empty:
        return pd.DataFrame(columns=cols)
    total = instructions.groupby(["mode", "repo"]).size().rename("total")
    counts = (instructions[instructions["instruction"].isin(list(kept))]
              .groupby(["mode", "repo", "instruction"]).size().rename("count").reset_index())
    out = counts.join(total, on=["mode", "repo"])
    out["percentage"] = 100.0 * out["count"] / out["total"]
    return out[cols].sort_values(["mode", "repo", "instruction"]).reset_index(drop=True)


def run_category_shares(run_commands: pd.DataFrame, categories: Iterable[str]) -> pd.DataFrame:
    """Per (mode, repo, category): count, total over known categories, percentage (§4.3).

    ``categories`` are the taxonomy's ids (``Taxonomies.run.ids``).  Commands of category
    ``unknown`` are left out of both count and total, as in the study.
    """
    cols = ["mode", "repo", "category", "count", "total", "percentage"]
    known = run_commands[run_commands["category"].isin(list(categories))] if not run_commands.empty \
        else run_commands
    if known.empty:
        return pd.DataFrame(columns=cols)
    counts = known.groupby(["mode", "repo", "category"]).size().rename("count").reset_index()
    total = known.groupby(["mode", "repo"]).size().rename("total")
    out = counts.join(total, on=["mode", "repo"])
    out["percentage"] = 100.0 * out["count"] / out["total"]
    return out[cols].sort_values(["mode", "repo", "category"]).reset_index(drop=True)


# ---------------------------------------------------------------------------------------
# orchestration and GPU signals (taxonomy/orchestration.yaml), corrected semantics only
# ---------------------------------------------------------------------------------------


def orchestration_rows(files: Iterable[tuple[str, str, str, bytes]], base_images: pd.DataFrame,
                       rules: orch.OrchestrationRules) -> pd.DataFrame:
    """``orchestration_signals``: the signals of every file ``(repo, path, kind, bytes)``
    (any kind: Kubernetes, Helm, kustomize, compose GPU keys, ``--gpus``) and of every
    corrected-mode base image (CUDA/GPU images, with their CUDA and cuDNN versions)."""
    rows: list[dict[str, Any]] = []
    for repo, path, kind, data in files:
        for sig in rules.file_signals(path, data, kind):
            rows.append({"repo": repo, "path": path, "line": 0, "source": "file",
                         "signal": sig.signal, "group": sig.group, "detail": sig.detail,
                         "cuda_version": "", "cudnn_version": ""})
    bases = base_images[(base_images["mode"] == "corrected") & ~base_images["is_stage_reference"]] \
        if len(base_images) else base_images
    for b in bases.itertuples(index=False):
        repository = orch.repository(str(b.registry), str(b.namespace), str(b.name))
        tag = "" if pd.isna(b.tag) else str(b.tag)
        versions = rules.versions(repository, tag)
        for sig in rules.image_signals(repository, tag):
            rows.append({"repo": b.repo, "path": b.path, "line": b.line, "source": "base_image",
                         "signal": sig.signal, "group": sig.group, "detail": sig.detail,
                         "cuda_version": versions.get("cuda_version", ""),
                         "cudnn_version": versions.get("cudnn_version", "")})
    df = pd.DataFrame(rows, columns=TABLES["orchestration_signals"].column_names)
    return df.sort_values(["repo", "path", "line", "signal"], kind="stable").reset_index(drop=True)


def _orchestration(p: Paths, files: pd.DataFrame, base_images: pd.DataFrame,
                   errors: ErrorLog) -> pd.DataFrame:
    """Read every file of ``files.csv`` (not only the parsed ones) and detect its signals."""
    rules = load_orchestration(p.taxonomy)

    def read() -> Iterator[tuple[str, str, str, bytes]]:
        for r in files.itertuples(index=False):
            try:
                data = raw_copy(p, str(r.raw_path), bool(r.name_escaped)).read_bytes()
            except OSError as exc:
                errors.add(f"{r.repo}/{r.path}", exc, f"[orchestration] cannot read {r.raw_path}: {exc}")
                continue
            yield str(r.repo), str(r.path), str(r.kind), data

    return orchestration_rows(read(), base_images, rules)


# ---------------------------------------------------------------------------------------
# orchestration
# ---------------------------------------------------------------------------------------


def select_files(files: pd.DataFrame, mode: str) -> pd.DataFrame:
    """The files parsed in ``mode`` with a ``parse_as`` column (dockerfile / compose)."""
    pol = policy(mode)
    base = files["path"].str.rsplit("/", n=1).str[-1]
    parse_as = [pol.parse_as(b, str(k), str(nm))
                for b, k, nm in zip(base, files["kind"], files["name_match"], strict=True)]
    out = files.assign(parse_as=parse_as)
    return out[out["parse_as"].notna()].copy()


@dataclass(frozen=True, order=True)
class WorkItem:
    """One file to parse in one mode, as a task carries it: where its bytes are (a path,
    or ``size`` bytes at ``offset`` of an uncompressed tar), never the bytes themselves."""

    repo: str
    path: str
    sha256: str  # "" = computed from the bytes by the worker
    kind: str  # parsed as: "dockerfile" or "compose"
    mode: str
    source: str
    offset: int = -1
    size: int = -1

    def read(self) -> bytes:
        if self.offset < 0:
            return Path(self.source).read_bytes()
        with open(self.source, "rb") as f:
            f.seek(self.offset)
            data = f.read(self.size)
        if len(data) != self.size:
            raise OSError(f"{self.source} ends inside {self.path} (truncated archive)")
        return data


Result = dict[str, list[dict[str, Any]]]
_TAX: dict[str, Taxonomies] = {}


def _taxonomies(taxonomy_dir: str) -> Taxonomies:
    """The taxonomies, loaded once per worker process."""
    if taxonomy_dir not in _TAX:
        _TAX[taxonomy_dir] = load_taxonomies(Path(taxonomy_dir))
    return _TAX[taxonomy_dir]


def parse_item(item: WorkItem, tax: Taxonomies) -> Result:
    """The rows of one work item; an unreadable file gives a ``read_errors`` row."""
    try:
        data = item.read()
    except OSError as exc:
        return {"read_errors": [{"item": f"{item.repo}/{item.path}", "error_type": type(exc).__name__,
                                 "message": f"[{item.mode}] cannot read {item.source}: {exc}"}]}
    sha = item.sha256 or hashlib.sha256(data).hexdigest()
    job = FileJob(item.repo, item.path, sha, item.kind, data)
    if job.kind == "compose":
        return compose_rows(job, item.mode)
    return dockerfile_rows(job, item.mode, tax)


def parse_partition(taxonomy_dir: str, items: list[WorkItem]) -> list[Result]:
    """The executor's pure function: one result per item of a partition."""
    tax = _taxonomies(taxonomy_dir)
    return [parse_item(item, tax) for item in items]


def poisoned(item: WorkItem, exc: BaseException) -> Result:
    """The error rows of a file whose partition failed even alone (it killed its worker)."""
    msg = failure_text(exc, "file")  # the exception (scheduler-dependent text) is logged
    out: Result = {"errors": [{"item": f"{item.repo}/{item.path}", "error_type": failure_code(exc),
                               "message": f"[{item.mode}] {msg}"}]}
    if item.kind != "compose":
        out["dockerfiles"] = [{"mode": item.mode, "repo": item.repo, "path": item.path,
                               "sha256": item.sha256, "n_stages": 0, "n_instructions": 0,
                               "n_run_commands": 0, "parse_status": "error",
                               "error": f"{item.repo}/{item.path}: {msg}"}]
    return out


def parse_items(items: Sequence[WorkItem], taxonomy_dir: Path, sched: Scheduler | None = None,
                partition_size: int = DEFAULT_PARTITION, progress: Progress = no_progress
                ) -> Iterator[Result]:
    """:func:`parse_partition` over ``items`` through :mod:`pipeline.executor`, in order."""
    return map_partitions(functools.partial(parse_partition, str(taxonomy_dir)), items,
                          sched=sched, partition_size=partition_size, poisoned=poisoned,
                          progress=progress, desc="parse", unit="file")


def collect_rows(results: Iterable[Result], errors: ErrorLog) -> tuple[dict[str, list[dict[str, Any]]], int]:
    """Rows per table from the results, in order; unreadable files' errors first (as they
    were found before parsing); returns (rows, files read)."""
    rows: dict[str, list[dict[str, Any]]] = {t: [] for t in OUTPUT_TABLES[:5]}
    later: list[dict[str, str]] = []
    read = 0
    for res in results:
        if "read_errors" in res:
            for e in res["read_errors"]:
                errors.add(e["item"], e["error_type"], e["message"])
            continue
        read += 1
        for k, v in res.items():
            if k == "errors":
                later.extend(v)
            else:
                rows[k].extend(v)
    for e in later:
        errors.add(e["item"], e["error_type"], e["message"])
    return rows, read


def _fingerprint(p: Paths, modes: tuple[str, ...]) -> str:
    h = hashlib.sha256()
    h.update(",".join(modes).encode())
    t = p.table("interim", "files")
    if t.exists():
        h.update(t.read_bytes())
    for name in ("run_commands.yaml", "base_image_types.yaml", "orchestration.yaml"):
        y = p.taxonomy / name
        if y.exists():
            h.update(y.read_bytes())
    for mod in (*sorted(Path(df_core.__file__).parent.glob("*.py")), Path(__file__)):
        h.update(Path(mod).read_bytes())
    return h.hexdigest()[:16]


@writes_set(STAGE)
def run(p: Paths, modes: Iterable[str] = MODE_NAMES, workers: int = 2,
        progress: Progress = no_progress, force: bool = False, sched: Scheduler | None = None,
        partition_size: int = DEFAULT_PARTITION) -> dict[str, int]:
    """Run the stage; returns counts (files in, rows out, errors).

    ``sched`` (default: a process pool of ``workers``) and ``partition_size`` choose how
    the files are spread (:mod:`pipeline.executor`); the outputs do not depend on them.
    """
    modes = tuple(m for m in MODES if m in set(modes))
    tax_dir = p.taxonomy
    tax = load_taxonomies(tax_dir)  # fail fast with a clear message
    files = read_table("files", p)
    fp = _fingerprint(p, modes)
    targets = [p.table("processed", t) for t in OUTPUT_TABLES]
    if not force and fingerprint_unchanged(p.table("processed", "dockerfiles"), fp, targets):
        log.info("parse: inputs unchanged; nothing to do (use --force to rerun)")
        return {"files": 0, "skipped": 1}

    items: list[WorkItem] = []
    errors = ErrorLog(STAGE)
    for mode in modes:
        sel = select_files(files, mode)
        for r in sel.itertuples(index=False):
            src = raw_copy(p, str(r.raw_path), bool(r.name_escaped))
            items.append(WorkItem(str(r.repo), str(r.path), str(r.sha256), str(r.parse_as),
                                  mode, str(src)))
    rows, n_files = collect_rows(parse_items(items, tax_dir, sched or Scheduler("pool", workers),
                                             partition_size, progress), errors)

    frames = {k: _frame(k, v) for k, v in rows.items()}
    frames["instruction_shares"] = instruction_shares(frames["instructions"])
    frames["run_category_shares"] = run_category_shares(frames["run_commands"], tax.run.ids)
    outputs: tuple[str, ...] = OUTPUT_TABLES
    if "corrected" in modes:
        frames["orchestration_signals"] = _orchestration(p, files, frames["base_images"], errors)
    else:  # the signals follow corrected semantics: a paper-only run leaves them as they are
        outputs = OUTPUT_TABLES[:-1]
    for name in outputs:
        new = frames[name]
        target = p.table("processed", name)
        if target.exists() and set(modes) != set(MODES) and "mode" in TABLES[name].column_names:
            old = read_table(name, p)
            new = pd.concat([old[~old["mode"].isin(modes)], new], ignore_index=True)
        write_table(new, name, p, extra_meta={"inputs_fingerprint": fp, "modes": list(modes)}
                    if name == "dockerfiles" and set(modes) == set(MODES) else {"modes": list(modes)})
    errors.write(p)
    counts = {"files": n_files, "errors": len(errors),
              **{name: len(frames[name]) for name in outputs}}
    log.info("parse: %s", ", ".join(f"{k}={v}" for k, v in counts.items()))
    return counts


def _frame(name: str, rows: list[dict[str, Any]]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=TABLES[name].column_names)
