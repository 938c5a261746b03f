"""Processed tables of the images stage (live registry and replication-package paths)."""

from __future__ import annotations

from .base import C, Table, register

_MODE = C("mode", "str", "paper (the study's rules, quirks included) or corrected (our default rules)", False)

IMAGES = register(
    Table(
        name="images",
        location="processed",
        stage="images",
        description="One row per analysed image manifest (per platform) fetched through the registry HTTP API",
        key=("reference", "platform"),
        published=True,
        columns=(
            C("reference", "str", "Normalised image reference as requested (registry/repository:tag or @digest)", False),
            C("repo", "str", "Studied repository (owner/name) the image was matched to; empty for ad-hoc references"),
            C("registry", "str", "Registry host the image was fetched from", False),
            C("repository", "str", "Repository path inside the registry (library/ added for Docker Hub)", False),
            C("tag", "str", "Tag requested (empty when a digest was requested)"),
            C("index_digest", "str", "Digest of the manifest list / OCI index the platform was selected from, if any"),
            C("digest", "str", "Digest of the platform's image manifest", False),
            C("platform", "str", "os/architecture[/variant] of the image", False),
            C("media_type", "str", "Media type of the image manifest", False),
            C("config_digest", "str", "Digest of the config blob"),
            C("config_size", "int", "Config blob size in bytes"),
            C("architecture", "str", "Config architecture"),
            C("os", "str", "Config os"),
            C("env_count", "int", "Number of Env entries in the config"),
            C("layers", "int", "Number of layers in the manifest"),
            C("rootfs_diff_ids", "int", "Number of rootfs diff_ids in the config (no +1 artefact)"),
            C("compressed_size", "int", "Sum of the manifest's layer sizes in bytes"),
            C("uncompressed_size", "int", "Sum of the uncompressed layer tar streams in bytes (empty if not scanned)"),
            C("files", "int", "Entries (all kinds, whiteouts excluded) summed over the layers (the study's per-layer count)"),
            C("final_files", "int", "Entries in the final merged file system after whiteouts"),
            C("final_size", "int", "Bytes of regular files in the final merged file system"),
            C("max_depth", "int", "Maximum path depth of any entry (a file /usr/bin/x has depth 3)"),
            C("status", "str", "ok, or the error type when the image or one of its layers failed", False),
        ),
    )
)

LAYERS = register(
    Table(
        name="layers",
        location="processed",
        stage="images",
        description="One row per layer of each analysed image, with the stream-scan summary",
        key=("reference", "platform", "index"),
        published=True,
        columns=(
            C("reference", "str", "Image reference (as in images.csv)", False),
            C("platform", "str", "os/architecture[/variant]", False),
            C("index", "int", "Position of the layer in the manifest, from 0 (base layer)", False),
            C("digest", "str", "Layer blob digest", False),
            C("media_type", "str", "Layer media type", False),
            C("compressed_size", "int", "Blob size in bytes from the manifest", False),
            C("compression", "str", "gzip, zstd or none, detected from the blob's magic bytes"),
            C("uncompressed_size", "int", "Bytes of the uncompressed tar stream"),
            C("entries", "int", "Tar entries, whiteouts excluded"),
            C("files", "int", "Regular files"),
            C("dirs", "int", "Directories"),
            C("symlinks", "int", "Symbolic links"),
            C("hardlinks", "int", "Hard links"),
            C("devices", "int", "Character/block devices and FIFOs"),
            C("whiteouts", "int", "Whiteout entries (.wh.<name>)"),
            C("opaque_dirs", "int", "Opaque-directory markers (.wh..wh..opq)"),
            C("file_bytes", "int", "Bytes of regular files (symlinks and hard links count 0)"),
            C("max_depth", "int", "Maximum entry depth"),
            C("unsafe_names", "int", "Member names escaping the layer root with '..' (counted, clamped to the root)"),
            C("status", "str", "ok or the error type (bomb, truncated, digest mismatch, media type)", False),
        ),
    )
)

IMAGE_FILE_TYPES = register(
    Table(
        name="image_file_types",
        location="processed",
        stage="images",
        description="Counts and bytes per file-type class per image, in both classification modes",
        key=("mode", "view", "reference", "platform", "file_type"),
        published=True,
        columns=(
            _MODE,
            C("view", "str", "layers (every layer's entries, as the study counted) or final (merged file system after whiteouts)", False),
            C("reference", "str", "Image reference", False),
            C("platform", "str", "os/architecture[/variant]", False),
            C("file_type", "str", "File-type class (taxonomy/file_types.yaml)", False),
            C("files", "int", "Number of regular files of that class", False),
            C("bytes", "int", "Bytes of those files", False),
            C("perc_number", "float", "Percentage of the image's regular files", False),
            C("perc_size", "float", "Percentage of the image's regular-file bytes", False),
        ),
    )
)

IMAGES_REPO_STATS = register(
    Table(
        name="images_repo_stats",
        location="processed",
        stage="images",
        description="Per-repository values behind Table 2, from the package's Manifest_*.csv (study.md 5.3), in both modes",
        key=("mode", "repo"),
        published=True,
        columns=(
            _MODE,
            C("repo", "str", "Repository owner/name", False),
            C("category", "str", "Project category used (projects.csv, else repos.csv); empty when unlabelled"),
            C("category_source", "str", "manual, predicted or empty"),
            C("images", "json", "Image names attributed to the repository (JSON list)", False),
            C("config_rows", "int", "Config rows used (paper: every row incl. duplicates; corrected: distinct image:tag)", False),
            C("manifest_images", "int", "Distinct image:tag with manifest layer rows", False),
            C("conf_size", "float", "paper: summed config bytes; corrected: mean config bytes per image"),
            C("env", "float", "paper: summed Env counts; corrected: mean Env count per image"),
            C("layers", "int", "Distinct layer digests in the manifests"),
            C("rootfs", "float", "paper: summed len(split('/')) (+1 per image); corrected: mean number of diff_ids per image"),
            C("layers_size", "float", "Mean over images of the summed compressed layer sizes, bytes"),
            C("architectures", "json", "Sorted architectures (JSON list)", False),
            C("oses", "json", "Sorted operating systems (JSON list)", False),
        ),
    )
)

IMAGES_TABLE2 = register(
    Table(
        name="images_table2",
        location="processed",
        stage="images",
        description="Table 2 of the paper: per category and mode, medians over repositories of images_repo_stats",
        key=("mode", "category"),
        published=True,
        columns=(
            _MODE,
            C("category", "str", "Project category (canonical spelling)", False),
            C("conf_size", "float", "paper: convert_size() of the median summed config bytes, unit dropped (KiB); corrected: median bytes / 1024 (KiB)"),
            C("conf_size_bytes", "float", "Median of the per-repository config bytes (unit: bytes)"),
            C("conf_size_text", "str", "Conf. size with its unit, e.g. '11.36 KiB'"),
            C("arch", "str", "Comma-separated sorted set of architectures", False),
            C("os", "str", "Comma-separated sorted set of operating systems", False),
            C("env", "float", "Median Env (see images_repo_stats.env)"),
            C("layers", "float", "Median distinct layer digests"),
            C("rootfs", "float", "Median RootFS (paper: with the +1 artefact; corrected: without)"),
            C("layers_size", "float", "Median over repositories of the mean compressed image size, bytes (not printed in the paper)"),
            C("files", "float", "Median files per repository; not recomputable from the package (empty)"),
            C("max_level", "float", "Median maximum level; not recomputable from the package (empty)"),
            C("n_repos", "int", "Repositories with config data in this category", False),
            C("n_layer_repos", "int", "Repositories with manifest layer data in this category", False),
            C("n_manual", "int", "Of n_repos, repositories whose category is a manual label", False),
            C("n_predicted", "int", "Of n_repos, repositories whose category is predicted", False),
        ),
    )
)

IMAGES_TABLE2_LIVE = register(
    Table(
        name="images_table2_live",
        location="processed",
        stage="images",
        description="Table 2 from live registry data (mldock images --from-repos): per category, medians over repositories of per-image means; Files and Max.Level included",
        key=("mode", "category"),
        published=True,
        columns=tuple(
            C("mode", "str", "live", False) if c.name == "mode"
            else C("files", "float", "Median over repositories of the mean entries per image, summed over its layers (the study's count)") if c.name == "files"
            else C("max_level", "float", "Median over repositories of the deepest entry of any of its images") if c.name == "max_level"
            else c
            for c in IMAGES_TABLE2.columns
        ),
    )
)

FILE_TYPES_BY_NUM = register(
    Table(
        name="file_types_by_num",
        location="processed",
        stage="images",
        description="Figure 5a inputs from RQ4/files-v2: per category, the 12 plotted file types and their per-repository shares of files",
        published=True,
        columns=(
            _MODE,
            C("category", "str", "Project category (canonical spelling)", False),
            C("file_type", "str", "File-type label", False),
            C("rank", "int", "Position of the type in the category's top 12 (1 = first)", False),
            C("repo", "str", "Repository (corrected mode); empty in paper mode (Top10_files_by_num_1.csv has no repository column)"),
            C("perc_number", "float", "Per-repository % of the image's files with that type (the box values)", False),
            C("perc_storage", "float", "Category mean % of the image's bytes with that type (the grey line)"),
        ),
    )
)

FILE_TYPES_BY_SIZE = register(
    Table(
        name="file_types_by_size",
        location="processed",
        stage="images",
        description="Figure 5b inputs from RQ4/files-v2: per category, the file types with the largest size",
        published=True,
        columns=(
            _MODE,
            C("category", "str", "Project category (canonical spelling)", False),
            C("file_type", "str", "File-type label", False),
            C("rank", "int", "Position of the type in the category's list (1 = first)", False),
            C("size_mb", "float", "Bar height: paper: the published size (MB); corrected: median total bytes per repository / 1024^2", False),
            C("perc_size", "float", "Mean per-repository % of the image's bytes with that type"),
            C("n_repos", "int", "Repositories contributing (corrected mode); empty in paper mode"),
        ),
    )
)
