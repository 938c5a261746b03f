"""Ingest's normalised copies of the package's RQ4 image CSVs (read by ``mldock images --replication``)."""

from __future__ import annotations

from .base import C, Table, register

# Values are kept as published text (str columns), so the images stage computes on exactly
# the package's digits; rows keep the package's order (files in sorted name order).

_PKG_FILE = C("file", "str", "Package CSV the row comes from (file name)", False)
_PKG_IMAGE = C("image", "str", "Docker Hub image name, as published (column Image)")
_PKG_TAG = C("repo_tag", "str", "Image tag, as published (column RepoTag)")
_PKG_CATEGORY = C("category", "str", "Project category (canonical spelling; an unknown spelling kept, stripped)")
_PKG_RAW_CATEGORY = C("raw_category", "str", "The category as the package spells it (column Category)")
_PKG_TYPE = C("file_type", "str", "File-type label, as published", False)

PACKAGE_IMAGE_CONFIGS = register(
    Table(
        name="package_image_configs",
        location="interim",
        stage="ingest",
        description="Rows of raw-data/DockerImage/layers/Manifest_Config_info*.csv (duplicates kept; study.md 5.2)",
        columns=(
            _PKG_FILE, _PKG_IMAGE, _PKG_TAG,
            C("config_size", "str", "Config blob size in bytes, as published"),
            C("config_digest", "str", "Config blob digest"),
            C("architecture", "str", "Image architecture"),
            C("os", "str", "Image operating system"),
            C("config_env_count", "str", "Number of Env entries in the config, as published"),
            C("diff_ids", "str", "The '/'-joined rootfs diff_ids (published under the header rootfs_layers_count: the rows carry 38 values under 39 headers)"),
        ),
    )
)

PACKAGE_IMAGE_LAYERS = register(
    Table(
        name="package_image_layers",
        location="interim",
        stage="ingest",
        description="Rows of raw-data/DockerImage/layers/Manifest_details*.csv: one per manifest layer (repeated crawls kept)",
        columns=(
            _PKG_FILE, _PKG_IMAGE, _PKG_TAG,
            C("layers_size", "str", "Compressed layer size in bytes, as published"),
            C("layers_digest", "str", "Layer digest"),
            C("config_digest", "str", "Config blob digest of the manifest"),
        ),
    )
)

PACKAGE_IMAGE_REPOS = register(
    Table(
        name="package_image_repos",
        location="interim",
        stage="ingest",
        description="Image name (tag stripped) -> repositories listing it in final-dataset.csv latest_image, in that file's order",
        key=("image", "repo"),
        columns=(
            C("image", "str", "Image name without its tag", False),
            C("rank", "int", "1 for the first repository listing the image (the one the study used), 2 for the next, ...", False),
            C("repo", "str", "Repository owner/name", False),
        ),
    )
)

PACKAGE_BASE_IMAGES = register(
    Table(
        name="package_base_images",
        location="interim",
        stage="ingest",
        description="Rows of the xlsx sheet baseimages: the study's own FROM extraction (2,827 rows, 399 repositories, duplicates kept; study.md 4.4)",
        columns=(
            C("row", "int", "Row number in the sheet (0-based, blank rows dropped)", False),
            C("repo", "str", "Repository owner/name (column Repos)", False),
            C("raw_category", "str", "The study's raw label (column Category; blank where the copy has no label)"),
            C("dockerfile", "str", "Dockerfile path in the repository (column Dockerfile)"),
            C("baseimage", "str", "Full FROM value (column Baseimage)"),
            C("base", "str", "FROM value without its tag (column Base)"),
            C("version", "str", "Tag (column version)"),
            C("version_clean", "str", "Tag with digits removed (column version_clean)"),
        ),
    )
)

PACKAGE_BASE_TYPES = register(
    Table(
        name="package_base_types",
        location="interim",
        stage="ingest",
        description="Rows of the xlsx sheet temp: base name -> up to three raw type labels (study.md 4.5)",
        columns=(
            C("row", "int", "Row number in the sheet (0-based)", False),
            C("base", "str", "Base image name without tag (column Base)", False),
            C("label_1", "str", "First raw type label (second column)"),
            C("label_2", "str", "Second raw type label (third column)"),
            C("label_3", "str", "Third raw type label (fourth column)"),
        ),
    )
)

PACKAGE_FILE_TYPES_TOP_NUM = register(
    Table(
        name="package_file_types_top_num",
        location="interim",
        stage="ingest",
        description="Rows of RQ4/files-v2/Top10_files_by_num.csv: per category, the plotted file types in rank order, with the mean storage share",
        columns=(
            _PKG_CATEGORY, _PKG_RAW_CATEGORY, _PKG_TYPE,
            C("perc_number", "str", "Mean % of files, as published"),
            C("perc_storage", "str", "Mean % of bytes, as published"),
        ),
    )
)

PACKAGE_FILE_TYPES_NUM = register(
    Table(
        name="package_file_types_num",
        location="interim",
        stage="ingest",
        description="Rows of RQ4/files-v2/Top10_files_by_num_1.csv: the published box values (per-repository % of files; no repository column)",
        columns=(
            _PKG_CATEGORY, _PKG_RAW_CATEGORY, _PKG_TYPE,
            C("perc_number", "str", "% of the image's files with that type, as published"),
        ),
    )
)

PACKAGE_FILE_TYPES_TOP_SIZE = register(
    Table(
        name="package_file_types_top_size",
        location="interim",
        stage="ingest",
        description="Rows of RQ4/files-v2/Top10_files_by_size.csv: per category, the file types with the largest size, in rank order",
        columns=(
            _PKG_CATEGORY, _PKG_RAW_CATEGORY, _PKG_TYPE,
            C("perc_size", "str", "Mean % of bytes, as published"),
            C("size", "str", "Bar height (MB), as published"),
        ),
    )
)

PACKAGE_FILE_TYPES_REPOS = register(
    Table(
        name="package_file_types_repos",
        location="interim",
        stage="ingest",
        description="Rows of RQ4/files-v2/layers_files_*.csv: per repository and file type, totals and shares (duplicate rows kept)",
        columns=(
            _PKG_FILE, _PKG_CATEGORY, _PKG_RAW_CATEGORY,
            C("repo", "str", "Repository owner/name (column Repos)"),
            _PKG_TYPE,
            C("total_size", "str", "Bytes of files of that type, as published"),
            C("total_number", "str", "Number of files of that type, as published"),
            C("perc_size", "str", "% of the image's bytes, as published"),
            C("perc_num", "str", "% of the image's files, as published"),
        ),
    )
)

#: the ingest side outputs that `mldock images --replication` reads
PACKAGE_TABLES = ("package_image_configs", "package_image_layers", "package_image_repos",
                  "package_file_types_top_num", "package_file_types_num",
                  "package_file_types_top_size", "package_file_types_repos")
