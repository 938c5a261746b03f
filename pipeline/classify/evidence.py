"""Evidence: everything the classifiers may look at for one repository (never its label).

Repository metadata and file paths come from the interim tables, the study's free-text
notes from ``purpose_text``; the Dockerfile and compose evidence comes only from parse's
tables (corrected mode), never from the raw files, so RQ2 describes the files RQ3 counts.
"""

from __future__ import annotations

import json
import math
import re
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from ..config import Paths
from ..errors import StageInputMissing
from ..progress import Progress, no_progress, track
from ..tables import ErrorLog, read_table

NUMERIC = ("commits", "contributors", "stars", "forks", "releases", "size_kb", "total_dockerfiles")
#: the study's free-text notes (purpose_text columns) the CATEGORY model reads; they describe
#: how the repository uses Docker, not its category label, and exist for unlabelled repos too
NOTE_COLUMNS = ("what", "when", "mlcomponent", "why", "maincomponent", "note")


@dataclass
class Evidence:
    """Everything the classifiers may look at for one repository (never its label)."""

    repo: str
    description: str = ""
    topics: list[str] = field(default_factory=list)
    homepage: str = ""
    language: str = ""
    readme: str = ""
    paths: list[str] = field(default_factory=list)
    instructions: Counter[str] = field(default_factory=Counter)
    commands: list[str] = field(default_factory=list)
    base_images: list[str] = field(default_factory=list)
    compose: list[str] = field(default_factory=list)
    numeric: dict[str, float] = field(default_factory=dict)
    notes: dict[str, str] = field(default_factory=dict)  # purpose_text column -> free text

    def field_values(self, fieldname: str) -> list[str]:
        """Lower-cased strings a rule field is matched against."""
        if fieldname == "name":
            return [re.sub(r"[-_]", " ", self.repo.lower())]
        if fieldname == "description":
            return [self.description.lower()]
        if fieldname == "topics":
            return [t.lower() for t in self.topics]
        if fieldname == "homepage":
            return [self.homepage.lower()]
        if fieldname == "readme":
            return [self.readme.lower()]
        if fieldname in ("paths", "path"):
            return [p.lower() for p in self.paths]
        if fieldname == "command":
            return [c.lower() for c in self.commands]
        if fieldname == "base_image":
            return [b.lower() for b in self.base_images]
        if fieldname == "compose":
            return [c.lower() for c in self.compose]
        if fieldname == "instruction":
            return sorted(self.instructions)
        raise KeyError(fieldname)


def _s(v: Any) -> str:
    """``v`` as a string; None, NaN and pd.NA become ''."""
    if v is None or v is pd.NA or (isinstance(v, float) and math.isnan(v)):
        return ""
    return str(v)


#: parse's tables classify reads (their corrected-mode rows): the Dockerfile and compose
#: evidence comes only from them, so RQ2's evidence describes the files RQ3 counts
PARSE_TABLES = ("instructions", "base_images", "compose_services")
#: instructions whose ``instructions.value`` is command text.  The whole value is kept (not
#: run_commands' executable + first argument): rules and TF-IDF read package names, flags
#: and script names in it, e.g. ``pip install jupyter`` or ``CMD ["pytest", "-x"]``.
COMMAND_INSTRUCTIONS = ("RUN", "CMD", "ENTRYPOINT", "HEALTHCHECK")
#: per-service compose keys whose presence is evidence (a non-empty JSON list)
COMPOSE_KEYS = ("ports", "volumes", "networks")


def read_parse_tables(p: Paths) -> dict[str, pd.DataFrame]:
    """Corrected-mode rows of :data:`PARSE_TABLES`; a missing table raises
    :class:`~pipeline.errors.StageInputMissing` ("run `mldock parse` first")."""
    return {name: _corrected(read_table(name, p)) for name in PARSE_TABLES}


def _corrected(table: pd.DataFrame) -> pd.DataFrame:
    return table[table["mode"] == "corrected"] if "mode" in table.columns else table


def build_evidence(
    repos: pd.DataFrame,
    files: pd.DataFrame,
    parse_tables: dict[str, pd.DataFrame],
    errors: ErrorLog,
    progress: Progress = no_progress,
    purpose_text: pd.DataFrame | None = None,
) -> dict[str, Evidence]:
    """Evidence per repository from the interim tables (repository metadata, file paths,
    the study's free-text notes of ``purpose_text`` when given) and parse's tables
    (:data:`PARSE_TABLES`, corrected-mode rows); no raw file is read."""
    ev = repo_evidence(repos, errors)
    if purpose_text is not None and "repo" in purpose_text.columns:
        cols = [c for c in NOTE_COLUMNS if c in purpose_text.columns]
        for rec in purpose_text.to_dict("records"):
            e = ev.get(str(rec["repo"]))
            if e is not None:
                e.notes = {c: _s(rec[c]) for c in cols if _s(rec[c]).strip()}
    for repo, path in files[["repo", "path"]].itertuples(index=False):
        if str(repo) in ev:
            ev[str(repo)].paths.append(str(path))
    missing = [t for t in PARSE_TABLES if t not in parse_tables]
    if missing:
        raise StageInputMissing(f"parse tables {', '.join(missing)}", "mldock parse")
    add_instruction_evidence(ev, _corrected(parse_tables["instructions"]), progress)
    add_base_image_evidence(ev, _corrected(parse_tables["base_images"]))
    add_compose_evidence(ev, _corrected(parse_tables["compose_services"]))
    return ev


def repo_evidence(repos: pd.DataFrame, errors: ErrorLog) -> dict[str, Evidence]:
    """Evidence with the repository metadata of ``repos`` only."""
    ev: dict[str, Evidence] = {}
    for r in repos.itertuples(index=False):
        topics: list[str] = []
        try:
            topics = [str(t) for t in json.loads(_s(r.topics) or "[]")]
        except ValueError:
            errors.add(str(r.repo), "BadTopics", f"repos.csv: topics is not a JSON list: {r.topics!r}")
        if _s(r.search_topic):
            topics.append(_s(r.search_topic))
        num = {}
        for c in NUMERIC:
            v = getattr(r, c, None)
            num[c] = 0.0 if _s(v) == "" else float(_s(v))
        ev[str(r.repo)] = Evidence(
            repo=str(r.repo),
            description=_s(r.description),
            topics=topics,
            homepage=_s(r.homepage),
            language=_s(r.language),
            readme=_s(getattr(r, "readme", "")),
            numeric=num,
        )
    return ev


def add_instruction_evidence(ev: dict[str, Evidence], instructions: pd.DataFrame,
                             progress: Progress = no_progress) -> None:
    """Instruction counts and command texts (``value`` of :data:`COMMAND_INSTRUCTIONS`,
    in table order) from parse's ``instructions`` rows."""
    rows = instructions[["repo", "instruction", "value"]].itertuples(index=False)
    for repo, instr, value in track(rows, progress, "classify: instructions", len(instructions), "row"):
        e = ev.get(str(repo))
        if e is None:
            continue
        e.instructions[str(instr)] += 1
        if instr in COMMAND_INSTRUCTIONS:
            e.commands.append(_s(value))


def add_base_image_evidence(ev: dict[str, Evidence], base_images: pd.DataFrame) -> None:
    """Per FROM row of parse's ``base_images``: the image (ARG-substituted, without flags
    or alias) and its type as ``type:<label>``."""
    for repo, image, label in base_images[["repo", "image", "base_type_label"]].itertuples(index=False):
        e = ev.get(str(repo))
        if e is None:
            continue
        if _s(image):
            e.base_images.append(_s(image))
        if _s(label):
            e.base_images.append(f"type:{_s(label)}")


def add_compose_evidence(ev: dict[str, Evidence], services: pd.DataFrame) -> None:
    """Per compose file of parse's ``compose_services``: ``services`` when the file has a
    ``services:`` section (parse writes version '1' for a v1 file, which has none), then
    per service its name, its image and which of :data:`COMPOSE_KEYS` it sets.

    Top-level ``networks:`` / ``volumes:`` sections are not in the table, so they are no
    longer evidence (the per-service keys are).
    """
    seen: set[tuple[str, str]] = set()
    for rec in services.to_dict("records"):
        e = ev.get(str(rec["repo"]))
        if e is None:
            continue
        key = (str(rec["repo"]), str(rec["path"]))
        if key not in seen:
            seen.add(key)
            if _s(rec["compose_version"]) != "1":
                e.compose.append("services")
        e.compose.append(str(rec["service"]))
        if _s(rec["image"]):
            e.compose.append(_s(rec["image"]))
        e.compose.extend(k for k in COMPOSE_KEYS if _json_list(rec[k]))


def _json_list(v: Any) -> list[Any]:
    try:
        out = json.loads(_s(v) or "[]")
    except ValueError:
        return []
    return out if isinstance(out, list) else []

