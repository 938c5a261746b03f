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


# --------------------------------------------------------------------------------------
# ingest: the package's RQ4 image CSVs, normalised (read by `mldock images --replication`)
# --------------------------------------------------------------------------------------
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


# --------------------------------------------------------------------------------------
# parse stage (issue 3): processed tables -- declared in this section
# --------------------------------------------------------------------------------------

_MODE = C("mode", "str", "'corrected' (real Dockerfile semantics) or 'paper' (the study's rules, quirks included)", False)
_REPO = C("repo", "str", "Repository full name, owner/name", False)
_PATH = C("path", "str", "File path relative to the repository root (files.path)", False)

DOCKERFILES = register(
    Table(
        name="dockerfiles",
        location="processed",
        stage="parse",
        description="One row per parsed Dockerfile and mode, with its parse status",
        key=("mode", "repo", "path"),
        published=True,
        columns=(
            _MODE, _REPO, _PATH,
            C("sha256", "str", "SHA-256 of the file bytes", False),
            C("n_stages", "int", "Number of FROM instructions (build stages)", False),
            C("n_instructions", "int", "Number of instructions (paper mode: every non-comment line the study's regex matched)", False),
            C("n_run_commands", "int", "Rows in run_commands for this file (paper mode: matched keyword tokens)", False),
            C("parse_status", "str", "ok, partial (parsed with problems, see error) or error (nothing parsed)", False),
            C("error", "str", "What went wrong, naming the file; empty when ok"),
        ),
    )
)

INSTRUCTIONS = register(
    Table(
        name="instructions",
        location="processed",
        stage="parse",
        description="One row per Dockerfile instruction and mode",
        key=("mode", "repo", "path", "seq"),
        published=True,
        columns=(
            _MODE, _REPO, _PATH,
            C("seq", "int", "0-based position of the instruction in the file", False),
            C("stage", "int", "0-based build stage (FROM count - 1); -1 before the first FROM", False),
            C("line", "int", "1-based line where the instruction starts", False),
            C("instruction", "str", "Instruction keyword, upper case", False),
            C("value", "str", "Arguments as written, continuations joined; heredoc bodies appended after a newline"),
            C("expanded", "str", "value after ARG/ENV substitution for instructions Docker expands (corrected mode); else value"),
            C("exec_form", "bool", "True if the arguments are in JSON (exec) form", False),
            C("heredoc", "bool", "True if the instruction has heredoc bodies", False),
        ),
    )
)

BASE_IMAGES = register(
    Table(
        name="base_images",
        location="processed",
        stage="parse",
        description="One row per FROM instruction and mode: the base image reference, split, and its type",
        key=("mode", "repo", "path", "stage"),
        published=True,
        columns=(
            _MODE, _REPO, _PATH,
            C("stage", "int", "0-based build stage this FROM starts", False),
            C("line", "int", "1-based line of the FROM instruction", False),
            C("raw", "str", "The whole FROM value as written (flags and AS alias included)", False),
            C("image", "str", "Image reference after ARG substitution, without flags or alias (paper mode: raw)"),
            C("registry", "str", "Registry host (docker.io for Docker Hub); empty for stage references, variables and scratch"),
            C("namespace", "str", "Namespace/organisation path ('library' for official Docker Hub images)"),
            C("name", "str", "Repository name (last path component), or the stage name / unresolved reference"),
            C("tag", "str", "Tag, empty when none"),
            C("digest", "str", "Digest after '@', empty when none"),
            C("alias", "str", "Stage alias given with AS, empty when none"),
            C("platform", "str", "--platform flag value, empty when none"),
            C("is_stage_reference", "bool", "True if the image is an earlier stage of the same file", False),
            C("is_variable", "bool", "True if the reference still holds an unresolved ${...} after ARG substitution", False),
            C("official", "bool", "True for Docker Hub official images (library/...)", False),
            C("base_type", "str", "Base-image type id (taxonomy/base_image_types.yaml) or 'unknown'", False),
            C("base_type_label", "str", "Display label of base_type (paper mode: the paper's spelling)", False),
            C("type_rule", "str", "Which rule gave the type: name, variable, keyword, tag keyword, stage, none", False),
        ),
    )
)

RUN_COMMANDS = register(
    Table(
        name="run_commands",
        location="processed",
        stage="parse",
        description="Commands executed by RUN instructions (corrected) or the study's keyword tokens (paper), with their category",
        key=("mode", "repo", "path", "seq"),
        published=True,
        columns=(
            _MODE, _REPO, _PATH,
            C("seq", "int", "0-based position of the command in the file", False),
            C("stage", "int", "0-based build stage; -1 before the first FROM", False),
            C("line", "int", "1-based line of the instruction holding the command", False),
            C("command", "str", "Executable of a simple command (wrappers such as sudo/env dropped); paper mode: the matched token", False),
            C("first_arg", "str", "First argument of the command, empty when none (always empty in paper mode)"),
            C("category", "str", "Dependencies, Filesystem, Build/Execute, Environment, Permissions or unknown", False),
            C("method", "str", "bashlex, split (bashlex failed; split on && || ; |), exec (JSON form) or paper_token", False),
        ),
    )
)

COMPOSE_SERVICES = register(
    Table(
        name="compose_services",
        location="processed",
        stage="parse",
        description="One row per service of each docker-compose file and mode",
        key=("mode", "repo", "path", "service"),
        published=True,
        columns=(
            _MODE, _REPO, _PATH,
            C("compose_version", "str", "Top-level 'version' value ('1' for v1 files without services:), empty when absent"),
            C("service", "str", "Service name", False),
            C("image", "str", "Service image, empty when none"),
            C("build_context", "str", "Build context (build: or build.context), empty when none"),
            C("ports", "json", "Published ports (JSON list)"),
            C("networks", "json", "Networks (JSON list of names)"),
            C("volumes", "json", "Volumes (JSON list)"),
            C("environment_count", "int", "Number of environment entries", False),
            C("depends_on", "json", "Services this one depends on (JSON list)"),
        ),
    )
)

INSTRUCTION_SHARES = register(
    Table(
        name="instruction_shares",
        location="processed",
        stage="parse",
        description="Figure 3a inputs: per repository, the share of each of the 12 plotted instructions among all its instructions",
        key=("mode", "repo", "instruction"),
        published=True,
        columns=(
            _MODE, _REPO,
            C("instruction", "str", "One of ADD ARG CMD COPY ENTRYPOINT ENV EXPOSE FROM RUN USER VOLUME WORKDIR", False),
            C("count", "int", "Instructions of this kind over the repository's parsed Dockerfiles", False),
            C("total", "int", "All instructions of the repository's parsed Dockerfiles (the study's denominator)", False),
            C("percentage", "float", "100 * count / total (unrounded)", False),
        ),
    )
)

RUN_CATEGORY_SHARES = register(
    Table(
        name="run_category_shares",
        location="processed",
        stage="parse",
        description="Figure 3b inputs: per repository, the share of each RUN-command category among its categorised commands",
        key=("mode", "repo", "category"),
        published=True,
        columns=(
            _MODE, _REPO,
            C("category", "str", "Dependencies, Filesystem, Build/Execute, Environment or Permissions", False),
            C("count", "int", "Commands (paper mode: keyword tokens) of this category in the repository", False),
            C("total", "int", "Commands of any known category in the repository (unknown excluded)", False),
            C("percentage", "float", "100 * count / total (unrounded)", False),
        ),
    )
)


# --------------------------------------------------------------------------------------
# classify stage (issue 4): processed tables -- declared in this section
# --------------------------------------------------------------------------------------

PROJECTS = register(
    Table(
        name="projects",
        location="processed",
        stage="classify",
        description="Project category per studied repository: the study's manual label where it exists, the model's prediction elsewhere",
        key=("repo",),
        published=True,
        columns=(
            C("repo", "str", "Repository full name, owner/name", False),
            C("category", "str", "Project category used by every per-category figure: manual label when present, else predicted_category (empty only when neither exists)"),
            C("category_source", "str", "'manual' when the study labelled the repository, 'predicted' otherwise", False),
            C("raw_label", "str", "The study's raw manual_topic label, empty when blank"),
            C("predicted_category", "str", "The supervised model's category for every repository (out-of-fold for labelled ones); the rules' answer when too few labels exist to train"),
            C("confidence", "float", "Model probability of predicted_category (empty when the rules decided)"),
            C("prediction_kind", "str", "'out-of-fold' (labelled repositories, 5-fold), 'trained on all labelled' (unlabelled ones) or 'keyword rules (too few labels to train)'", False),
            C("rules_category", "str", "Category chosen by the keyword rules alone (most votes); empty when no rule fired"),
            C("rules_fired", "str", "Keyword rules that fired, e.g. 'description~\"serving\" -> MLOps/AIOps'; '; '-separated"),
            C("in_final_dataset", "bool", "True if the repository is in final-dataset.csv (405 set)"),
        ),
    )
)

PURPOSES = register(
    Table(
        name="purposes",
        location="processed",
        stage="classify",
        description="Docker purposes per repository (taxonomy/purposes.yaml ids): coded from the study's free text where present, predicted elsewhere",
        key=("repo", "purpose"),
        published=True,
        columns=(
            C("repo", "str", "Repository full name, owner/name", False),
            C("purpose", "str", "Purpose id from taxonomy/purposes.yaml (major category or subcategory)", False),
            C("name", "str", "Purpose name as in the study's Figure 2", False),
            C("level", "str", "'major' (one of the 21) or 'sub' (one of the 12 subcategories)", False),
            C("parent", "str", "Major purpose id of a subcategory, empty for majors"),
            C("source", "str", "'coded' (study's free text via purpose_coding.yaml), 'predicted' (model, majors) or 'rules' (keyword rules: subcategories of a chosen major, or every purpose when too few coded repositories exist to train)", False),
            C("confidence", "float", "1 for coded rows, model probability for predicted rows, empty for rules rows"),
            C("evidence", "str", "Why: the study's tokens (column:\"token\"), or the rules that fired, '; '-separated", False),
        ),
    )
)


# --------------------------------------------------------------------------------------
# images stage (issue 5): processed tables -- declared in this section
# --------------------------------------------------------------------------------------

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


# --------------------------------------------------------------------------------------
# collect stage (issue 6): tables -- declared in this section
# --------------------------------------------------------------------------------------
# Written under data/interim/collect/<name without the collect_ prefix>.csv; step 7
# (`mldock collect extract`) then writes the shared interim repos/files/funnel tables.

COLLECT_KEYWORDS = register(
    Table(
        name="collect_keywords",
        location="interim",
        stage="collect",
        description="Topics co-occurring with the seed topics among the most-starred repositories (keyword proposal)",
        key=("keyword",),
        columns=(
            C("keyword", "str", "A GitHub topic", False),
            C("count", "int", "Repositories returned by the seed searches that carry the topic", False),
            C("seeds", "str", "Comma-separated seed topics whose search returned it", False),
            C("proposed", "bool", "True if among the most frequent topics proposed as keywords", False),
            C("in_paper", "bool", "True if the topic is among the paper's 14 keywords", False),
            C("in_data", "bool", "True if the topic is among the 27 keywords found in the study's data", False),
        ),
    )
)

COLLECT_SLICES = register(
    Table(
        name="collect_slices",
        location="interim",
        stage="collect",
        description="Each completed search slice (keyword, creation-date range, star range) and what it returned",
        key=("query",),
        columns=(
            C("keyword", "str", "Search keyword", False),
            C("query", "str", "The exact search query of the slice", False),
            C("created_from", "date", "First creation date of the slice", False),
            C("created_to", "date", "Last creation date of the slice", False),
            C("stars_from", "int", "Lowest star count of the slice, when split by stars"),
            C("stars_to", "int", "Highest star count of the slice, when split by stars"),
            C("total_count", "int", "total_count GitHub reported for the slice", False),
            C("items", "int", "Items received over all pages of the slice", False),
            C("pages", "int", "Pages requested", False),
            C("incomplete_results", "bool", "GitHub flagged the results as incomplete (search timeout)", False),
            C("complete", "bool", "False if the slice still had more than 1,000 results and could not be split", False),
        ),
    )
)

COLLECT_CANDIDATES = register(
    Table(
        name="collect_candidates",
        location="interim",
        stage="collect",
        description="Unique repositories returned by the keyword search (forks excluded)",
        key=("repo",),
        columns=(
            C("repo", "str", "Repository full name, owner/name", False),
            C("search_topic", "str", "First keyword (in search order) that found the repository", False),
            C("keywords", "json", "All keywords that found it (JSON list)", False),
            C("created_at", "date", "Creation date from the search item"),
            C("stars", "int", "Stargazers count from the search item"),
            C("forks", "int", "Forks count from the search item"),
        ),
    )
)

COLLECT_METADATA = register(
    Table(
        name="collect_metadata",
        location="interim",
        stage="collect",
        description="Metadata of each candidate repository, pinned to its default branch's head commit, and the inclusion verdict",
        key=("repo",),
        columns=(
            C("repo", "str", "Repository full name, owner/name", False),
            C("search_topic", "str", "First keyword that found the repository", False),
            C("commits", "int", "Commits reachable from the default branch head"),
            C("contributors", "int", "Contributors, anonymous included"),
            C("issues", "int", "Issues (GraphQL totalCount; empty in anonymous REST mode)"),
            C("pulls", "int", "Pull requests (GraphQL totalCount; empty in anonymous REST mode)"),
            C("releases", "int", "Releases"),
            C("size_kb", "int", "Repository size in KB"),
            C("stars", "int", "Stargazers"),
            C("forks", "int", "Forks"),
            C("open_issues", "int", "Open issues and pull requests (search item)"),
            C("archived", "bool", "Archived"),
            C("created_at", "date", "Creation date"),
            C("pushed_at", "date", "Last push date"),
            C("language", "str", "Primary language"),
            C("homepage", "str", "Homepage URL"),
            C("description", "str", "Description"),
            C("topics", "json", "Topics (JSON list)"),
            C("default_branch", "str", "Default branch name"),
            C("head_sha", "str", "Head commit SHA of the default branch: every file is read at this commit"),
            C("included", "bool", "True if the repository passes every inclusion criterion", False),
            C("excluded_by", "str", "Id of the first criterion that removed it, empty when included"),
        ),
    )
)

COLLECT_FILES = register(
    Table(
        name="collect_files",
        location="interim",
        stage="collect",
        description="Docker-file candidates (by name) of the included repositories, read at the pinned commit and classified by content",
        key=("repo", "path"),
        columns=(
            C("repo", "str", "Repository full name, owner/name", False),
            C("path", "str", "Path relative to the repository root", False),
            C("head_sha", "str", "Commit the tree was listed at", False),
            C("blob_sha", "str", "Git blob SHA (verified against the downloaded bytes)", False),
            C("size", "int", "File size in bytes", False),
            C("sha256", "str", "SHA-256 of the file bytes", False),
            C("name_match", "str", "Why the name made it a candidate: dockerfile or compose", False),
            C("kind", "str", "Kind decided by content: dockerfile, compose, not_dockerfile", False),
            C("reason", "str", "Why the kind was chosen", False),
        ),
    )
)

COLLECT_HUB_MATCHES = register(
    Table(
        name="collect_hub_matches",
        location="interim",
        stage="collect",
        description="Docker Hub images examined for each repository, with the evidence, a score and the verdict",
        key=("repo", "image"),
        columns=(
            C("repo", "str", "Repository full name, owner/name", False),
            C("image", "str", "Docker Hub image reference, namespace/name:latest", False),
            C("score", "float", "Sum of evidence weights (name 0.2, namespace 0.2, link 0.6, dockerfile 0.6), at most 1", False),
            C("evidence", "str", "Comma-separated evidence: name, namespace, link, dockerfile"),
            C("confirmed", "bool", "True if the description links to the repository or the Dockerfile matches", False),
        ),
    )
)

COLLECT_REQUESTS = register(
    Table(
        name="collect_requests",
        location="interim",
        stage="collect",
        description="HTTP requests per collection step in the last run of that step",
        key=("step",),
        columns=(
            C("step", "str", "Collection step", False),
            C("requests", "int", "Requests sent over the network (retries included)", False),
            C("cache_hits", "int", "Requests answered from the on-disk cache", False),
            C("retries", "int", "Requests repeated after a rate limit, 5xx, reset or truncated body", False),
            C("items", "int", "Items the step processed (keywords, candidates, repositories)", False),
            C("per_item", "float", "Logical requests per item: network requests minus retries, plus cache hits", False),
        ),
    )
)


# --------------------------------------------------------------------------------------
# report stage (issue 7): tables -- declared in this section
# --------------------------------------------------------------------------------------

REPRODUCTION = register(
    Table(
        name="reproduction",
        location="reports",  # written to reports/reproduction.csv by `mldock report`
        stage="report",
        description="One row per compared value of paper_targets.json: the paper's value, ours in paper and corrected mode, difference and status",
        key=("target",),
        published=True,
        columns=(
            C("target", "str", "Dotted JSON path of the compared leaf in paper_targets.json (keys containing a dot in [brackets])", False),
            C("section", "str", "Top-level section of paper_targets.json (e.g. rq1_table1_medians)", False),
            C("kind", "str", "scalar, table cell (a cell of a per-category table or figure) or list (compared as a set)", False),
            C("reference", "str", "paper: the value printed in the paper; package: recomputed from the replication package where the paper prints none", False),
            C("paper_value", "str", "The reference value (lists comma-separated)"),
            C("unit", "str", "Unit of the value as stated in paper_targets.json"),
            C("tolerance", "float", "Absolute tolerance for 'reproduced' (numbers only; lists must be equal as sets)"),
            C("ours_paper", "str", "Our value in paper mode (the study's rules, quirks included); empty when not recomputable"),
            C("ours_corrected", "str", "Our value in corrected mode (our default rules); empty when not recomputable"),
            C("diff_paper", "str", "ours_paper minus the reference (numbers), or the set difference (+ours only; -paper only)"),
            C("diff_corrected", "str", "ours_corrected minus the reference, or the set difference"),
            C("status_paper", "str", "reproduced (within tolerance), differs, or not recomputable", False),
            C("status_corrected", "str", "reproduced (within tolerance), differs, or not recomputable", False),
            C("labels", "str", "For per-category targets: the category's label mix, 'n manual / m predicted'"),
            C("reason", "str", "One-line reason for the status", False),
        ),
    )
)
