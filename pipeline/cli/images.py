"""``mldock images``."""

from __future__ import annotations

from pathlib import Path

import click

from .. import executor
from ..images import fetch, live, package
from ..images.layers import DEFAULT_MAX_UNCOMPRESSED
from ..images.registry import RegistryClient
from . import bars, ctx_paths
from .parse import given


@click.command("images")
@click.option("--replication", is_flag=True,
              help="Replication-package mode: Table 2 and Figure 5 inputs from the package's CSVs (no network).")
@click.option("--image", "refs", multiple=True, metavar="REF",
              help="Image reference to analyse through the registry API (repeatable).")
@click.option("--from-repos", is_flag=True, help="Analyse every image matched in data/interim/repos.csv.")
@click.option("--platform", default="linux/amd64", show_default=True,
              help="Platform to select from multi-platform images, or 'all'.")
@click.option("--registry-url", default=None,
              help="Use this registry endpoint for every reference (e.g. http://127.0.0.1:5000).")
@click.option("--max-layer-bytes", type=int, default=DEFAULT_MAX_UNCOMPRESSED, show_default=True,
              help="Stop scanning a layer past this many uncompressed bytes (error row).")
@click.option("--cache-dir", type=click.Path(file_okay=False), default=None,
              help="Content-addressed blob cache (default: data/cache/registry).")
@click.option("--no-scan", is_flag=True, help="Manifests and configs only; do not pull layers.")
@click.option("--listings", type=click.Path(file_okay=False), default=None,
              help="Also write per-file listings, one <digest>.csv.gz per image, to this folder.")
@click.option("--jobs", "-j", type=click.IntRange(1), default=1, show_default=True,
              help="Processes that scan layers (1: this process; of --scheduler local).")
@click.option("--scheduler", default=None, metavar="SPEC",
              help="Where layer scans run: pool (default), local[:N] (a Dask LocalCluster) or "
                   "tcp://host:port (a Dask scheduler); default $MLDOCK_SCHEDULER. "
                   "Needs pip install 'mldock[dask]'.")
@click.option("--threads", type=click.IntRange(1), default=fetch.DEFAULT_THREADS, show_default=True,
              help="Download threads per process (layers in flight per worker).")
@click.option("--registry-limit", type=click.IntRange(1), default=fetch.DEFAULT_REQUESTS,
              show_default=True,
              help="Concurrent blob downloads per registry, over all workers.")
def cli(replication: bool, refs: tuple[str, ...], from_repos: bool, platform: str,
        registry_url: str | None, max_layer_bytes: int, cache_dir: str | None,
        no_scan: bool, listings: str | None, jobs: int, scheduler: str | None, threads: int,
        registry_limit: int) -> None:
    """Docker image characteristics (RQ4: Table 2, Figure 5)."""
    p = ctx_paths()
    if replication:
        counts = package.run_replication(p, bars())
        click.echo(f"images: Table 2 from the replication package: {counts}", err=True)
        if not refs and not from_repos:
            return
    todo = [(r, "") for r in refs]
    if from_repos:
        todo += live.references_from_repos(p)
    if not todo:
        raise click.UsageError("give --replication, --image REF or --from-repos")
    sched = executor.scheduler(scheduler, jobs, given("jobs"))
    client = RegistryClient(endpoint=registry_url,
                            cache_dir=Path(cache_dir) if cache_dir else p.cache / "registry",
                            limit=fetch.limit_for(sched, registry_limit))
    counts = live.run_live(p, todo, client, platform=platform, max_layer_bytes=max_layer_bytes,
                           progress=bars(), scan=not no_scan,
                           listings=Path(listings) if listings else None, sched=sched,
                           threads=threads)
    click.echo(f"images: {counts}", err=True)
