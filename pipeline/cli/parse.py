"""``mldock parse``."""

from __future__ import annotations

import logging
import os
from pathlib import Path

import click

from .. import executor, parse
from . import bars, ctx_paths

log = logging.getLogger(__name__)


def given(name: str) -> bool:
    """Whether the user set option ``name`` on the command line (not its default)."""
    source = click.get_current_context().get_parameter_source(name)
    return source is click.core.ParameterSource.COMMANDLINE


@click.command("parse")
@click.option("--mode", type=click.Choice(["corrected", "paper", "both"]), default="corrected",
              show_default=True,
              help="corrected: real Dockerfile semantics; paper: the study's rules; both.")
@click.option("--jobs", "-j", type=int, default=min(2, os.cpu_count() or 1), show_default=True,
              help="Worker processes (of the default process pool, or of --scheduler local).")
@click.option("--scheduler", default=None, metavar="SPEC",
              help="Where to run: pool (default), local[:N] (a Dask LocalCluster) or "
                   "tcp://host:port (a Dask scheduler); default $MLDOCK_SCHEDULER. "
                   "Needs pip install 'mldock[dask]'.")
@click.option("--partition-size", type=click.IntRange(1), default=executor.DEFAULT_PARTITION,
              show_default=True, help="Files per task; the outputs do not depend on it.")
@click.option("--from-tar", "archive", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="Parse the files of this tar archive (.tar, .tar.gz, ...) instead of ingest's files.")
@click.option("--from-list", "listing", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="Parse the files listed in this text file (one path a line).")
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Folder for the tables of --from-tar/--from-list [default: data/corpus/<name>].")
@click.option("--force", is_flag=True, help="Rerun even if inputs are unchanged.")
def cli(mode: str, jobs: int, scheduler: str | None, partition_size: int, archive: Path | None,
        listing: Path | None, out: Path | None, force: bool) -> None:
    """Parse Dockerfiles and compose files into data/processed/ tables (RQ3).

    With --from-tar or --from-list, parse a corpus that is not a replication package
    (no ingest needed) into --out; see docs/scale.md.
    """
    modes = parse.MODES if mode == "both" else (mode,)
    sched = executor.scheduler(scheduler, jobs, given("jobs"))
    p = ctx_paths()
    if archive and listing:
        raise click.UsageError("give --from-tar or --from-list, not both")
    if archive or listing:
        from .. import parse_corpus

        src = archive or listing
        assert src is not None
        if force:
            log.warning("--force has no effect with --from-tar/--from-list: a corpus is always "
                        "parsed in full")
        name = src.name.split(".")[0] or "corpus"
        folder = out or p.data / "corpus" / name
        counts = parse_corpus.run(p, folder, archive=archive, listing=listing, modes=modes,
                                  sched=sched, partition_size=partition_size, progress=bars())
    else:
        if out is not None:
            raise click.UsageError("--out goes with --from-tar or --from-list")
        counts = parse.run(p, modes, workers=jobs, progress=bars(), force=force, sched=sched,
                           partition_size=partition_size)
    click.echo("parse: " + ", ".join(f"{k}={v}" for k, v in counts.items()), err=True)
