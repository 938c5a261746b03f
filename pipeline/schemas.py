"""Every table the pipeline writes: columns, types, descriptions, keys.

Declared once here; :func:`pipeline.tables.write_table` checks a frame against its
schema before writing, and ``mldock publish`` generates the data dictionary from it.

Types: ``str``, ``int``, ``float``, ``bool``, ``date`` (ISO 8601 string), ``json``
(a JSON-encoded list/dict held in a string column).
"""

from __future__ import annotations

from dataclasses import dataclass, field

DTYPES = ("str", "int", "float", "bool", "date", "json")


@dataclass(frozen=True)
class Column:
    name: str
    dtype: str
    description: str
    nullable: bool = True

    def __post_init__(self) -> None:
        if self.dtype not in DTYPES:
            raise ValueError(f"column {self.name}: unknown dtype {self.dtype}")
        if not self.description.strip():
            raise ValueError(f"column {self.name}: empty description")


@dataclass(frozen=True)
class Table:
    name: str
    location: str  # "interim" or "processed"
    stage: str
    description: str
    columns: tuple[Column, ...]
    key: tuple[str, ...] = ()
    published: bool = False
    extra: dict[str, str] = field(default_factory=dict)

    @property
    def column_names(self) -> list[str]:
        return [c.name for c in self.columns]

    def column(self, name: str) -> Column:
        for c in self.columns:
            if c.name == name:
                return c
        raise KeyError(name)


TABLES: dict[str, Table] = {}


def register(table: Table) -> Table:
    if table.name in TABLES:
        raise ValueError(f"table {table.name} declared twice")
    missing = [k for k in table.key if k not in table.column_names]
    if missing:
        raise ValueError(f"table {table.name}: key columns {missing} not declared")
    TABLES[table.name] = table
    return table


def C(name: str, dtype: str, description: str, nullable: bool = True) -> Column:
    return Column(name, dtype, description, nullable)


ERRORS_COLUMNS = (
    C("stage", "str", "Pipeline stage that met the problem", False),
    C("item", "str", "The item that failed: a file path, repository or image reference", False),
    C("error_type", "str", "Exception class or short error code", False),
    C("message", "str", "Human-readable description of the problem", False),
)


def errors_table(stage: str) -> Table:
    """Schema of ``data/interim/<stage>_errors.csv`` (not registered: one per stage)."""
    return Table(
        name=f"{stage}_errors",
        location="interim",
        stage=stage,
        description=f"Items the {stage} stage could not process, one row per problem",
        columns=ERRORS_COLUMNS,
    )


# --------------------------------------------------------------------------------------
# ingest / collect (backbone): interim tables
# --------------------------------------------------------------------------------------

REPOS = register(
    Table(
        name="repos",
        location="interim",
        stage="ingest",
        description="One row per studied repository, with GitHub metadata, labels and matched images",
        key=("repo",),
        published=True,
        columns=(
            C("repo", "str", "Repository full name, owner/name", False),
            C("in_final_dataset", "bool", "True if the repository is in final-dataset.csv (405 set); False for the one only in manual-labeling.csv", False),
            C("search_topic", "str", "The search keyword that found the repository"),
            C("commits", "int", "Number of commits on the default branch"),
            C("contributors", "int", "Number of contributors"),
            C("issues", "int", "Number of issues"),
            C("pulls", "int", "Number of pull requests"),
            C("releases", "int", "Number of releases"),
            C("size_kb", "int", "GitHub repository size field, in KB"),
            C("stars", "int", "Stargazers count"),
            C("forks", "int", "Forks count"),
            C("open_issues", "int", "Open issues count"),
            C("archived", "bool", "Whether the repository is archived"),
            C("created_at", "date", "Creation date"),
            C("updated_at", "date", "Last update date (pushed_at for collected data)"),
            C("language", "str", "Primary language reported by GitHub"),
            C("homepage", "str", "Homepage URL"),
            C("description", "str", "Repository description"),
            C("topics", "json", "GitHub topics (JSON list; empty when unknown)"),
            C("default_branch", "str", "Default branch name (collected data only)"),
            C("head_sha", "str", "Commit SHA the files were read at (collected data only)"),
            C("docker_files_count", "int", "GitHub code-search count of files named like Dockerfile"),
            C("total_dockerfiles", "int", "Number of files named like a Dockerfile found in the repository (study's Table 1 'Dockerfiles')"),
            C("raw_label", "str", "The study's manual project-category label as published (manual_topic), empty when blank"),
            C("category", "str", "Normalised project category (one of the six), empty when unlabelled"),
            C("label_source", "str", "'manual' when the study labelled the repository, empty when the label is blank"),
            C("images", "json", "Matched Docker Hub images (JSON list of image:tag)"),
            C("inspect_ok", "bool", "True if any matched image was inspected successfully (sort_inspect)"),
            C("source", "str", "Where the row came from: 'ease2022' or 'github'", False),
        ),
    )
)

FUNNEL = register(
    Table(
        name="funnel",
        location="interim",
        stage="ingest",
        description="The collection funnel, one row per step, with the repository count left after it",
        key=("step",),
        published=True,
        columns=(
            C("order", "int", "Position of the step in the funnel", False),
            C("step", "str", "Step id (sheet name or criterion)", False),
            C("description", "str", "What the step keeps", False),
            C("count", "int", "Repositories left after the step", False),
            C("removed", "int", "Repositories removed by the step (empty for the first step)"),
            C("paper_count", "int", "The count the paper states for this step, when it states one"),
            C("source", "str", "Where the count was computed from", False),
        ),
    )
)

FILES = register(
    Table(
        name="files",
        location="interim",
        stage="ingest",
        description="Every Docker-related file found in the studied repositories, classified by content",
        key=("repo", "path"),
        published=True,
        columns=(
            C("repo", "str", "Repository full name, owner/name", False),
            C("path", "str", "Path relative to the repository root, '/'-separated, no leading slash", False),
            C("raw_path", "str", "Location of the copy under data/raw/files/, relative to data/", False),
            C("size", "int", "File size in bytes", False),
            C("sha256", "str", "SHA-256 of the file bytes", False),
            C("name_match", "str", "Why the file was collected by name: 'dockerfile', 'compose' or 'other'", False),
            C("kind", "str", "Kind decided by content: dockerfile, compose, not_dockerfile", False),
            C("reason", "str", "Why the kind was chosen", False),
            C("in_study", "bool", "True if the repository is one of the 406 studied repositories", False),
        ),
    )
)


# --------------------------------------------------------------------------------------
# parse stage (issue 3): processed tables -- declared in this section
# --------------------------------------------------------------------------------------


# --------------------------------------------------------------------------------------
# classify stage (issue 4): processed tables -- declared in this section
# --------------------------------------------------------------------------------------


# --------------------------------------------------------------------------------------
# images stage (issue 5): processed tables -- declared in this section
# --------------------------------------------------------------------------------------


# --------------------------------------------------------------------------------------
# collect stage (issue 6): tables -- declared in this section
# --------------------------------------------------------------------------------------


# --------------------------------------------------------------------------------------
# report stage (issue 7): tables -- declared in this section
# --------------------------------------------------------------------------------------
