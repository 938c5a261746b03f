"""``mldock evolution``."""

from __future__ import annotations

import click

from ..evolution import run as evolution
from . import bars, ctx_paths


@click.command("evolution")
@click.option("--force", is_flag=True, help="Rerun even if inputs are unchanged.")
def cli(force: bool) -> None:
    """Dockerfiles across releases: parse the package's per-release corpus
    (samples/dockerfiles.tar.gz, dated by gh_tags.txt) into data/processed/
    dockerfile_versions, base_image_changes and release_summary, and draw
    reports/figures/evolution_*.{png,pdf}.  Run ingest (and classify, for categories) first."""
    counts = evolution.run(ctx_paths(), progress=bars(), force=force)
    click.echo("evolution: " + ", ".join(f"{k}={v}" for k, v in counts.items()), err=True)
