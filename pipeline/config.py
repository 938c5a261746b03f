"""Paths and settings.  Importing this module has no side effects.

Every path is derived from one project root: ``$MLDOCK_HOME`` when set, otherwise the
directory holding ``pyproject.toml`` above the current directory (falling back to the
current directory).  Functions, not module constants, so tests can point elsewhere.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPLICATION_ENV = "MLDOCK_REPLICATION"
HOME_ENV = "MLDOCK_HOME"
TOKEN_ENV = "GITHUB_TOKEN"
GITHUB_API_ENV = "GITHUB_API_URL"
DOCKERHUB_ENV = "DOCKERHUB_URL"
DEFAULT_GITHUB_API = "https://api.github.com"
DEFAULT_DOCKERHUB = "https://hub.docker.com"
PACKAGE_URL = "https://github.com/openjamoses/EASE2022/archive/refs/heads/main.zip"


def _find_root(start: Path) -> Path:
    for p in (start, *start.parents):
        if (p / "pyproject.toml").exists() and (p / "pipeline").is_dir():
            return p
    return start


@dataclass(frozen=True)
class Paths:
    """All locations the pipeline reads and writes, relative to one root."""

    root: Path

    @property
    def data(self) -> Path:
        return self.root / "data"

    @property
    def raw(self) -> Path:
        return self.data / "raw"

    @property
    def raw_files(self) -> Path:
        """Copies of every Dockerfile/compose candidate: ``raw/files/<owner>/<repo>/<path>``."""
        return self.raw / "files"

    @property
    def interim(self) -> Path:
        return self.data / "interim"

    @property
    def processed(self) -> Path:
        return self.data / "processed"

    @property
    def external(self) -> Path:
        return self.data / "external"

    @property
    def cache(self) -> Path:
        return self.data / "cache"

    @property
    def taxonomy(self) -> Path:
        return self.root / "taxonomy"

    @property
    def reports(self) -> Path:
        return self.root / "reports"

    @property
    def targets(self) -> Path:
        """``targets/``: what the reproduction report compares (sections.yaml)."""
        return self.root / "targets"

    @property
    def notebooks(self) -> Path:
        return self.root / "notebooks"

    @property
    def source_record(self) -> Path:
        """JSON written by ingest/collect: where the data came from."""
        return self.interim / "source.json"

    def table(self, location: str, name: str) -> Path:
        return self.data / location / f"{name}.csv"

    def package_dir(self) -> Path:
        """The replication package's ``Datasets/`` folder recorded by the last ingest."""
        from .errors import StageInputMissing

        rec = self.source_record
        if not rec.exists():
            raise StageInputMissing(str(rec), "mldock ingest")
        info = json.loads(rec.read_text(encoding="utf-8"))
        path = info.get("package_dir")
        if not path:
            raise StageInputMissing("replication package (source.json has none)", "mldock ingest")
        return Path(path)


def paths(root: Path | str | None = None) -> Paths:
    """Return the project paths; ``root`` overrides ``$MLDOCK_HOME`` and discovery."""
    if root is not None:
        return Paths(Path(root).resolve())
    env = os.environ.get(HOME_ENV)
    if env:
        return Paths(Path(env).resolve())
    return Paths(_find_root(Path.cwd().resolve()))


def default_replication_candidates(p: Paths) -> list[Path]:
    """Where ``ingest`` looks when no ``--from`` is given, in order."""
    out: list[Path] = []
    env = os.environ.get(REPLICATION_ENV)
    if env:
        out.append(Path(env))
    out.append(p.external / "ease2022")
    out.append(p.root.parent / "shared" / "ease2022")
    return out


def github_token() -> str | None:
    """The GitHub token from the environment; never logged or written anywhere."""
    tok = os.environ.get(TOKEN_ENV, "").strip()
    return tok or None


def github_api_url() -> str:
    return os.environ.get(GITHUB_API_ENV, DEFAULT_GITHUB_API).rstrip("/")


def dockerhub_url() -> str:
    return os.environ.get(DOCKERHUB_ENV, DEFAULT_DOCKERHUB).rstrip("/")


def __getattr__(name: str) -> Any:
    """``CATEGORIES``: the six category ids in Table 1 order, read (lazily, once) from
    ``taxonomy/categories.yaml`` -- kept for the modules that import it from here; new code
    uses :func:`pipeline.taxonomy.load_categories`."""
    if name == "CATEGORIES":
        from .taxonomy import load_categories

        return load_categories().ids
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
