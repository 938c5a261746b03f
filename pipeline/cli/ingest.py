"""``mldock ingest``."""

from __future__ import annotations

import click

from .. import ingest
from . import bars, ctx_paths


@click.command("ingest")
@click.option("--from", "source", metavar="SOURCE", default=None,
              help="Datasets/ folder, a folder containing it, an EASE2022-main zip, or an https:// "
                   "URL of the zip. Default: $MLDOCK_REPLICATION, data/external/ease2022, "
                   "../shared/ease2022.")
def cli(source: str | None) -> None:
    """Read the EASE 2022 replication package into data/interim/.

    Writes repos.csv (406 studied repositories, labels mapped to the six categories),
    funnel.csv (30,138 -> ... -> 406/405), files.csv (every Docker-related file with a
    content-based kind) and purpose_text.csv, and copies the files to data/raw/files/.
    """
    res = ingest.run(source, ctx_paths(), progress=bars())
    click.echo(res.summary())
