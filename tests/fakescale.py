"""The scale world of the fake GitHub: the study's 3,075 candidates, generated at test time.

Built from the replication package (never copied into git):

* ``RQ1/ML_Docker_repositories.xlsx`` sheet ``initial``: one :class:`FakeRepo` per candidate
  with its counts (commits, contributors, releases), stars, forks, archived flag, creation
  date, language and description; its search ``topic`` is its only GitHub topic, so the
  keyword search finds it by that keyword;
* ``raw-data/Dockerfiles/logs/<owner>/<repo>/latest/``: the repository's Docker files at
  their paths (the tree and blobs the fake serves);
* ``RQ1/final-dataset.csv`` ``docker_images``: the image the study matched, on the fake
  Docker Hub: a description linking back to the repository, or (every other repository
  that has a Dockerfile) no link but the repository's own Dockerfile;
* decoys that must never reach the tables: forks of studied repositories (same topic, same
  files), non-ML repositories, and for each matched image a same-named image in another
  namespace with neither a link nor an equal Dockerfile.
"""

from __future__ import annotations

import hashlib
from datetime import date

import pandas as pd

from pipeline.core.sniff import name_match

from .fakegithub import LOGS, FakeRepo, HubImage

PACKAGE = LOGS.parents[2]
XLSX = PACKAGE / "RQ1" / "ML_Docker_repositories.xlsx"
FINAL = PACKAGE / "RQ1" / "final-dataset.csv"
N_FORKS = 40
N_NON_ML = 40


def _text(v: object) -> str:
    return "" if v is None or (isinstance(v, float) and v != v) else str(v)


def _int(v: object) -> int:
    """A count of the sheet; an unreadable cell (a few say ``s``) as 0, as the criteria read it."""
    n = pd.to_numeric(pd.Series([v]), errors="coerce").iloc[0]
    return 0 if pd.isna(n) else int(n)


def files_of(repo: str) -> dict[str, bytes]:
    """The repository's files in the package (``logs/<repo>/latest/``), by repository path."""
    d = LOGS / repo / "latest"
    if not d.is_dir():
        return {}
    return {f.relative_to(d).as_posix(): f.read_bytes() for f in sorted(d.rglob("*")) if f.is_file()}


def hub_name(ref: str) -> str | None:
    """``ns/name`` of a ``docker_images`` value on Docker Hub; None for another registry."""
    name = ref.rsplit(":", 1)[0] if ":" in ref.split("/")[-1] else ref
    parts = name.split("/")
    if len(parts) == 1:
        return f"library/{name}"
    if len(parts) != 2 or "." in parts[0] or ":" in parts[0]:
        return None
    return name


def study_matches() -> dict[str, str]:
    """repo -> the Docker Hub image (``ns/name``) the study matched (final-dataset.csv)."""
    df = pd.read_csv(FINAL, usecols=["Repos", "docker_images"]).dropna()
    return {str(r): str(i) for r, i in zip(df["Repos"], df["docker_images"], strict=True)}


def first_dockerfile(files: dict[str, bytes]) -> bytes | None:
    for path in sorted(files):
        if name_match(path.rsplit("/", 1)[-1]) == "dockerfile" and not path.endswith(".js"):
            return files[path]
    return None


def _odd(name: str) -> bool:
    return hashlib.sha1(name.encode()).digest()[0] % 2 == 1


def make_scale_repos() -> list[FakeRepo]:
    """The 3,075 candidates of the study plus the decoys, deterministic."""
    df = pd.read_excel(XLSX, sheet_name="initial")
    matched = study_matches()
    repos: list[FakeRepo] = []
    for row in df.to_dict("records"):
        full = str(row["Repos"])
        files = files_of(full)
        r = FakeRepo(full, date.fromisoformat(str(row["created_at"])[:10]), stars=_int(row["stars"]),
                     forks=_int(row["forks"]), topics=[str(row["topic"])], description=_text(row["description"]),
                     commits=_int(row["commits"]), contributors=_int(row["contributors"]),
                     releases=_int(row["releases"]), archived=bool(row["archived"]),
                     language=_text(row["language"]) or "Python", files=files)
        image = hub_name(matched[full]) if full in matched else None
        if image is not None:
            own = first_dockerfile(files)
            if own is not None and _odd(full):  # confirmed by the same Dockerfile only
                r.images.append(HubImage(image, "an image of ours", dockerfile=own.decode("utf-8", "replace")))
            else:
                r.images.append(HubImage(image, f"Sources: https://github.com/{full}"))
            short = image.split("/")[1]
            r.images.append(HubImage(f"decoy-{short}/{short}", f"not from https://github.com/{full}-old",
                                     dockerfile="FROM scratch\n"))
        repos.append(r)
    studied = [r for r in repos if r.files][:N_FORKS]
    for r in studied:  # forks: same topic and files, must be left out by fork:false
        repos.append(FakeRepo(f"forker/{r.full_name.split('/')[1]}", r.created, stars=r.stars, forks=r.forks,
                              topics=list(r.topics), commits=r.commits, releases=r.releases, fork=True,
                              files=dict(r.files)))
    for i in range(N_NON_ML):  # busy, well-kept repositories no ML keyword finds
        repos.append(FakeRepo(f"webshop/site{i}", date(2016, 1, 1 + i % 28), stars=100 + i, forks=20,
                              topics=["javascript"], description="an online shop", commits=500, releases=3,
                              files=dict(studied[i % len(studied)].files)))
    return repos


__all__ = ["files_of", "hub_name", "make_scale_repos", "study_matches"]
