"""Processed tables of the parse stage."""

from __future__ import annotations

from .base import C, Table, register

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

ORCHESTRATION_SIGNALS = register(
    Table(
        name="orchestration_signals",
        location="processed",
        stage="parse",
        description="One row per orchestration or GPU signal (taxonomy/orchestration.yaml) of a collected file or a corrected-mode base image",
        key=("repo", "path", "line", "signal"),
        published=True,
        columns=(
            _REPO, _PATH,
            C("line", "int", "FROM line of a base-image signal; 0 for a signal of the whole file", False),
            C("source", "str", "file (the file's name or content) or base_image (a FROM's image reference)", False),
            C("signal", "str", "Signal id: kubernetes_manifest, helm_chart, kustomize, compose_gpu_reservation, compose_runtime_nvidia, cuda_base_image, gpus_flag", False),
            C("group", "str", "orchestration or gpu", False),
            C("detail", "str", "What fired: the file name, the Kubernetes kinds, the compose service and key, the image or the matched text", False),
            C("cuda_version", "str", "CUDA version of the base image (base_image rows), else empty"),
            C("cudnn_version", "str", "cuDNN major version of the base image (base_image rows), else empty"),
        ),
    )
)
