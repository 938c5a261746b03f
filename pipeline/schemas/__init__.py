"""Every table the pipeline writes: columns, types, descriptions, keys.

Declared once, one module per stage (:mod:`.base` holds the types and the registry);
:func:`pipeline.tables.write_table` checks a frame against its schema before writing, and
``mldock publish`` generates the data dictionary from it.  Import names from
``pipeline.schemas``; the modules are its layout.

Types: ``str``, ``int``, ``float``, ``bool``, ``date`` (ISO 8601 string), ``json``
(a JSON-encoded list/dict held in a string column).
"""

from __future__ import annotations

from .base import DTYPES, ERRORS_COLUMNS, TABLES, C, Column, Table, errors_table, register

# isort: off
# The import order is the registration order of TABLES, which is the order of the data
# dictionary mldock publish writes: keep it.
from .ingest import REPOS, FUNNEL, FILES, PURPOSE_TEXT
from .package import (
    PACKAGE_IMAGE_CONFIGS,
    PACKAGE_IMAGE_LAYERS,
    PACKAGE_IMAGE_REPOS,
    PACKAGE_BASE_IMAGES,
    PACKAGE_BASE_TYPES,
    PACKAGE_FILE_TYPES_TOP_NUM,
    PACKAGE_FILE_TYPES_NUM,
    PACKAGE_FILE_TYPES_TOP_SIZE,
    PACKAGE_FILE_TYPES_REPOS,
    PACKAGE_TABLES,
)
from .parse import (
    DOCKERFILES,
    INSTRUCTIONS,
    BASE_IMAGES,
    RUN_COMMANDS,
    COMPOSE_SERVICES,
    INSTRUCTION_SHARES,
    RUN_CATEGORY_SHARES,
    ORCHESTRATION_SIGNALS,
)
from .classify import PROJECTS, PURPOSES
from .evolution import DOCKERFILE_VERSIONS, BASE_IMAGE_CHANGES, RELEASE_SUMMARY, DOCKERFILE_HISTORIES
from .smells import SMELLS, SMELL_FILES, SMELL_DENSITIES, SMELL_TESTS, SMELL_TOP, RELEASE_SMELLS
from .images import (
    IMAGES,
    LAYERS,
    IMAGE_FILE_TYPES,
    IMAGES_REPO_STATS,
    IMAGES_TABLE2,
    IMAGES_TABLE2_LIVE,
    FILE_TYPES_BY_NUM,
    FILE_TYPES_BY_SIZE,
)
from .collect import (
    COLLECT_KEYWORDS,
    COLLECT_SLICES,
    COLLECT_CANDIDATES,
    COLLECT_METADATA,
    COLLECT_FILES,
    COLLECT_HUB_MATCHES,
    COLLECT_REQUESTS,
)
from .orchestration import ORCHESTRATION_REPOS, ORCHESTRATION_SHARES
from .report import REPRODUCTION
from .label import LABELS, LABEL_AGREEMENT, LABEL_CONFUSION
# isort: on

__all__ = [
    "LABELS",
    "LABEL_AGREEMENT",
    "LABEL_CONFUSION",
    "DTYPES",
    "ERRORS_COLUMNS",
    "TABLES",
    "C",
    "Column",
    "Table",
    "errors_table",
    "register",
    "REPOS",
    "FUNNEL",
    "FILES",
    "PURPOSE_TEXT",
    "PACKAGE_IMAGE_CONFIGS",
    "PACKAGE_IMAGE_LAYERS",
    "PACKAGE_IMAGE_REPOS",
    "PACKAGE_BASE_IMAGES",
    "PACKAGE_BASE_TYPES",
    "PACKAGE_FILE_TYPES_TOP_NUM",
    "PACKAGE_FILE_TYPES_NUM",
    "PACKAGE_FILE_TYPES_TOP_SIZE",
    "PACKAGE_FILE_TYPES_REPOS",
    "PACKAGE_TABLES",
    "DOCKERFILES",
    "INSTRUCTIONS",
    "BASE_IMAGES",
    "RUN_COMMANDS",
    "COMPOSE_SERVICES",
    "INSTRUCTION_SHARES",
    "RUN_CATEGORY_SHARES",
    "ORCHESTRATION_SIGNALS",
    "PROJECTS",
    "PURPOSES",
    "DOCKERFILE_VERSIONS",
    "BASE_IMAGE_CHANGES",
    "RELEASE_SUMMARY",
    "DOCKERFILE_HISTORIES",
    "SMELLS",
    "SMELL_FILES",
    "SMELL_DENSITIES",
    "SMELL_TESTS",
    "SMELL_TOP",
    "RELEASE_SMELLS",
    "IMAGES",
    "LAYERS",
    "IMAGE_FILE_TYPES",
    "IMAGES_REPO_STATS",
    "IMAGES_TABLE2",
    "IMAGES_TABLE2_LIVE",
    "FILE_TYPES_BY_NUM",
    "FILE_TYPES_BY_SIZE",
    "COLLECT_KEYWORDS",
    "COLLECT_SLICES",
    "COLLECT_CANDIDATES",
    "COLLECT_METADATA",
    "COLLECT_FILES",
    "COLLECT_HUB_MATCHES",
    "COLLECT_REQUESTS",
    "ORCHESTRATION_REPOS",
    "ORCHESTRATION_SHARES",
    "REPRODUCTION",
]
