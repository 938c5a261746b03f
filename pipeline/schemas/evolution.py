"""Processed tables of the evolution stage (the package's per-release Dockerfiles)."""

from __future__ import annotations

from .base import C, Table, register

_REPO = C("repo", "str", "Repository full name, owner/name (spelt as in repos.csv when it is there)", False)
_CATEGORY = C("category", "str", "Project category (projects.csv; empty when the repository is not a studied one)")
_PATH = C("path", "str", "The Dockerfile's name in the corpus, without its _<tag> suffix", False)
_TAG = C("tag", "str", "Release tag", False)
_DATE = C("tag_date", "date", "Date of the tag, ISO 8601 in UTC", False)

DOCKERFILE_VERSIONS = register(
    Table(
        name="dockerfile_versions",
        location="processed",
        stage="evolution",
        description="One row per Dockerfile of the per-release corpus (samples/dockerfiles.tar.gz) and release, parsed in corrected mode",
        key=("repo", "path", "tag"),
        published=True,
        columns=(
            _REPO, _CATEGORY, _PATH, _TAG, _DATE,
            C("tag_date_source", "str", "gh_tags (logs/<owner>/<repo>/gh_tags.txt) or samples_tags (samples/logs/tags_<repo>_<n>.txt, for tags gh_tags.txt lacks)", False),
            C("member", "str", "Member name in the archive", False),
            C("sha256", "str", "SHA-256 of the file bytes", False),
            C("parse_status", "str", "ok, partial or error (as in dockerfiles.parse_status)", False),
            C("n_instructions", "int", "Number of instructions", False),
            C("n_stages", "int", "Number of FROM instructions (build stages)", False),
            C("n_run_commands", "int", "Number of commands in RUN instructions", False),
            C("mld_smells", "int", "Findings of mldock's own smell rules (taxonomy/smells.yaml, as mldock smells); 0 when the file did not parse", False),
            C("base_image", "str", "The final stage's base image, repository:tag (a stage reference followed to its image); empty without FROM"),
            C("base_images", "json", "Every distinct external base image of the file, sorted", False),
            C("n_unpinned", "int", "External base images with no tag (or latest) and no digest, build variables left out", False),
            C("pinned", "bool", "Every base image has a tag other than latest or a digest (unresolved variables count as pinned); False without FROM", False),
            C("digest_pinned", "bool", "Every base image has a digest; False without FROM", False),
            C("os_version", "str", "OS release of the final base image (ubuntu:18.04), from taxonomy/orchestration.yaml"),
            C("cuda_version", "str", "CUDA version of the final base image (10.0), from taxonomy/orchestration.yaml"),
            C("cudnn_version", "str", "cuDNN major version of the final base image"),
            C("gpu", "bool", "Some base image is a CUDA/GPU image (signal cuda_base_image)", False),
            C("error", "str", "Parse problems; empty when ok"),
        ),
    )
)

BASE_IMAGE_CHANGES = register(
    Table(
        name="base_image_changes",
        location="processed",
        stage="evolution",
        description="One row per Dockerfile and release whose final base image differs from the file's previous release (by tag date)",
        key=("repo", "path", "to_tag"),
        published=True,
        columns=(
            _REPO, _CATEGORY, _PATH,
            C("from_tag", "str", "The previous release", False),
            C("from_tag_date", "date", "Its tag date (UTC)", False),
            C("from_base_image", "str", "Its final base image", False),
            C("from_os_version", "str", "Its OS release"),
            C("from_cuda_version", "str", "Its CUDA version"),
            C("to_tag", "str", "The release that changed the base image", False),
            C("to_tag_date", "date", "Its tag date (UTC)", False),
            C("to_base_image", "str", "Its final base image", False),
            C("to_os_version", "str", "Its OS release"),
            C("to_cuda_version", "str", "Its CUDA version"),
        ),
    )
)

RELEASE_SUMMARY = register(
    Table(
        name="release_summary",
        location="processed",
        stage="evolution",
        description="One row per project and release of the per-release corpus: its Dockerfiles, their size, stages, pinning and base-image versions",
        key=("repo", "tag"),
        published=True,
        columns=(
            _REPO, _CATEGORY, _TAG, _DATE,
            C("n_files", "int", "Files of the release in the corpus", False),
            C("n_dockerfiles", "int", "Of them, files the parser read as Dockerfiles (parse_status ok or partial)", False),
            C("instructions_per_dockerfile", "float", "Mean instructions per Dockerfile (parse errors left out; 0 without Dockerfiles)", False),
            C("stages_per_dockerfile", "float", "Mean build stages per Dockerfile (parse errors left out)", False),
            C("mld_smells_per_dockerfile", "float", "Mean findings of mldock's smell rules per Dockerfile (parse errors left out)", False),
            C("share_pinned", "float", "Share of the release's Dockerfiles whose base images are all pinned", False),
            C("n_base_images", "int", "Distinct external base images", False),
            C("os_versions", "json", "Distinct OS releases of the final base images, sorted", False),
            C("cuda_versions", "json", "Distinct CUDA versions of the final base images, sorted", False),
        ),
    )
)

DOCKERFILE_HISTORIES = register(
    Table(
        name="dockerfile_histories",
        location="processed",
        stage="evolution",
        description="One row per file of the per-release corpus: over how many releases it appears, with how many distinct contents and base images",
        key=("repo", "path"),
        published=True,
        columns=(
            _REPO, _CATEGORY, _PATH,
            C("n_releases", "int", "Releases (tags) with a copy of the file", False),
            C("first_tag", "str", "The earliest release by tag date", False),
            C("first_tag_date", "date", "Its tag date (UTC)", False),
            C("last_tag", "str", "The latest release by tag date", False),
            C("last_tag_date", "date", "Its tag date (UTC)", False),
            C("n_contents", "int", "Distinct contents (SHA-256) over the releases", False),
            C("n_base_images", "int", "Distinct final base images over the releases", False),
            C("n_base_image_changes", "int", "Rows of base_image_changes for the file", False),
            C("parse_status", "str", "parse_status of the latest release's copy", False),
        ),
    )
)
