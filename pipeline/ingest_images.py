"""Ingest, RQ4 part: the package's image CSVs into declared interim tables.

``mldock images --replication`` reads these tables, never the package folder:

* ``package_image_configs`` / ``package_image_layers``: every
  ``raw-data/DockerImage/layers/Manifest_Config_info*.csv`` and ``Manifest_details*.csv``
  row (sorted file names, file order), values as published; the config rows' header shift
  (38 values under 39 headers: the column named ``rootfs_layers_count`` holds the diff_ids,
  study.md 5.2) is undone here;
* ``package_image_repos``: image name (tag stripped) -> the repositories of
  ``RQ1/final-dataset.csv`` listing it, ranked in that file's order;
* ``package_file_types_*``: ``RQ4/files-v2/`` (Figure 5), with the category spellings
  mapped to the canonical ones (``taxonomy/categories.yaml``).
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from .core.categories import Categories
from .core.cells import image_list, image_name
from .errors import SourceInvalid
from .schemas import inputs
from .tables import read_package_csv

LAYERS_DIR = "raw-data/DockerImage/layers"
FILES_V2 = "RQ4/files-v2"
FINAL = "RQ1/final-dataset.csv"

CONFIG_COLUMNS = {"Image": "image", "RepoTag": "repo_tag", "config_size": "config_size",
                  "config_digest": "config_digest", "architecture": "architecture", "os": "os",
                  "config_env_count": "config_env_count", "rootfs_layers_count": "diff_ids"}
LAYER_COLUMNS = {"Image": "image", "RepoTag": "repo_tag", "layers_size": "layers_size",
                 "layers_digest": "layers_digest", "config_digest": "config_digest"}
#: table -> the package CSV it comes from (columns declared in pipeline.schemas.inputs)
FILE_TYPE_FILES = {"package_file_types_top_num": inputs.TOP_NUM, "package_file_types_num": inputs.NUM,
                   "package_file_types_top_size": inputs.TOP_SIZE}
REPO_FILE_TYPE_COLUMNS = {"Repos": "repo", "file_type": "file_type", "total_size": "total_size",
                          "total_number": "total_number", "perc_size": "perc_size",
                          "perc_num": "perc_num"}


def _select(raw: pd.DataFrame, columns: dict[str, str]) -> pd.DataFrame:
    """The named columns of a package frame, renamed (absent ones empty)."""
    return pd.DataFrame({dst: raw[src] if src in raw else "" for src, dst in columns.items()},
                        index=raw.index)


def _rows(path: Path, columns: dict[str, str], pkg: Path) -> pd.DataFrame:
    """The named columns of a package CSV, renamed, blanks as empty text, plus ``file``."""
    out = _select(read_package_csv(path, root=pkg).fillna(""), columns)
    out.insert(0, "file", path.name)
    return out


def _concat(frames: list[pd.DataFrame], columns: list[str]) -> pd.DataFrame:
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=columns)


def manifest_tables(pkg: Path) -> dict[str, pd.DataFrame]:
    """``package_image_configs`` and ``package_image_layers`` from the Manifest CSVs."""
    d = pkg / LAYERS_DIR
    if not d.is_dir():
        raise SourceInvalid(str(d), "no raw-data/DockerImage/layers folder")
    configs = [_rows(f, CONFIG_COLUMNS, pkg) for f in sorted(d.glob("Manifest_Config_info*.csv"))]
    layers = [_rows(f, LAYER_COLUMNS, pkg) for f in sorted(d.glob("Manifest_details*.csv"))]
    if not configs or not layers:
        raise SourceInvalid(str(d), "no Manifest_Config_info*.csv or Manifest_details*.csv")
    return {"package_image_configs": _concat(configs, ["file", *CONFIG_COLUMNS.values()]),
            "package_image_layers": _concat(layers, ["file", *LAYER_COLUMNS.values()])}


def image_repos_table(final: pd.DataFrame) -> pd.DataFrame:
    """``package_image_repos`` from final-dataset rows (columns ``Repos``, ``latest_image``)."""
    ranked: dict[str, list[str]] = {}
    for repo, cell in zip(final["Repos"].fillna(""), final.get("latest_image", pd.Series(dtype=str)),
                          strict=False):
        repo = str(repo).strip()
        if not repo:
            continue
        for img in image_list(cell):
            name = image_name(img)
            if name and repo not in (lst := ranked.setdefault(name, [])):
                lst.append(repo)
    rows = [{"image": img, "rank": i, "repo": repo}
            for img, repos in ranked.items() for i, repo in enumerate(repos, 1)]
    return pd.DataFrame(rows, columns=["image", "rank", "repo"])


def _with_categories(df: pd.DataFrame, raw: pd.Series, cats: Categories) -> pd.DataFrame:  # type: ignore[type-arg]
    def canon(v: str) -> str:
        try:
            return cats.canonical(v)
        except KeyError:
            return v.strip()

    df.insert(0, "raw_category", raw.to_numpy())
    df.insert(0, "category", raw.map(canon).to_numpy())
    return df


def file_type_tables(pkg: Path, cats: Categories) -> dict[str, pd.DataFrame]:
    """The ``package_file_types_*`` tables from ``RQ4/files-v2``."""
    d = pkg / FILES_V2
    if not d.is_dir():
        raise SourceInvalid(str(d), "no RQ4/files-v2 folder")
    out: dict[str, pd.DataFrame] = {}
    for table, spec in FILE_TYPE_FILES.items():
        raw = read_package_csv(pkg / spec.path, spec.columns, rows=spec.rows, root=pkg).fillna("")
        cols = [c for c in spec.columns if c != "Category"]
        out[table] = _with_categories(_select(raw, {c: c for c in cols}), raw["Category"], cats)
    frames = []
    for f in sorted(d.glob("layers_files_*.csv")):
        raw = read_package_csv(f, root=pkg).fillna("")
        df = _select(raw, REPO_FILE_TYPE_COLUMNS)
        df.insert(0, "file", f.name)
        cat = raw["Category"] if "Category" in raw else pd.Series([""] * len(raw), index=raw.index)
        frames.append(_with_categories(df, cat, cats))
    out["package_file_types_repos"] = _concat(
        frames, ["file", "category", "raw_category", *REPO_FILE_TYPE_COLUMNS.values()])
    return out


def image_tables(pkg: Path, final: pd.DataFrame, cats: Categories) -> dict[str, pd.DataFrame]:
    """Every RQ4 interim table, read and checked (nothing written)."""
    return {**manifest_tables(pkg), "package_image_repos": image_repos_table(final),
            **file_type_tables(pkg, cats)}


