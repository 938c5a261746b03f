"""Processed tables of the orchestration stage (GPU and orchestration signals per category)."""

from __future__ import annotations

from .base import C, Table, register

ORCHESTRATION_REPOS = register(
    Table(
        name="orchestration_repos",
        location="processed",
        stage="orchestration",
        description="One row per studied repository: whether its files show GPU or orchestration signals (orchestration_signals)",
        key=("repo",),
        published=True,
        columns=(
            C("repo", "str", "Repository full name, owner/name", False),
            C("category", "str", "Project category (projects.csv; Unlabelled without one)", False),
            C("gpu", "bool", "Some signal of group gpu (CUDA base image, compose GPU keys, --gpus / nvidia-docker)", False),
            C("orchestration", "bool", "Some signal of group orchestration (Kubernetes manifest, Helm chart, kustomize)", False),
            C("signals", "json", "Signal ids present, sorted", False),
            C("cuda_versions", "json", "CUDA versions of the repository's base images, in version order", False),
        ),
    )
)

ORCHESTRATION_SHARES = register(
    Table(
        name="orchestration_shares",
        location="processed",
        stage="orchestration",
        description="Per project category (and All) and signal (and any_gpu, any_orchestration): the share of repositories that show it",
        key=("category", "signal"),
        published=True,
        columns=(
            C("category", "str", "Project category, Unlabelled, or All", False),
            C("signal", "str", "Signal id of taxonomy/orchestration.yaml, or any_gpu / any_orchestration", False),
            C("group", "str", "gpu or orchestration", False),
            C("n_repos", "int", "Repositories of the category", False),
            C("n_with", "int", "Of them, repositories with the signal", False),
            C("share", "float", "n_with / n_repos (0 without repositories)", False),
        ),
    )
)
