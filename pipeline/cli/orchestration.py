"""``mldock orchestration``."""

from __future__ import annotations

import click

from .. import orchestration
from . import bars, ctx_paths


@click.command("orchestration")
def cli() -> None:
    """GPU and orchestration signals per repository and per project category: reads parse's
    orchestration_signals and classify's categories, writes data/processed/
    orchestration_repos and orchestration_shares and reports/figures/orchestration_by_category.
    On the replication package only Docker files are seen (the figure says so)."""
    counts = orchestration.run(ctx_paths(), progress=bars())
    click.echo("orchestration: " + ", ".join(f"{k}={v}" for k, v in counts.items()), err=True)
