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
