"""``mldock publish``: the reusable datasets, their data dictionary and provenance.

Copies every table declared with ``published=True`` in :mod:`pipeline.schemas` that exists
into ``data/published/``, with

* ``datapackage.json``: a Frictionless Data Package generated from the schemas (every
  field typed and described, primary keys, hashes and sizes);
* ``<table>.csv.meta.json``: the provenance sidecar written with the table (command, code
  version, taxonomy hash, source, date, rows), plus where and when it was published;
* ``CITATION.cff``: how to cite the data (a dataset citing the software and the study).
  The project root's ``CITATION.cff`` cites the software; it is tracked, never written.

Tables that do not exist yet are skipped with a log line; the package lists what exists.
"""

from __future__ import annotations

import hashlib
import json
import logging
import sys
import tomllib
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from .config import Paths
from .outputs import resolve, writes_set
from .progress import Progress, no_progress, track
from .schemas import TABLES, Column, Table
from .tables import atomic_write_bytes, atomic_write_text, code_version, taxonomy_hash

log = logging.getLogger(__name__)

PACKAGE_NAME = "mldock-ease2022"

FRICTIONLESS_TYPES = {
    "str": "string",
    "int": "integer",
    "float": "number",
    "bool": "boolean",
    "date": "string",
    "json": "string",
}

PAPER_REFERENCE: dict[str, Any] = {
    "type": "conference-paper",
    "title": "Studying the Practices of Deploying Machine Learning Projects on Docker",
    "authors": [
        {"family-names": "Openja", "given-names": "Moses"},
        {"family-names": "Majidi", "given-names": "Forough"},
        {"family-names": "Khomh", "given-names": "Foutse"},
        {"family-names": "Chembakottu", "given-names": "Bhagya"},
        {"family-names": "Li", "given-names": "Heng"},
    ],
    "collection-title": "Proceedings of the International Conference on Evaluation and "
                        "Assessment in Software Engineering (EASE 2022)",
    "year": 2022,
    "repository": "https://github.com/openjamoses/EASE2022",
}


def source_path(p: Paths, t: Table) -> Path:
    """Where a declared table lives (report tables sit under ``reports/``)."""
    if t.location == "reports":
        return p.reports / f"{t.name}.csv"
    return p.table(t.location, t.name)


def field_descriptor(c: Column) -> dict[str, Any]:
    f: dict[str, Any] = {"name": c.name, "type": FRICTIONLESS_TYPES[c.dtype],
                         "description": c.description}
    if c.dtype == "date":
        f["description"] = c.description + " (ISO 8601)"
    if c.dtype == "json":
        f["description"] = c.description + " (JSON-encoded)"
    if not c.nullable:
        f["constraints"] = {"required": True}
    return f


def table_schema(t: Table) -> dict[str, Any]:
    """The Frictionless Table Schema of a declared table."""
    schema: dict[str, Any] = {
        "fields": [field_descriptor(c) for c in t.columns],
        "missingValues": [""],
    }
    if t.key:
        schema["primaryKey"] = list(t.key)
    return schema


def resource(t: Table, filename: str, data: bytes) -> dict[str, Any]:
    """The data-package entry of table ``t`` published as ``filename`` with content ``data``."""
    return {
        "name": t.name.replace("_", "-"),
        "path": filename,
        "title": t.name,
        "description": t.description,
        "profile": "tabular-data-resource",
        "format": "csv",
        "mediatype": "text/csv",
        "encoding": "utf-8",
        "bytes": len(data),
        "hash": sha256_tag(data),
        "schema": table_schema(t),
    }


def project_meta(p: Paths) -> dict[str, Any]:
    """Name, version, description, license and authors from pyproject.toml (if present)."""
    meta: dict[str, Any] = {"name": "mldock", "version": "0.0.0", "description": "",
                            "license": "MIT", "authors": []}
    f = p.root / "pyproject.toml"
    try:
        proj = tomllib.loads(f.read_text(encoding="utf-8")).get("project", {})
    except (OSError, tomllib.TOMLDecodeError):
        proj = {}
    for k in ("name", "version", "description"):
        if proj.get(k):
            meta[k] = proj[k]
    lic = proj.get("license")
    if isinstance(lic, dict) and lic.get("text"):
        meta["license"] = lic["text"]
    meta["authors"] = [a.get("name", "") for a in proj.get("authors", []) if a.get("name")]
    return meta


def datapackage(meta: dict[str, Any], resources: list[dict[str, Any]]) -> dict[str, Any]:
    """``datapackage.json`` for ``resources``; ``meta`` is :func:`project_meta`."""
    return {
        "profile": "tabular-data-package",
        "name": PACKAGE_NAME,
        "title": "ML projects on Docker: the EASE 2022 study's data, reproduced by mldock",
        "description": (
            "Repositories of machine-learning projects that use Docker, with their categories, "
            "Dockerfiles, instructions, base images, RUN commands, Docker purposes, images, "
            "layers and file types, as produced by the mldock pipeline. Each CSV has a "
            "provenance sidecar <file>.meta.json."),
        "version": meta["version"],
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "contributors": [{"title": a, "role": "author"} for a in meta["authors"]] or
                        [{"title": "mldock developers", "role": "author"}],
        "sources": [{"title": "Replication package of Openja et al., EASE 2022",
                     "path": PAPER_REFERENCE["repository"]}],
        "keywords": ["docker", "machine learning", "mining software repositories",
                     "reproduction"],
        "resources": resources,
    }


def citation_cff(meta: dict[str, Any]) -> str:
    """CITATION.cff for the published data (``meta``: :func:`project_meta`): a dataset made
    by the mldock software, citing the study it reproduces."""
    authors = meta["authors"] or ["mldock developers"]
    names = [f"  - name: \"{a}\"" for a in authors]
    lines = [
        "# Written by `mldock publish` into data/published/ with the data it describes.",
        "cff-version: 1.2.0",
        "message: If you use these datasets, please cite them, the software that made them "
        "and the study they reproduce.",
        "type: dataset",
        "title: \"ML projects on Docker: the EASE 2022 study's data, reproduced by mldock\"",
        f"version: \"{meta['version']}\"",
        f"license: {meta['license']}",
        "authors:",
        *names,
        "keywords: [docker, machine learning, mining software repositories, reproduction]",
        "references:",
        "  - type: software",
        f"    title: \"{meta['name']}: {meta['description']}\"",
        f"    version: \"{meta['version']}\"",
        "    authors:",
        *[f"    {n}" for n in names],
        f"  - type: {PAPER_REFERENCE['type']}",
        f"    title: \"{PAPER_REFERENCE['title']}\"",
        "    authors:",
        *[f"      - family-names: {a['family-names']}\n        given-names: {a['given-names']}"
          for a in PAPER_REFERENCE["authors"]],
        f"    collection-title: \"{PAPER_REFERENCE['collection-title']}\"",
        f"    year: {PAPER_REFERENCE['year']}",
        f"    repository: \"{PAPER_REFERENCE['repository']}\"",
    ]
    return "\n".join(lines) + "\n"


def undocumented_fields(pkg: dict[str, Any]) -> list[str]:
    """``resource.field`` for every field (or resource) of a data package without a description."""
    bad = []
    for res in pkg.get("resources", []):
        if not str(res.get("description", "")).strip():
            bad.append(str(res.get("name")))
        for f in res.get("schema", {}).get("fields", []):
            if not str(f.get("description", "")).strip():
                bad.append(f"{res.get('name')}.{f.get('name')}")
    return bad


@writes_set("publish")
def publish(p: Paths, out: Path | None = None, tables: list[str] | None = None,
            progress: Progress = no_progress) -> dict[str, Any]:
    """Copy the published tables with provenance; write datapackage.json and CITATION.cff
    into ``out`` (default ``data/published/``)."""
    out = out or p.data / "published"
    out.mkdir(parents=True, exist_ok=True)
    chosen = [t for t in TABLES.values() if t.published and (tables is None or t.name in tables)]
    now = datetime.now(UTC).isoformat(timespec="seconds")
    command = " ".join(["mldock", *sys.argv[1:]]) if sys.argv else "mldock publish"
    version, tax_hash = code_version(p.root), taxonomy_hash(p.root)
    resources, skipped = [], []
    for t in track(sorted(chosen, key=lambda t: t.name), progress, "publish", len(chosen), "table"):
        src = source_path(p, t)
        if not src.exists():
            skipped.append(t.name)
            log.info("published table %s skipped: %s missing (run mldock %s)", t.name, src, t.stage)
            continue
        target = out / src.name
        data = src.read_bytes()
        atomic_write_bytes(target, data)
        side = src.with_name(src.name + ".meta.json")
        meta: dict[str, Any] = {}
        if side.exists():
            try:
                meta = json.loads(side.read_text(encoding="utf-8"))
            except ValueError:
                log.warning("%s: unreadable provenance sidecar; a new one is written", side)
        if "rows" not in meta:
            with open(resolve(target), encoding="utf-8") as fh:
                meta["rows"] = max(0, sum(1 for _ in fh) - 1)
        meta.setdefault("table", t.name)
        meta.setdefault("stage", t.stage)
        meta.setdefault("code_version", version)
        meta.setdefault("taxonomy_hash", tax_hash)
        res = resource(t, target.name, data)
        meta["published"] = {"from": str(src.relative_to(p.root)) if src.is_relative_to(p.root)
                             else str(src), "at": now, "command": command,
                             "code_version": version, "hash": res["hash"]}
        atomic_write_text(out / (target.name + ".meta.json"), json.dumps(meta, indent=2) + "\n")
        resources.append(res)
    project = project_meta(p)
    atomic_write_text(out / "datapackage.json",
                      json.dumps(datapackage(project, resources), indent=2) + "\n")
    atomic_write_text(out / "CITATION.cff", citation_cff(project))
    log.info("published %d tables to %s (%d skipped)", len(resources), out, len(skipped))
    return {"out": out, "published": [r["title"] for r in resources], "skipped": skipped}


def sha256_tag(data: bytes) -> str:
    """A Frictionless ``hash`` value: ``sha256:<hex>``."""
    return "sha256:" + hashlib.sha256(data).hexdigest()


def verify(p: Paths, published: Path | None = None) -> tuple[list[str], list[str]]:
    """Check ``published`` (default ``data/published/``) against what this code makes.

    The source tables are published again into a temporary folder; for every resource of
    the recorded ``datapackage.json`` the sha256 of the published file and of the rebuilt
    one must equal the recorded ``hash``, and both packages must list the same resources.
    ``CITATION.cff`` must equal the fresh one byte for byte.  Returns (files checked,
    problems); no problems means the published CSVs are exactly what this code publishes
    from the current tables.  (``datapackage.json`` and the
    sidecars carry dates, so they are compared by their resources, not bytes.)
    """
    import tempfile

    published = published or p.data / "published"
    pkg_file = published / "datapackage.json"
    if not pkg_file.exists():
        return [], [f"{pkg_file} missing: run mldock publish"]
    recorded = {r["path"]: r for r in json.loads(pkg_file.read_text("utf-8"))["resources"]}
    with tempfile.TemporaryDirectory(prefix="mldock-verify-") as tmp:
        publish(p, out=Path(tmp))
        rebuilt = {r["path"]: r for r in
                   json.loads((Path(tmp) / "datapackage.json").read_text("utf-8"))["resources"]}
        problems = [f"{name}: published but not rebuilt from the current tables"
                    for name in sorted(set(recorded) - set(rebuilt))]
        problems += [f"{name}: rebuilt but not in the published datapackage.json"
                     for name in sorted(set(rebuilt) - set(recorded))]
        for name in sorted(set(recorded) & set(rebuilt)):
            want = recorded[name].get("hash")
            for label, f in (("published", published / name), ("rebuilt", Path(tmp) / name)):
                got = sha256_tag(f.read_bytes()) if f.exists() else "missing"
                if got != want:
                    problems.append(f"{name}: {label} file is {got}, datapackage.json says {want}")
        cff, fresh = published / "CITATION.cff", Path(tmp) / "CITATION.cff"
        if not cff.exists():
            problems.append("CITATION.cff: missing from the published data")
        elif cff.read_bytes() != fresh.read_bytes():
            problems.append("CITATION.cff: differs from the one a fresh publish writes")
    return sorted([*recorded, "CITATION.cff"]), problems

