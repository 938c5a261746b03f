"""``mldock publish``."""

from __future__ import annotations

import click

from .. import publish
from ..schemas import TABLES
from . import bars, ctx_paths


@click.command("publish")
@click.option("--table", "tables", multiple=True,
              help="Publish only these tables (repeatable; default: every published table).")
def cli(tables: tuple[str, ...]) -> None:
    """Write data/published/: the reusable CSVs, datapackage.json, provenance, CITATION.cff."""
    unknown = [t for t in tables if t not in TABLES]
    if unknown:
        raise click.BadParameter(f"unknown table(s) {unknown}; known: {sorted(TABLES)}",
                                 param_hint="--table")
    res = publish.publish(ctx_paths(), tables=list(tables) or None, progress=bars())
    click.echo(f"publish: {len(res['published'])} tables in {res['out']}"
               + (f"; skipped (not produced yet): {', '.join(res['skipped'])}"
                  if res["skipped"] else ""))
