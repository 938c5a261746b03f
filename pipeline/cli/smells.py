"""``mldock smells``."""

from __future__ import annotations

import click

from .. import executor, smells
from . import bars, ctx_paths
from .parse import given


@click.command("smells")
@click.option("--jobs", "-j", type=int, default=2, show_default=True,
              help="hadolint processes at a time.")
@click.option("--batch", type=int, default=64, show_default=True,
              help="Files per hadolint call.")
@click.option("--scheduler", default=None, metavar="SPEC",
              help="Where hadolint's batches run: pool (default), local[:N] or tcp://host:port "
                   "(Dask; pip install 'mldock[dask]'); default $MLDOCK_SCHEDULER.")
@click.option("--force", is_flag=True, help="Rerun even if inputs are unchanged (the hadolint "
              "cache in data/cache/hadolint is still used).")
def cli(jobs: int, batch: int, scheduler: str | None, force: bool) -> None:
    """Dockerfile smells by hadolint and by taxonomy/smells.yaml, per category.

    Reads parse's corrected-mode tables and classify's categories; writes smells,
    smell_files, smell_densities, smell_tests and smell_top under data/processed/,
    and reports/smells.md. hadolint runs once per distinct file content; its results are
    cached, so a rerun is fast."""
    counts = smells.run(ctx_paths(), progress=bars(), workers=jobs, batch=batch, force=force,
                        sched=executor.scheduler(scheduler, jobs, given("jobs")))
    click.echo("smells: " + ", ".join(f"{k}={v}" for k, v in counts.items()), err=True)
