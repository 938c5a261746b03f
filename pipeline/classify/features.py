"""The feature frame: one row per repository, text columns, log metadata and rule hits.

Nothing here looks at a label, so it is computed once for all repositories; the fitted
parts (TF-IDF vocabularies, scalers, models) live in :mod:`pipeline.classify.models`.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from typing import Any

import pandas as pd

from ..errors import TaxonomyError
from .evidence import NOTE_COLUMNS, NUMERIC, Evidence
from .rules import RuleDecision, category_by_rules, purposes_by_rules
from .taxonomy import Taxonomy

#: the notes the PURPOSE model may read: never a column its targets are coded from
#: (taxonomy/purpose_coding.yaml ``columns``; checked in :func:`feature_frame`)
PURPOSE_NOTE_COLUMNS = ("when", "why", "maincomponent")
MAX_COMMAND_CHARS = 20_000  # per repository, to bound the text features

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
        for k in tax.instructions:
            row[f"num_instr_{k.lower()}"] = math.log1p(ev.instructions.get(k, 0))
        dec = cat_rules[ev.repo] if cat_rules else category_by_rules(ev, tax.categories)
        for cat in tax.categories:
            row[f"rule_cat_{cat.id}"] = float(dec.votes[cat.name])
        hits = purpose_hits[ev.repo] if purpose_hits else purposes_by_rules(ev, tax.purposes)
        for p in tax.purposes:
            row[f"rule_purpose_{p.id}"] = float(p.id in hits)
        rows.append(row)
    return pd.DataFrame(rows).set_index("repo")
