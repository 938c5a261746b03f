"""The labelling queue: one card per studied repository, from the stages' tables only.

A card holds what a person needs to choose a category: the repository's name, description,
topics and homepage (``interim/repos.csv``), its Dockerfiles summarised from parse's tables
(base images and their types, RUN-command categories, compose services), the keyword rules
that fired and the model's suggestion (``processed/projects.csv``).  The study's own label is
never on a card: the rater labels blind.

Queue order: the repositories classify flags ``needs_review`` (when projects.csv has that
column), then the near-duplicate disagreements (pairs of studied repositories with
near-identical text and different study labels, ``taxonomy/labelling.yaml``), then the rest;
within each part the least confident prediction first.
"""

from __future__ import annotations

import json
import math
from typing import Any

import pandas as pd

from ..config import Paths
from ..near_duplicates import load_settings, near_duplicate_pairs
from ..tables import read_table, to_bool


def _suggestion(row: pd.Series) -> tuple[list[dict[str, Any]], str]:
    """The model's suggestion: its top 2 (when classify wrote ``top2``) or prediction+confidence."""
    raw = row.get("top2")
    if isinstance(raw, str) and raw.strip():
        pairs = _parse_top2(raw)
        if pairs:
            return pairs, "; ".join(f"{c['category']} {c['probability']:.2f}" for c in pairs)
        return [], raw.strip()
    cat = row.get("predicted_category")
    if not isinstance(cat, str) or not cat:
        return [], ""
    conf = _float(row.get("confidence"))
    pairs = [{"category": cat, "probability": conf}]
    return pairs, cat if conf is None else f"{cat} {conf:.2f}"


def _parse_top2(raw: str) -> list[dict[str, Any]]:
    try:
        data = json.loads(raw)
    except ValueError:
        return []
    if isinstance(data, dict):
        data = list(data.items())
    out = []
    for item in data if isinstance(data, list) else []:
        if isinstance(item, dict):
            cat, prob = item.get("category"), item.get("probability", item.get("p"))
        elif isinstance(item, list | tuple) and len(item) == 2:
            cat, prob = item
        else:
            return []
        if not isinstance(cat, str) or _float(prob) is None:
            return []
        out.append({"category": cat, "probability": _float(prob)})
    return out


def _float(v: Any) -> float | None:
    try:
        f = float(v)
    except (TypeError, ValueError):
        return None
    return None if math.isnan(f) else f


def _topics(raw: Any) -> list[str]:
    if not isinstance(raw, str) or not raw.strip():
        return []
    try:
        data = json.loads(raw)
    except ValueError:
        return [t.strip() for t in raw.split(",") if t.strip()]
    return [str(t) for t in data] if isinstance(data, list) else []


def docker_summary(base: pd.DataFrame, runs: pd.DataFrame, compose: pd.DataFrame
                   ) -> dict[str, dict[str, Any]]:
    """Per repository: its Dockerfiles (base images with types, RUN categories) and services."""
    out: dict[str, dict[str, Any]] = {}

    def files(repo: str) -> dict[str, Any]:
        return out.setdefault(repo, {"dockerfiles": {}, "compose": []})

    def dockerfile(repo: str, path: str) -> dict[str, Any]:
        return files(repo)["dockerfiles"].setdefault(path, {"path": path, "bases": [], "run": {}})

    for r in base[~base["is_stage_reference"].fillna(False).astype(bool)].itertuples():
        dockerfile(r.repo, r.path)["bases"].append(
            {"image": r.image if isinstance(r.image, str) else r.raw,
             "type": r.base_type_label if isinstance(r.base_type_label, str) else ""})
    for (repo, path, cat), n in runs.groupby(["repo", "path", "category"]).size().items():
        dockerfile(repo, path)["run"][cat] = int(n)
    for r in compose.itertuples():
        files(r.repo)["compose"].append({"path": r.path, "service": r.service,
                                         "image": r.image if isinstance(r.image, str) else ""})
    for v in out.values():
        v["dockerfiles"] = [v["dockerfiles"][k] for k in sorted(v["dockerfiles"])]
    return out


def _corrected(df: pd.DataFrame) -> pd.DataFrame:
    return df[df["mode"] == "corrected"] if "mode" in df.columns else df


def load_cards(p: Paths) -> tuple[list[dict[str, Any]], pd.DataFrame]:
    """Every studied repository's card in queue order, and the near-duplicate pairs."""
    repos = read_table("repos", p)
    projects = read_table("projects", p)
    docker = docker_summary(_corrected(read_table("base_images", p)),
                            _corrected(read_table("run_commands", p)),
                            _corrected(read_table("compose_services", p)))
    pairs = near_duplicate_pairs(repos, load_settings(p))
    meta = repos.set_index("repo")
    cards = []
    for row in projects.to_dict("records"):
        repo = row["repo"]
        info = meta.loc[repo] if repo in meta.index else pd.Series(dtype=object)
        pairs_shown, text = _suggestion(pd.Series(row))
        rules = row.get("rules_fired")
        cards.append({
            "repo": repo,
            "description": _str(info.get("description")),
            "topics": _topics(info.get("topics")),
            "homepage": _str(info.get("homepage")),
            "docker": docker.get(repo, {"dockerfiles": [], "compose": []}),
            "rules": [r for r in rules.split("; ") if r] if isinstance(rules, str) else [],
            "suggestion": pairs_shown,
            "suggestion_text": text,
            "needs_review": _flag(row.get("needs_review")),
            "confidence": _float(row.get("confidence")),
            "reason": "",
        })
    return order(cards, pairs), pairs


def _flag(v: Any) -> bool:
    try:
        return to_bool(v) is True
    except ValueError:
        return False


def _str(v: Any) -> str:
    return v if isinstance(v, str) else ""


def order(cards: list[dict[str, Any]], pairs: pd.DataFrame) -> list[dict[str, Any]]:
    """needs_review first, then near-duplicate disagreements (pair partners together), then
    the rest; within a part the least confident first (no confidence last), then by name."""
    def key(c: dict[str, Any]) -> tuple[bool, float, str]:
        conf = c["confidence"]
        return (conf is None, conf if conf is not None else 0.0, c["repo"])

    by_repo = {c["repo"]: c for c in cards}
    review = sorted((c for c in cards if c["needs_review"]), key=key)
    for c in review:
        c["reason"] = "the model is unsure (needs_review)"
    placed = {c["repo"] for c in review}
    dup: list[dict[str, Any]] = []
    for r in pairs[~pairs["same"].astype(bool)].itertuples():
        for me, other in ((r.repo_a, r.repo_b), (r.repo_b, r.repo_a)):
            card = by_repo.get(me)
            if card is None:
                continue
            note = f"near-duplicate of {other} (cosine {r.cosine:.2f}); the study labelled them differently"
            if me not in placed:
                card["reason"] = note
                dup.append(card)
                placed.add(me)
    rest = sorted((c for c in cards if c["repo"] not in placed), key=key)
    return review + dup + rest
