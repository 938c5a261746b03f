"""Interim tables of ingest and collect (the backbone): repos, funnel, files, purpose text."""

from __future__ import annotations

from .base import C, Table, register

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
            C("name_match", "str", "Why the file was collected by name: 'dockerfile', 'compose', 'orchestration' (collect: taxonomy/orchestration.yaml) or 'other'", False),
            C("kind", "str", "Kind decided by content: dockerfile, compose, not_dockerfile", False),
            C("reason", "str", "Why the kind was chosen", False),
            C("in_study", "bool", "True if the repository is one of the 406 studied repositories", False),
            C("name_escaped", "bool", "True if the file's folder or name is not valid UTF-8 on disk: repo, path and raw_path then hold it as backslash-x text (a literal backslash doubled), the copy under data/raw/files/ keeps the original bytes", False),
        ),
    )
)


PURPOSE_TEXT = register(
    Table(
        name="purpose_text",
        location="interim",
        stage="ingest",
        description="The study's free-text purpose coding per repository (manual-labeling.csv), empty strings where blank",
        key=("repo",),
        columns=(
            C("repo", "str", "Repository full name, owner/name", False),
            C("what", "str", "What Docker is used for: comma-separated free-text tags (column What)"),
            C("when", "str", "Lifecycle stage where Docker is used (column When)"),
            C("mlcomponent", "str", "ML artefact involved (column MLcomponent)"),
            C("why", "str", "Why Docker is used (column Why)"),
            C("maincomponent", "str", "Platforms, OS, GPU or frameworks involved (column Maincomponent)"),
            C("purpose_from_documentation", "str", "Purpose stated in the project's documentation"),
            C("note", "str", "The labellers' note"),
        ),
    )
)
