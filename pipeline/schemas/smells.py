"""Processed tables of the smells stage (hadolint and mldock's own checks)."""

from __future__ import annotations

from .base import C, Table, register

_REPO = C("repo", "str", "Repository full name, owner/name", False)
_PATH = C("path", "str", "File path relative to the repository root (files.path)", False)
_FAMILY = C("family", "str", "DL (hadolint's Dockerfile rules), SC (ShellCheck, run by hadolint on RUN) or MLD (mldock's rules, taxonomy/smells.yaml)", False)

SMELLS = register(
    Table(
        name="smells",
        location="processed",
        stage="smells",
        description="One row per smell found in a Dockerfile (corrected mode), by hadolint or by mldock's own rules",
        published=True,
        columns=(
            _REPO, _PATH,
            C("source", "str", "hadolint or mldock", False),
            _FAMILY,
            C("rule", "str", "Rule id: DLnnnn, SCnnnn (hadolint) or MLDnnn (taxonomy/smells.yaml)", False),
            C("level", "str", "error, warning, info or style (hadolint's severities; ours declared in smells.yaml)", False),
            C("line", "int", "1-based line the smell is reported at", False),
        ),
    )
)

SMELL_FILES = register(
    Table(
        name="smell_files",
        location="processed",
        stage="smells",
        description="One row per Dockerfile parse read in corrected mode: whether hadolint could parse it and its smells per family",
        key=("repo", "path"),
        published=True,
        columns=(
            _REPO, _PATH,
            C("sha256", "str", "SHA-256 of the bytes hadolint read (one hadolint run per distinct value)", False),
            C("hadolint_status", "str", "ok, unparseable (hadolint's parser rejected it: DL1000, e.g. heredocs or templates; never counted as 0 smells) or failed (hadolint did not run on it)", False),
            C("hadolint_error", "str", "The DL1000 message or the failure, empty when ok"),
            C("n_instructions", "int", "Instructions parse found in the file (corrected mode)", False),
            C("dl", "int", "DL smells (empty unless hadolint_status is ok)"),
            C("sc", "int", "SC smells (empty unless hadolint_status is ok)"),
            C("mld", "int", "mldock smells (every file parse read)", False),
        ),
    )
)

SMELL_DENSITIES = register(
    Table(
        name="smell_densities",
        location="processed",
        stage="smells",
        description="Per repository and rule family: smells per Dockerfile and per instruction (hadolint families over the files it parsed)",
        key=("repo", "family"),
        published=True,
        columns=(
            _REPO,
            C("category", "str", "Project category (projects.category; Unlabelled when none)", False),
            _FAMILY,
            C("files", "int", "Dockerfiles the family covers (DL, SC: those hadolint parsed; MLD: all)", False),
            C("unparseable", "int", "The repository's Dockerfiles hadolint could not parse (or failed on)", False),
            C("instructions", "int", "Instructions in those files", False),
            C("smells", "int", "Smells of the family in those files", False),
            C("per_file", "float", "smells / files (empty when files is 0)"),
            C("per_instruction", "float", "smells / instructions (empty when instructions is 0)"),
        ),
    )
)

SMELL_TESTS = register(
    Table(
        name="smell_tests",
        location="processed",
        stage="smells",
        description="Kruskal-Wallis tests of smell densities across the six project categories (repositories as observations)",
        key=("family", "measure"),
        published=True,
        columns=(
            _FAMILY,
            C("measure", "str", "per_file or per_instruction (smell_densities)", False),
            C("n_repos", "int", "Repositories with a value (Unlabelled excluded)", False),
            C("n_categories", "int", "Categories with at least one repository", False),
            C("h", "float", "Kruskal-Wallis H, corrected for ties"),
            C("df", "int", "Degrees of freedom (n_categories - 1)", False),
            C("p_value", "float", "p-value of H under the chi-squared approximation"),
            C("p_holm", "float", "p_value adjusted by Holm's step-down method over the table's tests (family-wise error)"),
            C("epsilon_squared", "float", "Effect size epsilon^2 = H / (n_repos - 1) (Tomczak & Tomczak 2014)"),
        ),
    )
)

SMELL_TOP = register(
    Table(
        name="smell_top",
        location="processed",
        stage="smells",
        description="Per project category, the 10 rules found in the most Dockerfiles (the smells figure)",
        key=("category", "rule"),
        published=True,
        columns=(
            C("category", "str", "Project category (the six of Table 1)", False),
            C("rank", "int", "1 = found in the most Dockerfiles of the category (ties: rule id order)", False),
            C("rule", "str", "Rule id (DLnnnn, SCnnnn or MLDnnn)", False),
            _FAMILY,
            C("files", "int", "Dockerfiles of the category with the rule at least once", False),
            C("share", "float", "100 * files / the category's Dockerfiles (for DL and SC rules: those hadolint parsed)", False),
        ),
    )
)

RELEASE_SMELLS = register(
    Table(
        name="release_smells",
        location="processed",
        stage="smells",
        description="hadolint over the package's per-release corpus (evolution's dockerfile_versions): per project and release, its Dockerfiles and their DL and SC smells",
        key=("repo", "tag"),
        published=True,
        columns=(
            _REPO,
            C("tag", "str", "Release tag", False),
            C("category", "str", "Project category (as in dockerfile_versions)"),
            C("tag_date", "date", "Date of the tag, ISO 8601 in UTC", False),
            C("n_dockerfiles", "int", "Copies of the release our parser read as Dockerfiles", False),
            C("n_unparseable", "int", "Of them, copies hadolint could not parse (DL1000; no smells counted)", False),
            C("n_failed", "int", "Of them, copies hadolint did not run on (smells_errors.csv says why)", False),
            C("dl_per_dockerfile", "float", "Mean DL findings per Dockerfile hadolint parsed; empty when it parsed none"),
            C("sc_per_dockerfile", "float", "Mean SC findings per Dockerfile hadolint parsed; empty when it parsed none"),
        ),
    )
)
