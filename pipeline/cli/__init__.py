"""The ``mldock`` command: the group, logging, error mapping and paths, built once.

Each stage has one thin file here (``pipeline/cli/<stage>.py``) exposing a click command
named ``cli``: options -> ``stage.run(paths, ...)`` -> print the result.  The group loads
them lazily so ``mldock --help`` stays fast and one stage's heavy imports never slow
another.  Nothing outside this package imports click.
"""

from __future__ import annotations

import errno
import importlib
import logging
import sys
from typing import Any

import click

from ..config import Paths
from ..errors import DiskFull, MldockError
from ..progress import Bar, Progress, no_progress

# command name -> (module, one-line help)
STAGES: dict[str, tuple[str, str]] = {
    "ingest": ("pipeline.cli.ingest", "Read the EASE 2022 replication package into interim tables."),
    "collect": ("pipeline.cli.collect", "Mine GitHub and Docker Hub for ML projects that use Docker."),
    "parse": ("pipeline.cli.parse", "Parse Dockerfiles and compose files into tidy tables."),
    "classify": ("pipeline.cli.classify", "Classify projects (6 categories) and Docker purposes (21)."),
    "smells": ("pipeline.cli.smells", "Find Dockerfile smells (hadolint and our rules) per category."),
    "evolution": ("pipeline.cli.evolution", "Dockerfiles across releases: base images, sizes, pinning."),
    "orchestration": ("pipeline.cli.orchestration", "GPU and orchestration signals per repository and category."),
    "label": ("pipeline.cli.label", "Label repositories on a local page; agreement between raters."),
    "images": ("pipeline.cli.images", "Analyse Docker images through the registry HTTP API."),
    "report": ("pipeline.cli.report", "Draw the paper's tables and figures and the reproduction report."),
    "publish": ("pipeline.cli.publish", "Write the published CSV datasets and their data dictionary."),
    "reproduce": ("pipeline.cli.reproduce", "Run every stage on the replication package, timed."),
}


class LazyGroup(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return list(STAGES)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in STAGES:
            return None
        module_name, short = STAGES[cmd_name]
        module = importlib.import_module(module_name)
        cmd: click.Command = module.cli
        cmd.name = cmd_name
        if not cmd.short_help:
            cmd.short_help = short
        return cmd


class StderrHandler(logging.StreamHandler):
    """A stream handler that writes to whatever ``sys.stderr`` is when a record is emitted.

    A handler bound to the ``sys.stderr`` of the moment outlives it: under a test runner's
    capture (click's CliRunner, pytest's capsys) that stream is closed afterwards, and every
    later record fails with "I/O operation on closed file".
    """

    def __init__(self) -> None:
        super().__init__(sys.stderr)

    @property
    def stream(self) -> Any:
        return sys.stderr

    @stream.setter
    def stream(self, value: Any) -> None:
        pass


def setup_logging(verbosity: int) -> None:
    level = {-1: logging.WARNING, 0: logging.INFO, 1: logging.DEBUG}[max(-1, min(1, verbosity))]
    handler = StderrHandler()
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger("pipeline")
    root.handlers[:] = [handler]
    root.setLevel(level)


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("-q", "--quiet", is_flag=True, help="Only warnings and errors; no progress bars.")
@click.option("-v", "--verbose", is_flag=True, help="Debug logging.")
@click.option(
    "--root",
    type=click.Path(file_okay=False),
    default=None,
    help="Project root holding data/, taxonomy/, reports/ (default: $MLDOCK_HOME or the checkout).",
)
@click.version_option(package_name="mldock")
@click.pass_context
def group(ctx: click.Context, quiet: bool, verbose: bool, root: str | None) -> None:
    """mldock: how do machine-learning projects use Docker?

    A re-runnable reproduction of Openja et al., "Studying the Practices of Deploying
    Machine Learning Projects on Docker" (EASE 2022). Typical order:
    ingest (or collect) -> parse -> classify -> smells -> images -> report -> publish.
    """
    from ..config import paths

    setup_logging(-1 if quiet else (1 if verbose else 0))
    ctx.obj = {"quiet": quiet, "paths": paths(root)}


def _group_option(key: str, ctx: click.Context | None) -> Any:
    """A value the top-level group stored in ``ctx.obj``, or None outside a command."""
    ctx = ctx or click.get_current_context(silent=True)
    while ctx is not None:
        if isinstance(ctx.obj, dict) and key in ctx.obj:
            return ctx.obj[key]
        ctx = ctx.parent
    return None


def progress_disabled(ctx: click.Context | None = None) -> bool:
    """True when progress bars should be hidden (``--quiet``)."""
    return bool(_group_option("quiet", ctx))


def bars(ctx: click.Context | None = None) -> Progress:
    """The :class:`pipeline.progress.Progress` for this run: tqdm bars, or none with ``--quiet``."""
    if progress_disabled(ctx):
        return no_progress

    def tqdm_bar(desc: str, total: int | None = None, unit: str = "it") -> Bar:
        from tqdm import tqdm

        return tqdm(total=total, desc=desc, unit=unit, unit_scale=unit == "B", leave=False)

    return tqdm_bar


def ctx_paths(ctx: click.Context | None = None) -> Paths:
    """The :class:`pipeline.config.Paths` chosen by the top-level ``--root`` option."""
    from ..config import paths

    chosen = _group_option("paths", ctx)
    return chosen if isinstance(chosen, Paths) else paths()


def main(argv: list[str] | None = None) -> int:
    try:
        group.main(args=argv, prog_name="mldock", standalone_mode=False)
    except MldockError as exc:
        click.echo(f"mldock: error: {exc}", err=True)
        return exc.exit_code
    except click.exceptions.Exit as exc:
        return int(exc.exit_code or 0)
    except click.Abort:
        click.echo("mldock: interrupted; rerun the same command to resume", err=True)
        return 130
    except click.ClickException as exc:
        exc.show()
        return exc.exit_code
    except KeyboardInterrupt:
        click.echo("mldock: interrupted; rerun the same command to resume", err=True)
        return 130
    except OSError as exc:  # a full disk outside a stage's output set (a cache, a download)
        if exc.errno != errno.ENOSPC:
            raise
        full = DiskFull(exc.filename or "a file")
        click.echo(f"mldock: error: {full}", err=True)
        return full.exit_code
    return 0
