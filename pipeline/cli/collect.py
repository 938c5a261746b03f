"""``mldock collect``: all steps, or ``search`` / ``filter`` / ``extract`` one by one."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

import click

from ..collect.run import Collector, Settings
from . import bars, ctx_paths

KEYWORDS_HELP = ("Comma-separated keyword set ids from taxonomy/search_keywords.yaml (paper, data), "
                 "'proposed', or literal keywords; default: the file's default sets (paper+data).")


def _collector(ctx: click.Context) -> Collector:
    opts: dict[str, Any] = ctx.find_root().meta.get("collect_opts", {})
    return Collector(ctx_paths(ctx), Settings(**opts), progress=bars(ctx))


def _finish(c: Collector) -> None:
    for line in c.summary:
        click.echo(line, err=True)
    if len(c.errors):
        click.echo(f"{len(c.errors)} problems recorded in {c.p.interim / 'collect_errors.csv'}", err=True)


@click.group("collect", invoke_without_command=True)
@click.option("--keywords", default=None, help=KEYWORDS_HELP)
@click.option("--force", is_flag=True, help="Let step 7 replace interim tables written by ingest.")
@click.option("--rest", is_flag=True, help="Count commits/releases with REST even with a token (no GraphQL).")
@click.option("--batch", type=int, default=25, show_default=True, help="Repositories per GraphQL query.")
@click.option("--retries", type=int, default=6, show_default=True, help="Retries on 5xx, resets, bad JSON.")
@click.option("--backoff", type=float, default=1.0, show_default=True, help="First retry delay (s), doubled each time.")
@click.option("--max-wait", type=float, default=3700.0, show_default=True,
              help="Longest rate-limit wait (s) before stopping with a 'rerun to resume' message.")
@click.option("--from-package", "from_package", type=click.Path(exists=True, file_okay=False, path_type=Path),
              default=None, help="Collect today's state of exactly the replication package's studied "
                                 "repositories (RQ1/manual-labeling.csv): no search, no criteria.")
@click.option("--throttle", type=float, default=0.25, show_default=True,
              help="Least time (s) between two real GitHub requests (cache hits are never delayed).")
@click.pass_context
def cli(ctx: click.Context, keywords: str | None, force: bool, rest: bool, batch: int,
        retries: int, backoff: float, max_wait: float, throttle: float, from_package: Path | None) -> None:
    """Mine GitHub and Docker Hub: search, filter (metadata + criteria), extract (files, images).

    Without a subcommand, runs all steps.  Uses GITHUB_TOKEN (anonymous without it),
    GITHUB_API_URL and DOCKERHUB_URL.  Rerunning resumes from the on-disk cache.
    """
    if from_package is not None and ctx.invoked_subcommand is not None:
        raise click.UsageError(f"--from-package runs all steps: drop it or the '{ctx.invoked_subcommand}' subcommand")
    if from_package is not None and keywords is not None:
        raise click.UsageError("--from-package takes the package's repositories (no search): drop --keywords")
    ctx.find_root().meta["collect_opts"] = {
        "graphql": not rest, "batch": batch, "retries": retries, "backoff": backoff, "max_wait": max_wait,
        "min_interval": throttle,
    }
    if ctx.invoked_subcommand is None:
        c = _collector(ctx)
        try:
            if from_package is not None:
                c.run_from_package(from_package)
            else:
                c.run_search(keywords)
            c.run_filter()
            c.run_extract(force=force)
        finally:
            _finish(c)


@cli.command("search")
@click.option("--keywords", default=None, help=KEYWORDS_HELP)
@click.option("--no-propose", is_flag=True, help="Skip mining co-occurring topics of the seed topics.")
@click.option("--pages", type=int, default=3, show_default=True, help="Result pages per seed topic when proposing.")
@click.option("--top", type=int, default=30, show_default=True, help="How many topics to propose.")
@click.option("--until", type=click.DateTime(["%Y-%m-%d"]), default=None,
              help="Pin a new search end date (default: the pinned one, or today on a first run).")
@click.pass_context
def search_cmd(ctx: click.Context, keywords: str | None, no_propose: bool, pages: int, top: int,
               until: datetime | None) -> None:
    """Steps 1-2: propose keywords, then search each keyword past the 1,000-result cap."""
    c = _collector(ctx)
    try:
        c.run_search(keywords, propose=not no_propose, pages=pages, top=top,
                     until=until.date() if until else None)
    finally:
        _finish(c)


@cli.command("filter")
@click.pass_context
def filter_cmd(ctx: click.Context) -> None:
    """Steps 3-4: metadata pinned to each head commit, then the inclusion criteria."""
    c = _collector(ctx)
    try:
        c.run_filter()
    finally:
        _finish(c)


@cli.command("extract")
@click.option("--force", is_flag=True, help="Replace interim tables written by ingest.")
@click.pass_context
def extract_cmd(ctx: click.Context, force: bool) -> None:
    """Steps 5-7: Docker files at the pinned commit, Docker Hub matching, interim tables."""
    c = _collector(ctx)
    try:
        c.run_extract(force=force)
    finally:
        _finish(c)
