"""Named exceptions.  Each carries a one-line message that says what to do.

The CLI prints ``str(exc)`` on one line and exits non-zero; library callers can catch
:class:`MldockError` or a subclass.
"""

from __future__ import annotations


class MldockError(Exception):
    """Base class: ``str(exc)`` is a complete one-line, actionable message."""

    exit_code = 1


class SourceNotFound(MldockError):
    """No replication package could be located."""

    def __init__(self, tried: list[str] | None = None, detail: str = "") -> None:
        where = f" (looked in: {', '.join(tried)})" if tried else ""
        msg = (
            "replication package not found"
            f"{where}{'; ' + detail if detail else ''}; download "
            "https://github.com/openjamoses/EASE2022 and run "
            "`mldock ingest --from <Datasets folder or zip>` or set MLDOCK_REPLICATION"
        )
        super().__init__(msg)


class SourceInvalid(MldockError):
    """The source exists but is not a usable replication package.

    ``hint`` says what to do; the default fits a ``--from`` that names the wrong thing.
    """

    FROM_HINT = "point --from at the package's Datasets/ folder, a folder containing it, or the EASE2022-main zip"

    def __init__(self, source: str, problem: str, hint: str = FROM_HINT) -> None:
        super().__init__(f"{source}: {problem}; {hint}" if hint else f"{source}: {problem}")


class StageInputMissing(MldockError):
    """A stage needs a table an earlier stage writes."""

    def __init__(self, what: str, run: str) -> None:
        super().__init__(f"missing input {what}; run `{run}` first")


class SchemaError(MldockError):
    """A table does not match its declared schema."""

    def __init__(self, table: str, problem: str) -> None:
        super().__init__(f"table {table!r} does not match its schema in pipeline/schemas/: {problem}")


class TaxonomyError(MldockError):
    """A taxonomy YAML file is invalid."""

    def __init__(self, path: str, problem: str) -> None:
        super().__init__(f"{path}: {problem}; fix the taxonomy file and rerun")


class ParseError(MldockError):
    """A single input file could not be parsed (recorded, never fatal for a stage)."""


class NetworkError(MldockError):
    """A remote service failed after retries."""


class RateLimited(MldockError):
    """A rate limit stops the run; rerunning resumes where it stopped."""

    def __init__(self, service: str, reset: str) -> None:
        super().__init__(f"{service} rate limit reached; resets at {reset}; rerun to resume")


class RegistryError(MldockError):
    """A container-registry request failed."""


class CollectWouldOverwrite(MldockError):
    """``mldock collect extract`` would replace interim tables another source wrote."""

    def __init__(self, what: str) -> None:
        super().__init__(
            f"{what}; rerun with `mldock collect extract --force` to replace them with the collected data"
        )


class AuthFailed(MldockError):
    """A service rejected the credentials (HTTP 401): nothing can succeed, so the run stops."""

    def __init__(self, service: str) -> None:
        super().__init__(f"{service} rejected the credentials (HTTP 401); check or unset GITHUB_TOKEN")


class TooFewLabels(MldockError):
    """A classifier cannot be trained or evaluated: too few labelled repositories."""

    def __init__(self, what: str, have: int, need: str) -> None:
        super().__init__(
            f"only {have} repositories have {what} (need {need}); run `mldock ingest` on the "
            "replication package, whose labels train the classifiers"
        )


class InputTableMissing(MldockError):
    """The report needs a table an earlier stage writes: the one reason a figure or a target
    is skipped rather than an error."""

    def __init__(self, table: str, file: str = "", run: str = "") -> None:
        self.table = table
        where = f" ({file}; run `{run}`)" if file and run else ""
        super().__init__(f"input table {table} missing{where}")


class SchedulerError(MldockError):
    """A ``--scheduler`` value that cannot be used (bad value, no Dask, no connection)."""


class ToolMissing(MldockError):
    """An external program a stage runs (hadolint) is not installed or does not run."""

    def __init__(self, tool: str, problem: str, install: str) -> None:
        super().__init__(f"{tool}: {problem}; install it with {install}")


class DiskFull(MldockError):
    """The disk filled while a stage wrote its outputs.

    Before the set's journal is written the previous outputs are kept; during the commit
    (``committing``: part of the set already replaced) the journal completes it at the next
    run.
    """

    def __init__(self, what: str, committing: bool = False) -> None:
        self.what = what
        self.committing = committing
        after = ("the commit completes at the next run" if committing
                 else "the previous outputs are unchanged")
        super().__init__(f"no space left on device while writing {what}; free some space and "
                         f"rerun ({after})")

    def __reduce__(self) -> tuple[type, tuple[str, bool]]:
        return DiskFull, (self.what, self.committing)
