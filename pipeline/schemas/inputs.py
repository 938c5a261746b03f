"""What ingest reads from the replication package: files, folders, sheets and columns.

``mldock ingest`` checks the package against this declaration before it writes anything
(:mod:`pipeline.ingest_checks`): a missing or misnamed entry, a folder that is a file, a
missing column or a table without rows is one line naming the file, exit 1.  The columns
are those the stage reads; a package CSV may carry more.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Input:
    """One entry of the package, relative to its ``Datasets/`` folder."""

    path: str
    kind: str  # "csv", "xlsx" or "folder"
    columns: tuple[str, ...] = ()
    #: xlsx only: sheet -> the columns read from it
    sheets: dict[str, tuple[str, ...]] = field(default_factory=dict)
    #: a table must have at least one data row
    rows: bool = True


MANUAL = Input("RQ1/manual-labeling.csv", "csv", (
    "repos", "manual_topic", "total_dockerfiles", "latest_image", "What", "When", "MLcomponent",
    "Why", "Maincomponent", "purpose from documentation", "Note"))
FINAL = Input("RQ1/final-dataset.csv", "csv", (
    "Repos", "topic", "commits", "contributors", "issues", "pulls", "releases", "repo_size",
    "stars", "forks", "open_issues", "archived", "latest_image", "sort_inspect", "created_at",
    "updated_at", "docker_files_count", "language", "homepage", "description"))
XLSX = Input("RQ1/ML_Docker_repositories.xlsx", "xlsx", sheets={
    "all-search": (), "initial": ("commits", "releases", "forks", "stars", "archived"),
    "100commits": (), "1release": (), "notarchived": (), "images": (), "filtered": ("Repos",),
    "labeling2": (), "filtered2": (),
    "baseimages": ("Repos", "Category", "Dockerfile", "Baseimage", "Base", "version", "version_clean"),
    "temp": ("Base",),
})
LOGS = Input("raw-data/Dockerfiles/logs", "folder")
LAYERS = Input("raw-data/DockerImage/layers", "folder")
FILES_V2 = Input("RQ4/files-v2", "folder")
TOP_NUM = Input("RQ4/files-v2/Top10_files_by_num.csv", "csv",
                ("Category", "file_type", "perc_number", "perc_storage"))
NUM = Input("RQ4/files-v2/Top10_files_by_num_1.csv", "csv", ("Category", "file_type", "perc_number"))
TOP_SIZE = Input("RQ4/files-v2/Top10_files_by_size.csv", "csv",
                 ("Category", "file_type", "perc_size", "size"))

#: every entry ingest needs, in the order it checks them
PACKAGE_INPUTS: tuple[Input, ...] = (MANUAL, FINAL, XLSX, LOGS, LAYERS, FILES_V2, TOP_NUM, NUM, TOP_SIZE)
