"""Classify projects into the study's 6 categories (RQ1) and Docker purposes into its 21 (RQ2).

Two classifiers, both fed the same per-repository *evidence* (name, description, topics,
homepage, README when present, Docker file paths, Dockerfile instructions, RUN/CMD
commands, base images, compose services):

* **keyword rules** from ``taxonomy/project_categories.yaml`` and ``taxonomy/purposes.yaml``:
  transparent, every decision lists the rules that fired;
* a **supervised** scikit-learn ``Pipeline`` (TF-IDF text features, repository metadata and
  the rule hits as features, logistic regression), trained on the repositories the study
  labelled.  Every transform is fitted inside the cross-validation folds, and the label is
  never used to build a feature.

The study's free-text purpose columns are coded to purpose ids by
``taxonomy/purpose_coding.yaml``; those coded labels train the multi-label purpose model.

Outputs: ``data/processed/projects.csv`` and ``purposes.csv``; ``mldock classify evaluate``
writes ``reports/classification.md`` and ``reports/classification.csv``.
"""

from __future__ import annotations

import json
import logging
import math
import re
import time
import warnings
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import click
import numpy as np
import pandas as pd
import yaml

from .config import CATEGORIES, Paths
from .core.dockerfile import VALID_INSTRUCTIONS
from .errors import TaxonomyError, TooFewLabels
from .ingest import v1_services
from .tables import ErrorLog, atomic_write_text, read_table, write_table
from .taxonomy import load_yaml_rules, normalise_keyword, read_yaml

log = logging.getLogger(__name__)

CATEGORY_FIELDS = ("name", "description", "topics", "homepage", "readme", "paths")
PURPOSE_FIELDS = ("path", "instruction", "command", "base_image", "compose", "description")
#: Docker's instructions: the parse core's list
INSTRUCTIONS = VALID_INSTRUCTIONS
NONE = "none"
#: purpose_text columns coded by taxonomy/purpose_coding.yaml, keyed by the study's names
CODED_COLUMNS = {
    "What": "what",
    "purpose from documentation": "purpose_from_documentation",
    "MLcomponent": "mlcomponent",
    "When": "when",
    "Why": "why",
    "Maincomponent": "maincomponent",
}
NUMERIC = ("commits", "contributors", "stars", "forks", "releases", "size_kb", "total_dockerfiles")
#: the study's free-text notes (purpose_text columns) the CATEGORY model reads; they describe
#: how the repository uses Docker, not its category label, and exist for unlabelled repos too
NOTE_COLUMNS = ("what", "when", "mlcomponent", "why", "maincomponent", "note")
#: the notes the PURPOSE model may read: never a column its targets are coded from
#: (taxonomy/purpose_coding.yaml ``columns``; checked in :func:`feature_frame`)
PURPOSE_NOTE_COLUMNS = ("when", "why", "maincomponent")
MAX_COMMAND_CHARS = 20_000  # per repository, to bound the text features
MIN_LABELLED = 10  # fewer labelled (or coded) repositories than this: rules only


# --------------------------------------------------------------------------------------
# taxonomy
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Entry:
    """A category or purpose with its keyword rules (``field -> keywords``)."""

    id: str
    name: str
    description: str
    rules: dict[str, tuple[str, ...]]
    parent: str | None = None


@dataclass(frozen=True)
class Taxonomy:
    categories: tuple[Entry, ...]
    purposes: tuple[Entry, ...]
    coding: dict[str, tuple[str, ...]]  # normalised token -> purpose ids ('none' = no purpose)
    coded_columns: tuple[str, ...]  # purpose_text columns the coding covers

    @property
    def majors(self) -> list[str]:
        return [p.id for p in self.purposes if p.parent is None]

    def purpose(self, pid: str) -> Entry:
        for p in self.purposes:
            if p.id == pid:
                return p
        raise KeyError(pid)


def _entries(raw: list[dict[str, Any]]) -> list[Entry]:
    return [
        Entry(
            id=e["id"],
            name=str(e.get("name") or e["id"]),
            description=" ".join(str(e["description"]).split()),
            rules={f: tuple(k) for f, k in e["rules"].items()},
            parent=e.get("parent"),
        )
        for e in raw
    ]


def load_categories(path: Path | str) -> tuple[Entry, ...]:
    """The six categories; names must be exactly :data:`pipeline.config.CATEGORIES`."""
    raw = load_yaml_rules(path, ("id", "name", "description", "rules"), CATEGORY_FIELDS)
    entries = _entries(raw)
    for e in entries:
        if e.name not in CATEGORIES:
            raise TaxonomyError(str(path), f"unknown category {e.name!r} (entry {e.id!r}); "
                                f"use one of {', '.join(CATEGORIES)}")
    names = [e.name for e in entries]
    dup = [n for n, c in Counter(names).items() if c > 1]
    missing = [c for c in CATEGORIES if c not in names]
    if dup or missing:
        raise TaxonomyError(str(path), f"categories duplicated {dup} or missing {missing}")
    return tuple(entries)


def load_purposes(path: Path | str) -> tuple[Entry, ...]:
    """Major purposes and subcategories; a ``parent`` must name a major purpose."""
    raw = load_yaml_rules(path, ("id", "name", "description", "rules"), PURPOSE_FIELDS,
                          case_sensitive_fields=("instruction",))
    entries = _entries(raw)
    majors = {e.id for e in entries if e.parent is None}
    for e in entries:
        if e.parent is not None and e.parent not in majors:
            raise TaxonomyError(str(path), f"entry {e.id!r}: unknown parent id {e.parent!r}")
        bad = [k for k in e.rules.get("instruction", ()) if k not in INSTRUCTIONS]
        if bad:
            raise TaxonomyError(str(path), f"entry {e.id!r}: unknown Dockerfile instruction {bad}")
    return tuple(entries)


def split_tokens(text: Any) -> list[str]:
    """The study's comma-separated free text as normalised tokens (empty ones dropped)."""
    return [t for t in (normalise_keyword(x) for x in _s(text).split(",")) if t]


def load_coding(path: Path | str, purpose_ids: Iterable[str]) -> tuple[dict[str, tuple[str, ...]], tuple[str, ...]]:
    """Token -> purpose ids from ``purpose_coding.yaml``; rejects unknown ids, duplicates,
    empty lists and a token coded both to ``none`` and to a purpose."""
    where = str(path)
    data = read_yaml(path)
    if not isinstance(data, dict) or not isinstance(data.get("codes"), dict):
        raise TaxonomyError(where, "expected a mapping with a 'codes' mapping")
    columns = data.get("columns") or []
    if not isinstance(columns, list) or not columns:
        raise TaxonomyError(where, "'columns' must list the coded purpose_text columns")
    unknown_cols = [c for c in columns if c not in CODED_COLUMNS]
    if unknown_cols:
        raise TaxonomyError(where, f"unknown columns {unknown_cols} (known: {', '.join(CODED_COLUMNS)})")
    known = set(purpose_ids) | {NONE}
    coding: dict[str, list[str]] = {}
    for pid, tokens in data["codes"].items():
        if pid not in known:
            raise TaxonomyError(where, f"unknown purpose id {pid!r}")
        if not isinstance(tokens, list) or not tokens:
            raise TaxonomyError(where, f"empty token list for {pid!r}")
        seen: set[str] = set()
        for tok in tokens:
            t = normalise_keyword(str(tok))
            if not t:
                raise TaxonomyError(where, f"empty token under {pid!r}")
            if t in seen:
                raise TaxonomyError(where, f"duplicate token {t!r} under {pid!r}")
            seen.add(t)
            coding.setdefault(t, []).append(pid)
    for t, ids in coding.items():
        if NONE in ids and len(ids) > 1:
            raise TaxonomyError(where, f"token {t!r} is coded both 'none' and {[i for i in ids if i != NONE]}")
    return {t: tuple(ids) for t, ids in coding.items()}, tuple(CODED_COLUMNS[c] for c in columns)


def load_taxonomy(taxonomy_dir: Path) -> Taxonomy:
    cats = load_categories(taxonomy_dir / "project_categories.yaml")
    purposes = load_purposes(taxonomy_dir / "purposes.yaml")
    coding, cols = load_coding(taxonomy_dir / "purpose_coding.yaml", [p.id for p in purposes])
    return Taxonomy(cats, purposes, coding, cols)


# --------------------------------------------------------------------------------------
# evidence
# --------------------------------------------------------------------------------------


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


_YamlLoader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_CONT = re.compile(r"\\\s*\n")
_LINE = re.compile(r"^\s*([A-Za-z]+)\s*(.*)$")


def dockerfile_evidence(text: str) -> tuple[Counter[str], list[str], list[str]]:
    """(instruction counts, command texts, FROM images) of a Dockerfile; pure, lenient.

    Continuation lines are joined and comment lines dropped; a line whose first word is not
    a Dockerfile instruction (heredoc bodies, junk) is ignored.  Commands are the values of
    RUN, CMD, ENTRYPOINT and HEALTHCHECK; images are the first word of each FROM.
    """
    lines = [ln for ln in text.splitlines() if not ln.lstrip().startswith("#")]
    joined = _CONT.sub(" ", "\n".join(lines) + "\n")
    instr: Counter[str] = Counter()
    commands: list[str] = []
    images: list[str] = []
    for line in joined.splitlines():
        m = _LINE.match(line)
        if not m or m.group(1).upper() not in INSTRUCTIONS:
            continue
        name, value = m.group(1).upper(), m.group(2).strip()
        instr[name] += 1
        if name in ("RUN", "CMD", "ENTRYPOINT", "HEALTHCHECK"):
            commands.append(value)
        elif name == "FROM":
            words = [w for w in value.split() if not w.startswith("--")]
            if words:
                images.append(words[0])
    return instr, commands, images


def compose_evidence(text: str) -> list[str]:
    """Service names, images and top-level section names of a compose file."""
    data = yaml.load(text, Loader=_YamlLoader)  # noqa: S506 - a safe loader
    if not isinstance(data, dict):
        raise ValueError("not a YAML mapping")
    out: list[str] = []
    services = data.get("services")
    if not isinstance(services, dict):  # compose v1: services at the top level
        services = v1_services(data)
    else:
        out.append("services")
    for name, svc in services.items():
        out.append(str(name))
        if isinstance(svc, dict):
            if svc.get("image"):
                out.append(str(svc["image"]))
            for key in ("ports", "volumes", "networks"):
                if svc.get(key):
                    out.append(key)
    for key in ("networks", "volumes"):
        if data.get(key):
            out.append(key)
    return out


def _s(v: Any) -> str:
    """``v`` as a string; None, NaN and pd.NA become ''."""
    if v is None or v is pd.NA or (isinstance(v, float) and math.isnan(v)):
        return ""
    return str(v)


def build_evidence(
    repos: pd.DataFrame,
    files: pd.DataFrame,
    data_dir: Path,
    errors: ErrorLog,
    parse_tables: dict[str, pd.DataFrame] | None = None,
    progress: bool = False,
    purpose_text: pd.DataFrame | None = None,
) -> dict[str, Evidence]:
    """Evidence per repository from the interim tables and the raw file copies (and the
    study's free-text notes of ``purpose_text`` when given)."""
    from tqdm import tqdm

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
    if purpose_text is not None and "repo" in purpose_text.columns:
        cols = [c for c in NOTE_COLUMNS if c in purpose_text.columns]
        for rec in purpose_text.to_dict("records"):
            e = ev.get(str(rec["repo"]))
            if e is not None:
                e.notes = {c: _s(rec[c]) for c in cols if _s(rec[c]).strip()}
    rows = files[files["repo"].isin(ev.keys())]
    for f in tqdm(list(rows.itertuples(index=False)), desc="classify: files", disable=not progress,
                  unit="file"):
        e = ev[str(f.repo)]
        e.paths.append(str(f.path))
        if f.kind not in ("dockerfile", "compose"):
            continue
        src = data_dir / str(f.raw_path)
        try:
            text = src.read_text(encoding="utf-8", errors="replace")
            if f.kind == "dockerfile":
                instr, cmds, imgs = dockerfile_evidence(text)
                e.instructions.update(instr)
                e.commands.extend(cmds)
                e.base_images.extend(imgs)
            else:
                e.compose.extend(compose_evidence(text))
        except (OSError, ValueError, yaml.YAMLError) as exc:
            first = (str(exc).splitlines() or [""])[0]
            errors.add(str(src), exc, f"cannot read {f.kind} file of {f.repo} ({src}): {first}")
    if parse_tables and "base_images" in parse_tables:
        n = add_parse_evidence(ev, parse_tables["base_images"])
        log.info("added %d base-image values from the parse stage", n)
    return ev


# What classify takes from the parse stage when its tables exist.  The Dockerfile text is
# read directly above (so classify also runs without parse); parse adds what a lenient
# reader cannot: FROM references with ARG/ENV substituted and the base-image type.
PARSE_TABLES = ("base_images",)


def add_parse_evidence(ev: dict[str, Evidence], base_images: pd.DataFrame) -> int:
    """Add parse's resolved base images (when they differ from the raw FROM text) and
    base-image types (``type:<label>``) of corrected-mode rows; returns values added."""
    need = {"repo", "raw", "image", "base_type_label"}
    if not need <= set(base_images.columns):
        log.warning("parse table base_images lacks %s; not used", ", ".join(sorted(need - set(base_images.columns))))
        return 0
    if "mode" in base_images.columns:
        base_images = base_images[base_images["mode"] == "corrected"]
    added = 0
    for rec in base_images[["repo", "raw", "image", "base_type_label"]].itertuples(index=False):
        e = ev.get(str(rec[0]))
        if e is None:
            continue
        raw, image, label = _s(rec[1]), _s(rec[2]), _s(rec[3])
        raw_ref = raw.split()[0] if raw.split() else ""
        if image and image != raw_ref:
            e.base_images.append(image)
            added += 1
        if label:
            e.base_images.append(f"type:{label}")
            added += 1
    return added


def read_parse_tables(p: Paths) -> dict[str, pd.DataFrame]:
    out: dict[str, pd.DataFrame] = {}
    for name in PARSE_TABLES:
        path = p.table("processed", name)
        if path.exists():
            out[name] = read_table(name, p)
        else:
            log.info("parse table %s absent (run `mldock parse`): classifying without "
                     "resolved base images and base-image types", path)
    return out


# --------------------------------------------------------------------------------------
# keyword rules
# --------------------------------------------------------------------------------------


@lru_cache(maxsize=4096)
def _pattern(kw: str) -> re.Pattern[str]:
    return re.compile(r"(?<![a-z0-9])" + re.escape(kw))


def keyword_hits(fieldname: str, keywords: Sequence[str], ev: Evidence) -> list[str]:
    """Human-readable hits of ``keywords`` in one evidence field.

    Text fields match at the start of a word; ``base_image`` is a substring match;
    ``instruction`` is exact.  Each hit reads ``field~"keyword"``, with the matching
    item in parentheses for list fields.
    """
    values = ev.field_values(fieldname)
    if not values:
        return []
    listed = fieldname in ("paths", "path", "base_image", "compose")
    blob = "\n".join(values)
    hits: list[str] = []
    for kw in keywords:
        if fieldname == "instruction":
            ok = kw in values
        elif fieldname == "base_image":
            ok = kw in blob
        else:  # cheap substring test first, the word-start regex only when it passes
            ok = kw in blob and _pattern(kw).search(blob) is not None
        if not ok:
            continue
        shown = ""
        if listed:
            item = next(v for v in values if (kw in v if fieldname == "base_image" else _pattern(kw).search(v)))
            shown = f" ({item[:60]})"
        hits.append(f'{fieldname}~"{kw}"{shown}')
    return hits


def rule_hits(entry: Entry, ev: Evidence) -> list[str]:
    out: list[str] = []
    for fieldname, kws in entry.rules.items():
        out.extend(keyword_hits(fieldname, kws, ev))
    return out


@dataclass(frozen=True)
class RuleDecision:
    category: str | None  # None when no rule fired
    votes: dict[str, int]
    fired: str  # 'description~"serving" -> MLOps/AIOps; ...'


def category_by_rules(ev: Evidence, categories: Sequence[Entry]) -> RuleDecision:
    """Most votes wins (ties: taxonomy file order); abstains when nothing fires."""
    votes: dict[str, int] = {}
    fired: list[str] = []
    for c in categories:
        hits = rule_hits(c, ev)
        votes[c.name] = len(hits)
        fired.extend(f"{h} -> {c.name}" for h in hits)
    best = max(votes.values()) if votes else 0
    cat = next((c.name for c in categories if votes[c.name] == best), None) if best > 0 else None
    return RuleDecision(cat, votes, "; ".join(fired))


def purposes_by_rules(ev: Evidence, purposes: Sequence[Entry]) -> dict[str, list[str]]:
    """Purpose id -> hits, for every purpose whose rules fire."""
    out: dict[str, list[str]] = {}
    for p in purposes:
        hits = rule_hits(p, ev)
        if hits:
            out[p.id] = hits
    return out


# --------------------------------------------------------------------------------------
# the study's coded purposes
# --------------------------------------------------------------------------------------


def code_purposes(row: dict[str, Any], tax: Taxonomy) -> dict[str, list[str]]:
    """Purpose id -> the study's tokens that support it, for one purpose_text row.

    A subcategory also adds its major.  Tokens missing from the coding table are
    reported by :func:`uncoded_tokens`, not guessed.
    """
    out: dict[str, list[str]] = {}
    for col in tax.coded_columns:
        for tok in split_tokens(row.get(col)):
            for pid in tax.coding.get(tok, ()):
                if pid == NONE:
                    continue
                out.setdefault(pid, []).append(f'{col}:"{tok}"')
                parent = tax.purpose(pid).parent
                if parent:
                    out.setdefault(parent, []).append(f'{col}:"{tok}"')
    return out


def uncoded_tokens(purpose_text: pd.DataFrame, tax: Taxonomy) -> list[tuple[str, str]]:
    """(column, token) pairs in the coded columns that the coding table does not list."""
    missing: list[tuple[str, str]] = []
    for col in tax.coded_columns:
        if col not in purpose_text.columns:
            continue
        for v in purpose_text[col]:
            for tok in split_tokens(v):
                if tok not in tax.coding and (col, tok) not in missing:
                    missing.append((col, tok))
    return missing


# --------------------------------------------------------------------------------------
# features and models
# --------------------------------------------------------------------------------------

_SPLIT = re.compile(r"[^a-z0-9+]+")


def _words(s: str) -> str:
    return " ".join(w for w in _SPLIT.split(s.lower()) if w)


def notes_features(notes: dict[str, str], columns: Sequence[str]) -> tuple[str, str]:
    """(words, tokens) of the study's notes in ``columns``: the words of every column, and
    each comma-separated token as one ``column_token`` feature.

    >>> notes_features({"when": "Development/ distribution, Testing", "what": "API"}, ["when"])
    ('development distribution testing', 'when_development_distribution when_testing')
    """
    words: list[str] = []
    tokens: list[str] = []
    for c in columns:
        text = notes.get(c, "")
        if not text:
            continue
        words.append(_words(text))
        tokens.extend(f"{c}_" + _words(t).replace(" ", "_") for t in text.split(",") if _words(t))
    return " ".join(w for w in words if w), " ".join(tokens)


def feature_frame(
    evidence: Sequence[Evidence],
    tax: Taxonomy,
    cat_rules: dict[str, RuleDecision] | None = None,
    purpose_hits: dict[str, dict[str, list[str]]] | None = None,
) -> pd.DataFrame:
    """One row per repository: two text columns, log metadata and the rule hits.

    Nothing here looks at a label, so computing it once for all repositories is safe;
    the fitted parts (TF-IDF vocabularies, scalers, models) live in the sklearn pipeline.
    """
    leak = set(PURPOSE_NOTE_COLUMNS) & set(tax.coded_columns)
    if leak:
        raise TaxonomyError("taxonomy/purpose_coding.yaml", f"columns {sorted(leak)} are coded into "
                            "purpose labels, so the purpose model must not read them as features")
    rows = []
    for ev in evidence:
        owner, _, name = ev.repo.partition("/")
        host = re.sub(r"^https?://(www\.)?", "", ev.homepage.lower()).split("/")[0]
        meta = " ".join([
            _words(name), _words(ev.description), _words(host),
            " ".join("topic_" + _words(t).replace(" ", "_") for t in ev.topics),
            ("lang_" + _words(ev.language).replace(" ", "_")) if ev.language else "",
            _words(ev.readme),
        ])
        cmd_text = " ".join(ev.commands)[:MAX_COMMAND_CHARS]
        docker = " ".join([
            " ".join(_words(p) for p in ev.paths),
            " ".join(f"instr_{k.lower()}" for k in ev.instructions),
            " ".join("img_" + _words(b.split(":")[0].split("@")[0]).replace(" ", "_") for b in ev.base_images),
            _words(cmd_text),
            " ".join("svc_" + _words(c).replace(" ", "_") for c in ev.compose),
        ])
        notes_text, notes_tok = notes_features(ev.notes, NOTE_COLUMNS)
        pnotes_text, pnotes_tok = notes_features(ev.notes, PURPOSE_NOTE_COLUMNS)
        row: dict[str, Any] = {"repo": ev.repo, "meta_text": meta, "docker_text": docker,
                               "notes_text": notes_text, "notes_tok": notes_tok,
                               "pnotes_text": pnotes_text, "pnotes_tok": pnotes_tok}
        for c in NUMERIC:
            row[f"num_{c}"] = math.log1p(max(ev.numeric.get(c, 0.0), 0.0))
        row["num_files"] = math.log1p(len(ev.paths))
        for k in sorted(INSTRUCTIONS):
            row[f"num_instr_{k.lower()}"] = math.log1p(ev.instructions.get(k, 0))
        dec = cat_rules[ev.repo] if cat_rules else category_by_rules(ev, tax.categories)
        for cat in tax.categories:
            row[f"rule_cat_{cat.id}"] = float(dec.votes[cat.name])
        hits = purpose_hits[ev.repo] if purpose_hits else purposes_by_rules(ev, tax.purposes)
        for p in tax.purposes:
            row[f"rule_purpose_{p.id}"] = float(p.id in hits)
        rows.append(row)
    return pd.DataFrame(rows).set_index("repo")


def _numeric_columns(X: pd.DataFrame) -> list[str]:
    return [c for c in X.columns if c.startswith(("num_", "rule_"))]


def make_pipeline(
    X: pd.DataFrame,
    blocks: Sequence[str] = ("meta_word", "meta_char", "rules_category"),
    C: float = 1.0,
    solver: str = "newton-cg",
) -> Any:
    """Feature blocks -> balanced logistic regression, as one sklearn ``Pipeline``.

    Blocks: ``meta_word`` (word 1-2-gram TF-IDF of name, description, homepage, topics,
    language, README), ``meta_char`` (character 2-5-gram TF-IDF of the same text),
    ``docker`` (TF-IDF of paths, instructions, base images, commands, compose services),
    ``rules_category`` (the category rules' vote counts), ``rules_purpose`` (which purpose
    rules fire), ``numeric`` (log metadata: commits, stars, ...), ``notes_word`` /
    ``notes_tok`` (word 1-2-gram TF-IDF and whole comma-separated tokens of the study's
    free-text notes, :data:`NOTE_COLUMNS`) and ``pnotes_word`` / ``pnotes_tok`` (the same
    over :data:`PURPOSE_NOTE_COLUMNS` only, for the purpose model).
    """
    from sklearn.compose import ColumnTransformer
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import StandardScaler

    def cols(prefix: str) -> list[str]:
        return [c for c in X.columns if c.startswith(prefix)]

    available: dict[str, tuple[Any, Any]] = {
        "meta_word": (TfidfVectorizer(ngram_range=(1, 2), min_df=2, sublinear_tf=True), "meta_text"),
        "meta_char": (TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), min_df=2,
                                      sublinear_tf=True), "meta_text"),
        "docker": (TfidfVectorizer(min_df=2, max_features=20_000, sublinear_tf=True), "docker_text"),
        "notes_word": (TfidfVectorizer(ngram_range=(1, 2), min_df=2, sublinear_tf=True), "notes_text"),
        "notes_tok": (TfidfVectorizer(token_pattern=r"\S+", min_df=2), "notes_tok"),
        "pnotes_word": (TfidfVectorizer(ngram_range=(1, 2), min_df=2, sublinear_tf=True), "pnotes_text"),
        "pnotes_tok": (TfidfVectorizer(token_pattern=r"\S+", min_df=2), "pnotes_tok"),
        "rules_category": (StandardScaler(), cols("rule_cat_")),
        "rules_purpose": (StandardScaler(), cols("rule_purpose_")),
        "numeric": (StandardScaler(), cols("num_")),
    }
    features = ColumnTransformer([(b, *available[b]) for b in blocks])
    clf = LogisticRegression(C=C, solver=solver, max_iter=5000, class_weight="balanced", random_state=0)
    return Pipeline([("features", features), ("clf", clf)])


CATEGORY_BLOCKS = ("meta_word", "meta_char", "rules_category", "notes_word", "notes_tok")
PURPOSE_BLOCKS = ("docker", "rules_purpose", "numeric", "pnotes_word", "pnotes_tok")
PURPOSE_THRESHOLDS = (0.2, 0.25, 0.3, 0.35, 0.4, 0.5)
PURPOSE_C = (0.1, 0.3, 1.0)
#: feature-set variants measured by ``evaluate`` with the same CV (name -> blocks); the
#: first of each is the shipped model
CATEGORY_VARIANTS: dict[str, tuple[str, ...]] = {
    "model": CATEGORY_BLOCKS,
    "v1: name/description/homepage/topics + rule votes (first version)":
        ("meta_word", "meta_char", "rules_category"),
    "model + Docker file text (paths, instructions, base images, commands, services)":
        CATEGORY_BLOCKS + ("docker",),
}
#: purpose variants: name -> (logistic-regression blocks, with the extra-trees half)
PURPOSE_VARIANTS: dict[str, tuple[tuple[str, ...], bool]] = {
    "model": (PURPOSE_BLOCKS, True),
    "v1 features (Dockerfile text, purpose-rule hits, log metadata), logistic regression only":
        (("docker", "rules_purpose", "numeric"), False),
    "logistic regression only (no extra-trees half)": (PURPOSE_BLOCKS, False),
}
PURPOSE_TREES = 100  # extra trees in the purpose ensemble


def make_category_model(X: pd.DataFrame, blocks: Sequence[str] = CATEGORY_BLOCKS) -> Any:
    """The category model: fixed settings (C=1, balanced classes), nothing tuned."""
    return make_pipeline(X, blocks, C=1.0)


def _purpose_pipeline(X: pd.DataFrame, C: float = 0.3, blocks: Sequence[str] = PURPOSE_BLOCKS) -> Any:
    from sklearn.multiclass import OneVsRestClassifier

    pipe = make_pipeline(X, blocks, C=C, solver="liblinear")
    pipe.set_params(clf__class_weight=None)
    pipe.steps[-1] = ("clf", OneVsRestClassifier(pipe.steps[-1][1]))
    return pipe


def _trees_pipeline(X: pd.DataFrame, seed: int = 0) -> Any:
    """Multi-output extra trees over the dense columns (rule hits, log metadata and
    instruction counts): they catch thresholds and interactions a linear model misses."""
    from sklearn.compose import ColumnTransformer
    from sklearn.ensemble import ExtraTreesClassifier
    from sklearn.pipeline import Pipeline

    dense = [c for c in X.columns if c.startswith(("rule_", "num_"))]
    trees = ExtraTreesClassifier(n_estimators=PURPOSE_TREES, min_samples_leaf=2, random_state=seed, n_jobs=1)
    return Pipeline([("features", ColumnTransformer([("dense", "passthrough", dense)])), ("clf", trees)])


def _proba(model: Any, X: pd.DataFrame) -> np.ndarray:
    """(n, labels) positive-class probabilities of a multi-label model; a label seen with one
    class only in training gets that class's probability (1 or 0)."""
    P = model.predict_proba(X)
    if not isinstance(P, list):
        return np.asarray(P)
    classes = model.steps[-1][1].classes_
    cols = [p[:, list(c).index(1)] if 1 in list(c) else np.zeros(len(p)) for p, c in zip(P, classes, strict=True)]
    return np.column_stack(cols)


class PurposeModel:
    """One-vs-rest logistic regressions, one per major purpose (multi-label), averaged with
    multi-output extra trees (``trees=True``).

    The regularisation ``C`` (among :data:`PURPOSE_C`) and the probability threshold (among
    :data:`PURPOSE_THRESHOLDS`) are chosen together by an inner k-fold CV on the training
    data only (best micro-F1 of the inner out-of-fold probabilities), then the model is
    refitted on all of it.
    """

    def __init__(self, inner_folds: int = 3, seed: int = 0,
                 blocks: Sequence[str] = PURPOSE_BLOCKS, trees: bool = True) -> None:
        self.inner_folds = inner_folds
        self.seed = seed
        self.blocks = tuple(blocks)
        self.trees = trees
        self.threshold_ = 0.5
        self.C_ = 0.3
        self.model_: Any = None
        self.trees_: Any = None

    def fit(self, X: pd.DataFrame, Y: np.ndarray) -> PurposeModel:
        from sklearn.base import clone
        from sklearn.metrics import f1_score
        from sklearn.model_selection import KFold

        splits = list(KFold(self.inner_folds, shuffle=True, random_state=self.seed).split(X))
        T = np.zeros(Y.shape, dtype=float)
        if self.trees:
            for tr, te in splits:
                T[te] = _proba(_trees_pipeline(X.iloc[tr], self.seed).fit(X.iloc[tr], Y[tr]), X.iloc[te])
        Ps = {c: np.zeros(Y.shape, dtype=float) for c in PURPOSE_C}
        for tr, te in splits:  # the features are fitted once per inner fold, shared by every C
            pipe = _purpose_pipeline(X.iloc[tr], PURPOSE_C[0], self.blocks)
            features, clf = pipe.steps[0][1], pipe.steps[-1][1]
            Ftr, Fte = features.fit_transform(X.iloc[tr]), features.transform(X.iloc[te])
            for c in PURPOSE_C:
                Ps[c][te] = clone(clf).set_params(estimator__C=c).fit(Ftr, Y[tr]).predict_proba(Fte)
        best = (-1.0, self.C_, self.threshold_)
        for c, P in Ps.items():
            if self.trees:
                P = (P + T) / 2
            for t in PURPOSE_THRESHOLDS:
                score = float(f1_score(Y, (P >= t).astype(int), average="micro", zero_division=0))
                if score > best[0]:
                    best = (score, c, t)
        _, self.C_, self.threshold_ = best
        self.model_ = _purpose_pipeline(X, self.C_, self.blocks).fit(X, Y)
        if self.trees:
            self.trees_ = _trees_pipeline(X, self.seed).fit(X, Y)
        return self

    def predict_proba(self, X: pd.DataFrame) -> np.ndarray:
        P = np.asarray(self.model_.predict_proba(X))
        if self.trees_ is not None:
            P = (P + _proba(self.trees_, X)) / 2
        return P

    def predict(self, X: pd.DataFrame) -> np.ndarray:
        return (self.predict_proba(X) >= self.threshold_).astype(int)


@contextmanager
def _quiet() -> Iterator[None]:
    """Silence sklearn's expected warnings (absent labels, small classes) inside the block."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", category=UserWarning)
        warnings.filterwarnings("ignore", message=".*[Ll]abel.*not present.*")
        warnings.filterwarnings("ignore", message=".*least populated class.*")
        yield


# --------------------------------------------------------------------------------------
# the stage
# --------------------------------------------------------------------------------------


@dataclass
class Inputs:
    tax: Taxonomy
    repos: pd.DataFrame
    evidence: dict[str, Evidence]
    X: pd.DataFrame  # features, index repo, in repos order
    labels: pd.Series  # category of manually labelled repos (index repo)
    coded: dict[str, dict[str, list[str]]]  # repo -> purpose id -> tokens (coded repos only)
    errors: ErrorLog
    cat_rules: dict[str, RuleDecision]  # repo -> rules-only category decision
    purpose_hits: dict[str, dict[str, list[str]]]  # repo -> purpose id -> rule hits


def load_inputs(p: Paths, progress: bool = False) -> Inputs:
    tax = load_taxonomy(p.taxonomy)
    repos = read_table("repos", p)
    files = read_table("files", p)
    errors = ErrorLog("classify")
    try:
        pt = read_table("purpose_text", p)
    except Exception as exc:  # noqa: BLE001 - optional input, reported
        log.warning("no purpose_text table (%s): purposes are predicted by rules only", exc)
        pt = pd.DataFrame(columns=["repo"])
    evidence = build_evidence(repos, files, p.data, errors, read_parse_tables(p), progress, pt)
    order = [str(r) for r in repos["repo"]]
    cat_rules = {r: category_by_rules(evidence[r], tax.categories) for r in order}
    purpose_hits = {r: purposes_by_rules(evidence[r], tax.purposes) for r in order}
    X = feature_frame([evidence[r] for r in order], tax, cat_rules, purpose_hits)
    lab = repos[(repos["label_source"] == "manual") & repos["category"].notna()]
    bad = lab[~lab["category"].isin(CATEGORIES)]
    for r in bad.itertuples(index=False):
        errors.add(str(r.repo), "UnknownCategory", f"repos.csv: category {r.category!r} is not one of the six; not used for training")
    lab = lab[lab["category"].isin(CATEGORIES)]
    labels = pd.Series(lab["category"].astype(str).to_numpy(), index=lab["repo"].astype(str), name="category")
    coded: dict[str, dict[str, list[str]]] = {}
    for col, tok in uncoded_tokens(pt, tax):
        errors.add(f"purpose_text.{col}", "UncodedToken",
                   f'taxonomy/purpose_coding.yaml does not code the token "{tok}"; treated as no purpose')
    for row in pt.to_dict("records"):
        if any(split_tokens(row.get(col)) for col in tax.coded_columns):
            coded[str(row["repo"])] = code_purposes(row, tax)
    return Inputs(tax, repos, evidence, X, labels, coded, errors, cat_rules, purpose_hits)


def _label_matrix(repos: Sequence[str], coded: dict[str, dict[str, list[str]]], majors: Sequence[str]) -> np.ndarray:
    return np.array([[1 if m in coded.get(r, {}) else 0 for m in majors] for r in repos], dtype=int)


def classify(p: Paths, progress: bool = False, seed: int = 0) -> dict[str, Any]:
    """Run both classifiers and write ``projects`` and ``purposes``; returns counts."""
    from sklearn.model_selection import StratifiedKFold, cross_val_predict

    t0 = time.monotonic()
    inp = load_inputs(p, progress)
    tax, X, y = inp.tax, inp.X, inp.labels
    all_repos = list(X.index)
    majors = tax.majors
    coded_repos = [r for r in all_repos if r in inp.coded]
    train_categories = len(y) >= MIN_LABELLED and y.nunique() >= 2
    train_purposes = len(coded_repos) >= MIN_LABELLED
    if not train_categories:
        log.warning("only %d labelled repositories: categories come from the keyword rules", len(y))
    if not train_purposes:
        log.warning("only %d repositories with coded purposes: purposes come from the keyword rules",
                    len(coded_repos))
    proba: pd.DataFrame | None = None
    pproba: pd.DataFrame | None = None
    threshold: float | None = None
    with _quiet():
        if train_categories:
            # out-of-fold answers for labelled repos, a model fitted on all of them for the rest
            Xl = X.loc[y.index]
            model = make_category_model(Xl)
            folds = max(2, min(5, int(y.value_counts().min())))
            oof = cross_val_predict(model, Xl, y, method="predict_proba",
                                    cv=StratifiedKFold(folds, shuffle=True, random_state=seed))
            model.fit(Xl, y)
            proba = pd.DataFrame(model.predict_proba(X), index=X.index, columns=list(model.classes_))
            proba.loc[y.index] = oof
        if train_purposes:
            Y = _label_matrix(coded_repos, inp.coded, majors)
            pmodel = PurposeModel(seed=seed).fit(X.loc[coded_repos], Y)
            pproba = pd.DataFrame(pmodel.predict_proba(X), index=X.index, columns=majors)
            threshold = pmodel.threshold_

    proj_rows = []
    repos = inp.repos.set_index("repo")
    for repo in all_repos:
        dec = inp.cat_rules[repo]
        manual = repo in y.index
        if proba is not None:
            pred: str | None = str(proba.loc[repo].idxmax())
            conf: float | None = round(float(proba.loc[repo].max()), 4)
            kind = "out-of-fold" if manual else "trained on all labelled"
        else:
            pred, conf, kind = dec.category, None, "keyword rules (too few labels to train)"
        proj_rows.append({
            "repo": repo,
            "category": y[repo] if manual else pred,
            "category_source": "manual" if manual else "predicted",
            "raw_label": repos.at[repo, "raw_label"],
            "predicted_category": pred,
            "confidence": conf,
            "prediction_kind": kind,
            "rules_category": dec.category,
            "rules_fired": dec.fired,
            "in_final_dataset": repos.at[repo, "in_final_dataset"],
        })
    projects = pd.DataFrame(proj_rows)

    pur_rows = []
    for repo in all_repos:
        hits = inp.purpose_hits[repo]
        if repo in inp.coded:
            for pid, toks in inp.coded[repo].items():
                pur_rows.append(_purpose_row(tax, repo, pid, "coded", 1.0, "; ".join(toks)))
            continue
        if pproba is not None and threshold is not None:
            chosen = [m for m in majors if pproba.at[repo, m] >= threshold]
            for m in chosen:
                ev_txt = "; ".join(hits.get(m, [])) or "model (no rule fired)"
                pur_rows.append(_purpose_row(tax, repo, m, "predicted", float(pproba.at[repo, m]), ev_txt))
        else:
            chosen = [m for m in majors if m in hits]
            for m in chosen:
                pur_rows.append(_purpose_row(tax, repo, m, "rules", None, "; ".join(hits[m])))
        for sub in tax.purposes:
            if sub.parent in chosen and sub.id in hits:
                pur_rows.append(_purpose_row(tax, repo, sub.id, "rules", None, "; ".join(hits[sub.id])))
    purposes = pd.DataFrame(pur_rows, columns=list(_PURPOSE_COLUMNS))

    extra = {"labelled": int(len(y)), "coded": len(coded_repos), "seed": seed,
             "purpose_threshold": threshold}
    write_table(projects, "projects", p, extra_meta=extra)
    write_table(purposes, "purposes", p, extra_meta=extra)
    inp.errors.write(p)
    n_pred = int((projects["category_source"] == "predicted").sum())
    counts = {
        "repos": len(projects), "manual": int(len(y)), "predicted": n_pred,
        "coded": len(coded_repos), "purpose_rows": len(purposes),
        "errors": len(inp.errors), "seconds": round(time.monotonic() - t0, 1),
    }
    log.info("classify: %s", counts)
    return counts


_PURPOSE_COLUMNS = ("repo", "purpose", "name", "level", "parent", "source", "confidence", "evidence")


def _purpose_row(tax: Taxonomy, repo: str, pid: str, source: str, conf: float | None, evidence: str) -> dict[str, Any]:
    e = tax.purpose(pid)
    return {
        "repo": repo, "purpose": pid, "name": e.name, "level": "sub" if e.parent else "major",
        "parent": e.parent, "source": source,
        "confidence": None if conf is None else round(conf, 4), "evidence": evidence,
    }


# --------------------------------------------------------------------------------------
# evaluation
# --------------------------------------------------------------------------------------


@dataclass
class CategoryCV:
    method: str
    accuracy: list[float]
    macro_f1: list[float]
    y_true: list[str]  # pooled over all folds and repeats
    y_pred: list[str]
    chosen: list[str] = field(default_factory=list)  # method "nested": the variant per fold

    def mean(self, name: str) -> float:
        return float(np.mean(getattr(self, name)))

    def sd(self, name: str) -> float:
        return float(np.std(getattr(self, name)))


def cv_categories(
    X: pd.DataFrame,
    y: pd.Series,
    rules: pd.Series,
    repeats: int = 3,
    folds: int = 5,
    seed: int = 0,
    methods: Sequence[str] = ("model", "rules", "majority"),
    variants: dict[str, tuple[str, ...]] | None = None,
    nested: dict[str, tuple[str, ...]] | None = None,
) -> dict[str, CategoryCV]:
    """Repeated stratified k-fold CV of the model, the rules alone and the majority class.

    ``rules`` holds the rules-only answer per repository (None when it abstains; the
    training fold's majority class is used then).  Everything fitted is fitted on the
    training fold only.  ``variants`` (name -> feature blocks) are measured on the same
    folds; with ``nested`` (name -> blocks), method ``nested`` picks one of them per outer
    fold by an inner 3-fold CV accuracy on the training fold: an honest estimate of
    "choose the feature set, then fit".
    """
    from sklearn.metrics import accuracy_score, f1_score
    from sklearn.model_selection import RepeatedStratifiedKFold, StratifiedKFold, cross_val_score

    variants = variants or {}
    out = {m: CategoryCV(m, [], [], [], []) for m in [*methods, *variants, *(["nested"] if nested else [])]}
    cv = RepeatedStratifiedKFold(n_splits=folds, n_repeats=repeats, random_state=seed)
    with _quiet():
        for tr, te in cv.split(X, y):
            ytr, yte = y.iloc[tr], y.iloc[te]
            majority = ytr.value_counts().sort_index().idxmax()
            preds: dict[str, np.ndarray] = {}
            if "model" in out:
                model = make_category_model(X.iloc[tr])
                model.fit(X.iloc[tr], ytr)
                preds["model"] = model.predict(X.iloc[te])
            for name, blocks in variants.items():
                vm = make_category_model(X.iloc[tr], blocks).fit(X.iloc[tr], ytr)
                preds[name] = vm.predict(X.iloc[te])
            if nested:
                inner = StratifiedKFold(3, shuffle=True, random_state=seed)
                score = {k: float(cross_val_score(make_category_model(X.iloc[tr], b), X.iloc[tr], ytr,
                                                  cv=inner, scoring="accuracy").mean())
                         for k, b in nested.items()}
                pick = max(score, key=lambda k: score[k])
                out["nested"].chosen.append(pick)
                preds["nested"] = make_category_model(X.iloc[tr], nested[pick]).fit(X.iloc[tr], ytr).predict(X.iloc[te])
            if "rules" in out:
                r = rules.loc[yte.index]
                preds["rules"] = np.array([v if isinstance(v, str) and v else majority for v in r])
            if "majority" in out:
                preds["majority"] = np.array([majority] * len(te))
            for m, pr in preds.items():
                out[m].accuracy.append(float(accuracy_score(yte, pr)))
                out[m].macro_f1.append(float(f1_score(yte, pr, average="macro", zero_division=0)))
                out[m].y_true.extend(yte.tolist())
                out[m].y_pred.extend([str(v) for v in pr])
    return out


@dataclass
class PurposeCV:
    method: str
    micro_f1: list[float]
    macro_f1: list[float]
    Y_true: list[np.ndarray]
    Y_pred: list[np.ndarray]


def cv_purposes(
    X: pd.DataFrame,
    Y: np.ndarray,
    R: np.ndarray,
    repeats: int = 3,
    folds: int = 5,
    seed: int = 0,
    variants: dict[str, tuple[tuple[str, ...], bool]] | None = None,
) -> dict[str, PurposeCV]:
    """Repeated k-fold CV of the purpose model against the coded labels, with baselines:
    the rules alone (``R``: 1 where a purpose's rules fire) and the labels present in more
    than half of the training fold (at least the most frequent one)."""
    from sklearn.metrics import f1_score
    from sklearn.model_selection import RepeatedKFold

    variants = variants or {}
    out = {m: PurposeCV(m, [], [], [], []) for m in ("model", "rules", "frequent", *variants)}
    cv = RepeatedKFold(n_splits=folds, n_repeats=repeats, random_state=seed)
    with _quiet():
        for tr, te in cv.split(X):
            model = PurposeModel(seed=seed).fit(X.iloc[tr], Y[tr])
            prev = Y[tr].mean(axis=0)
            freq = (prev > 0.5).astype(int)
            if not freq.any():
                freq[int(np.argmax(prev))] = 1
            preds = {
                "model": model.predict(X.iloc[te]),
                "rules": R[te],
                "frequent": np.tile(freq, (len(te), 1)),
            }
            for name, (blocks, trees) in variants.items():
                vm = PurposeModel(seed=seed, blocks=blocks, trees=trees).fit(X.iloc[tr], Y[tr])
                preds[name] = vm.predict(X.iloc[te])
            for m, pr in preds.items():
                out[m].micro_f1.append(float(f1_score(Y[te], pr, average="micro", zero_division=0)))
                out[m].macro_f1.append(float(f1_score(Y[te], pr, average="macro", zero_division=0)))
                out[m].Y_true.append(Y[te])
                out[m].Y_pred.append(pr)
    return out


def evaluate(p: Paths, repeats: int = 3, folds: int = 5, seed: int = 0, progress: bool = False,
             variants: bool = True, nested: bool = False) -> dict[str, Any]:
    """Cross-validate both tasks and write ``reports/classification.{md,csv}``.

    With ``variants``, the feature-set variants of :data:`CATEGORY_VARIANTS` and
    :data:`PURPOSE_VARIANTS` are measured in the same folds and listed in the report; with
    ``nested``, also the nested-CV estimate of choosing among the category variants.
    """
    from sklearn.metrics import confusion_matrix, precision_recall_fscore_support

    t0 = time.monotonic()
    inp = load_inputs(p, progress)
    tax, X, y = inp.tax, inp.X, inp.labels
    if len(y) < MIN_LABELLED or y.nunique() < 2:
        raise TooFewLabels("a manual category", len(y), f"{MIN_LABELLED} in at least 2 categories")
    if len(inp.coded) < MIN_LABELLED:
        raise TooFewLabels("coded purposes", len(inp.coded), str(MIN_LABELLED))
    rules = pd.Series({r: inp.cat_rules[r].category for r in X.index})
    cvar = {k: v for k, v in CATEGORY_VARIANTS.items() if k != "model"} if variants else {}
    pvar = {k: v for k, v in PURPOSE_VARIANTS.items() if k != "model"} if variants else {}
    cat = cv_categories(X.loc[y.index], y, rules, repeats, folds, seed, variants=cvar,
                        nested=dict(CATEGORY_VARIANTS) if nested else None)
    majors = tax.majors
    coded_repos = [r for r in X.index if r in inp.coded]
    Y = _label_matrix(coded_repos, inp.coded, majors)
    R = np.array([[1 if m in inp.purpose_hits[r] else 0 for m in majors] for r in coded_repos], dtype=int)
    pur = cv_purposes(X.loc[coded_repos], Y, R, repeats, folds, seed, variants=pvar)

    rows: list[dict[str, Any]] = []

    def add(task: str, method: str, metric: str, value: float, label: str = "", predicted: str = "") -> None:
        rows.append({"task": task, "method": method, "metric": metric, "label": label,
                     "predicted": predicted, "value": round(float(value), 4)})

    classes = list(CATEGORIES)
    for m, r in cat.items():
        add("category", m, "accuracy_mean", r.mean("accuracy"))
        add("category", m, "accuracy_sd", r.sd("accuracy"))
        add("category", m, "macro_f1_mean", r.mean("macro_f1"))
        add("category", m, "macro_f1_sd", r.sd("macro_f1"))
        prec, rec, f1, sup = precision_recall_fscore_support(r.y_true, r.y_pred, labels=classes, zero_division=0)
        for c, pr_, rc_, f_, s_ in zip(classes, prec, rec, f1, sup, strict=True):
            add("category", m, "precision", pr_, c)
            add("category", m, "recall", rc_, c)
            add("category", m, "f1", f_, c)
            add("category", m, "support_pooled", s_, c)
        cm = confusion_matrix(r.y_true, r.y_pred, labels=classes)
        for i, c in enumerate(classes):
            for j, d in enumerate(classes):
                add("category", m, "confusion_pooled", cm[i, j], c, d)
    for m, pr in pur.items():
        add("purpose", m, "micro_f1_mean", float(np.mean(pr.micro_f1)))
        add("purpose", m, "micro_f1_sd", float(np.std(pr.micro_f1)))
        add("purpose", m, "macro_f1_mean", float(np.mean(pr.macro_f1)))
        add("purpose", m, "macro_f1_sd", float(np.std(pr.macro_f1)))
        yt, yp = np.vstack(pr.Y_true), np.vstack(pr.Y_pred)
        prec, rec, f1, sup = precision_recall_fscore_support(yt, yp, zero_division=0)
        for k, pid in enumerate(majors):
            add("purpose", m, "precision", prec[k], pid)
            add("purpose", m, "recall", rec[k], pid)
            add("purpose", m, "f1", f1[k], pid)
            add("purpose", m, "support_pooled", sup[k], pid)
    table = pd.DataFrame(rows)
    info = {
        "labelled": len(y), "unlabelled": int(len(X) - len(y)), "coded": len(coded_repos),
        "repeats": repeats, "folds": folds, "seed": seed,
        "class_counts": y.value_counts().reindex(classes).fillna(0).astype(int).to_dict(),
        "purpose_counts": dict(zip(majors, Y.sum(axis=0).tolist(), strict=True)),
        "seconds": round(time.monotonic() - t0, 1),
        "category_variants": list(cvar), "purpose_variants": list(pvar),
        "nested_chosen": dict(Counter(cat["nested"].chosen)) if nested else {},
    }
    p.reports.mkdir(parents=True, exist_ok=True)
    atomic_write_text(p.reports / "classification.csv", table.to_csv(index=False))
    atomic_write_text(p.reports / "classification.md", render_report(table, info, tax))
    summary = {
        "category_accuracy": round(cat["model"].mean("accuracy"), 4),
        "category_macro_f1": round(cat["model"].mean("macro_f1"), 4),
        "rules_accuracy": round(cat["rules"].mean("accuracy"), 4),
        "majority_accuracy": round(cat["majority"].mean("accuracy"), 4),
        "purpose_micro_f1": round(float(np.mean(pur["model"].micro_f1)), 4),
        "purpose_macro_f1": round(float(np.mean(pur["model"].macro_f1)), 4),
        "seconds": info["seconds"],
    }
    log.info("evaluate: %s", summary)
    return summary


def _get(table: pd.DataFrame, task: str, method: str, metric: str, label: str = "", predicted: str = "") -> float:
    sel = table[(table.task == task) & (table.method == method) & (table.metric == metric)
                & (table.label == label) & (table.predicted == predicted)]
    return float(sel["value"].iloc[0])


def render_report(table: pd.DataFrame, info: dict[str, Any], tax: Taxonomy) -> str:
    classes = list(CATEGORIES)
    k, n = info["folds"], info["repeats"]
    L = [
        "# Classification: project categories (RQ1) and Docker purposes (RQ2)",
        "",
        f"Generated by `mldock classify evaluate`. Repeated stratified {k}-fold cross-validation "
        f"({n} repeats, seed {info['seed']}) on the {info['labelled']} repositories the study "
        f"labelled; {info['unlabelled']} unlabelled repositories are predicted, not evaluated. "
        "All transforms (TF-IDF vocabularies, scalers) and the purpose model's C and threshold are "
        "fitted inside the training folds; the category model's settings are fixed, not tuned. "
        "The feature-set variants listed below were compared on these same folds, so the shipped "
        "variant's score carries a small selection optimism. Values are mean ± "
        "standard deviation over the folds.",
        "",
        "## Project category (single label)",
        "",
        "| method | accuracy | macro-F1 |",
        "|---|---|---|",
    ]
    names = {"model": "supervised model (word + character TF-IDF of name/description/homepage/"
                      "topics/search keyword, category rule votes, TF-IDF of the study's free-text "
                      "notes; logistic regression)",
             "rules": "keyword rules alone (abstain -> training-fold majority)",
             "majority": "majority class of the training fold",
             "frequent": "labels in > 50% of the training fold",
             }
    for m in ("model", "rules", "majority"):
        L.append(f"| {names[m]} | {_get(table, 'category', m, 'accuracy_mean'):.3f} ± "
                 f"{_get(table, 'category', m, 'accuracy_sd'):.3f} | "
                 f"{_get(table, 'category', m, 'macro_f1_mean'):.3f} ± {_get(table, 'category', m, 'macro_f1_sd'):.3f} |")
    if info.get("category_variants"):
        L += ["", "Feature-set variants tried (same folds; the model row above is the shipped one; "
              "all use balanced logistic regression, C=1):", "",
              "| variant | accuracy | macro-F1 |", "|---|---|---|"]
        for m in info["category_variants"]:
            L.append(f"| {m} | {_get(table, 'category', m, 'accuracy_mean'):.3f} ± "
                     f"{_get(table, 'category', m, 'accuracy_sd'):.3f} | "
                     f"{_get(table, 'category', m, 'macro_f1_mean'):.3f} ± "
                     f"{_get(table, 'category', m, 'macro_f1_sd'):.3f} |")
    if info.get("nested_chosen"):
        picks = ", ".join(f"{k} ({v})" for k, v in sorted(info["nested_chosen"].items()))
        L += [f"| nested CV: the variant with the best inner 3-fold accuracy, per outer fold "
              f"(chosen: {picks}) | {_get(table, 'category', 'nested', 'accuracy_mean'):.3f} ± "
              f"{_get(table, 'category', 'nested', 'accuracy_sd'):.3f} | "
              f"{_get(table, 'category', 'nested', 'macro_f1_mean'):.3f} ± "
              f"{_get(table, 'category', 'nested', 'macro_f1_sd'):.3f} |"]
    L += ["", "Class sizes (labelled): " + ", ".join(f"{c} {info['class_counts'][c]}" for c in classes), ""]
    L += ["### Per class (model, pooled over all folds and repeats)", "",
          "| category | precision | recall | F1 |", "|---|---|---|---|"]
    for c in classes:
        L.append(f"| {c} | {_get(table, 'category', 'model', 'precision', c):.3f} | "
                 f"{_get(table, 'category', 'model', 'recall', c):.3f} | {_get(table, 'category', 'model', 'f1', c):.3f} |")
    L += ["", f"### Confusion matrix (model; rows = study label, columns = prediction; summed over {n} repeats)", "",
          "| label \\ predicted | " + " | ".join(classes) + " |", "|---" * (len(classes) + 1) + "|"]
    for c in classes:
        L.append(f"| {c} | " + " | ".join(str(int(_get(table, 'category', 'model', 'confusion_pooled', c, d)))
                                           for d in classes) + " |")
    L += ["", "## Docker purposes (multi-label, 21 major categories)", "",
          f"Trained and evaluated on the {info['coded']} repositories whose free-text purpose columns "
          "the study filled, coded to purpose ids by `taxonomy/purpose_coding.yaml` "
          f"(k-fold, {n} repeats). One-vs-rest logistic regressions over the Dockerfile text, "
          "purpose-rule hits, log metadata and the study's notes that are NOT coded into the "
          f"labels ({', '.join(PURPOSE_NOTE_COLUMNS)}), averaged with {PURPOSE_TREES} multi-output "
          "extra trees over the rule hits, log metadata and instruction counts; C (among "
          f"{', '.join(str(c) for c in PURPOSE_C)}) and the probability threshold (among "
          f"{', '.join(str(t) for t in PURPOSE_THRESHOLDS)}) are chosen together by an inner "
          "3-fold CV on each training fold.", "",
          "| method | micro-F1 | macro-F1 |", "|---|---|---|"]
    pnames = {"model": "supervised model (one-vs-rest logistic regression + extra trees)",
              "rules": "keyword rules alone (a purpose is predicted when any of its rules fires)",
              "frequent": names["frequent"]}
    for m in ("model", "rules", "frequent", *info.get("purpose_variants", [])):
        L.append(f"| {pnames.get(m, 'variant: ' + m)} | "
                 f"{_get(table, 'purpose', m, 'micro_f1_mean'):.3f} ± {_get(table, 'purpose', m, 'micro_f1_sd'):.3f} | "
                 f"{_get(table, 'purpose', m, 'macro_f1_mean'):.3f} ± {_get(table, 'purpose', m, 'macro_f1_sd'):.3f} |")
    L += ["", "| purpose | coded repos | model precision | model recall | model F1 | rules F1 |", "|---|---|---|---|---|---|"]
    for pid in tax.majors:
        L.append(f"| {tax.purpose(pid).name} | {info['purpose_counts'][pid]} | "
                 f"{_get(table, 'purpose', 'model', 'precision', pid):.3f} | {_get(table, 'purpose', 'model', 'recall', pid):.3f} | "
                 f"{_get(table, 'purpose', 'model', 'f1', pid):.3f} | {_get(table, 'purpose', 'rules', 'f1', pid):.3f} |")
    L += ["", f"Run time: {info['seconds']} s.", ""]
    return "\n".join(L)


# --------------------------------------------------------------------------------------
# CLI
# --------------------------------------------------------------------------------------


@click.group(invoke_without_command=True)
@click.option("--seed", default=0, show_default=True, help="Random seed for the CV folds.")
@click.pass_context
def cli(ctx: click.Context, seed: int) -> None:
    """Classify projects (6 categories) and Docker purposes (21).

    Without a subcommand: write data/processed/projects.csv (category = the study's label
    where it exists, the model's prediction elsewhere) and purposes.csv (coded from the
    study's free text where it exists, predicted elsewhere).
    """
    from .cli import ctx_paths, progress_disabled

    ctx.ensure_object(dict)
    ctx.obj["seed"] = seed
    if ctx.invoked_subcommand is None:
        counts = classify(ctx_paths(ctx), progress=not progress_disabled(ctx), seed=seed)
        click.echo(
            f"classified {counts['repos']} repositories ({counts['manual']} manual, "
            f"{counts['predicted']} predicted); purposes: {counts['coded']} coded, "
            f"{counts['purpose_rows']} rows; {counts['errors']} errors; {counts['seconds']} s"
        )


@cli.command("evaluate")
@click.option("--repeats", default=3, show_default=True, help="Repeats of the k-fold CV.")
@click.option("--folds", default=5, show_default=True, help="Number of CV folds.")
@click.option("--variants/--no-variants", default=True, show_default=True,
              help="Also measure the feature-set variants tried (slower).")
@click.option("--nested", is_flag=True,
              help="With --variants: also the nested-CV estimate of picking a category variant.")
@click.pass_context
def evaluate_cmd(ctx: click.Context, repeats: int, folds: int, variants: bool, nested: bool) -> None:
    """Cross-validate the classifiers; write reports/classification.md and .csv."""
    from .cli import ctx_paths, progress_disabled

    s = evaluate(ctx_paths(ctx), repeats, folds, int((ctx.obj or {}).get("seed", 0)),
                 progress=not progress_disabled(ctx), variants=variants, nested=nested and variants)
    click.echo(
        f"category: accuracy {s['category_accuracy']:.3f}, macro-F1 {s['category_macro_f1']:.3f} "
        f"(rules {s['rules_accuracy']:.3f}, majority {s['majority_accuracy']:.3f}); "
        f"purposes: micro-F1 {s['purpose_micro_f1']:.3f}, macro-F1 {s['purpose_macro_f1']:.3f}; "
        f"{s['seconds']} s"
    )
