"""``mldock parse``."""

from __future__ import annotations

import os

import click

from .. import parse
from . import bars, ctx_paths


@click.command("parse")
@click.option("--mode", type=click.Choice(["corrected", "paper", "both"]), default="corrected",
              show_default=True,
              help="corrected: real Dockerfile semantics; paper: the study's rules; both.")
@click.option("--jobs", "-j", type=int, default=min(2, os.cpu_count() or 1), show_default=True,
              help="Worker processes.")
@click.option("--force", is_flag=True, help="Rerun even if inputs are unchanged.")
def cli(mode: str, jobs: int, force: bool) -> None:
    """Parse Dockerfiles and compose files into data/processed/ tables (RQ3)."""
    modes = parse.MODES if mode == "both" else (mode,)
    counts = parse.run(ctx_paths(), modes, workers=jobs, progress=bars(),
                       force=force)
    click.echo("parse: " + ", ".join(f"{k}={v}" for k, v in counts.items()), err=True)
