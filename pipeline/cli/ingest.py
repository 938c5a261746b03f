"""``mldock ingest``."""

from __future__ import annotations

import click

from .. import ingest, ingest_checks
from . import bars, ctx_paths


@click.command("ingest")
@click.option("--from", "source", metavar="SOURCE", default=None,
              help="Datasets/ folder, a folder containing it, an EASE2022-main zip, or an https:// "
                   "URL of the zip. Default: $MLDOCK_REPLICATION, data/external/ease2022, "
                   "../shared/ease2022.")
@click.option("--max-unpacked", type=click.IntRange(min=1), default=None, metavar="BYTES",
              help=f"Refuse a zip that unpacks to more bytes (default ${ingest_checks.ENV_MAX_BYTES} "
                   f"or {ingest_checks.ZIP_MAX_BYTES}).")
@click.option("--max-ratio", type=click.FloatRange(min=1), default=None, metavar="RATIO",
              help=f"Refuse a zip member of 1 MiB or more compressed more than RATIO:1 (default "
                   f"${ingest_checks.ENV_MAX_RATIO} or {ingest_checks.ZIP_MAX_RATIO:g}).")
def cli(source: str | None, max_unpacked: int | None, max_ratio: float | None) -> None:
    """Read the EASE 2022 replication package into data/interim/.

    Writes repos.csv (406 studied repositories, labels mapped to the six categories),
    funnel.csv (30,138 -> ... -> 406/405), files.csv (every Docker-related file with a
    content-based kind) and purpose_text.csv, and copies the files to data/raw/files/.
    The package is checked before anything is written (docs/ingest.md lists what is refused).
    """
    limits = ingest_checks.ZipLimits.from_env(max_unpacked, max_ratio)
    res = ingest.run(source, ctx_paths(), progress=bars(), limits=limits)
    click.echo(res.summary())
