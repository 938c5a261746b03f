"""``mldock report``."""

from __future__ import annotations

from pathlib import Path

import click

from .. import report
from ..report.inputs import MODES
from ..report.targets import TARGETS_ENV
from . import bars, ctx_paths


@click.command("report")
@click.option("--no-notebooks", is_flag=True, help="Skip executing the notebooks.")
@click.option("--targets", type=click.Path(dir_okay=False, exists=True), default=None,
              help="paper_targets.json (default: $MLDOCK_PAPER_TARGETS or ../shared/docs/).")
@click.option("--workers", type=click.IntRange(1), default=2, show_default=True,
              help="Figures drawn and notebooks executed at the same time.")
@click.option("--compare", "other", type=click.Path(file_okay=False, exists=True, path_type=Path), default=None,
              help="Another project root (e.g. a `collect --from-package` run): write its Table 1, "
                   "Figure 3 and 4 numbers beside this root's to reports/compare/ instead of the report.")
def cli(no_notebooks: bool, targets: str | None, workers: int, other: Path | None) -> None:
    """Draw the paper's tables and figures, execute the notebooks, write the reproduction
    report (reports/reproduction.md and .csv)."""
    p = ctx_paths()
    if other is not None:
        from ..report.compare import compare

        frames = compare(p, other)
        click.echo(f"report: {len(frames)} artefacts compared in {p.reports / 'compare' / 'compare.md'}")
        return
    res = report.run(p, bars(), notebooks=not no_notebooks,
                     targets=Path(targets) if targets else None, workers=workers)
    ok = sum(v == "ok" for v in res["drawn"].values())
    c = res["counts"]
    click.echo(f"report: {ok}/{len(res['drawn'])} figures/tables drawn under {p.reports}")
    for mode in MODES if c is not None else ():
        click.echo(f"report: {mode} mode: {c.loc['reproduced', mode]} reproduced, "
                   f"{c.loc['differs', mode]} differs, "
                   f"{c.loc['not recomputable', mode]} not recomputable")
    if c is None:
        click.echo(f"report: no reproduction report: paper_targets.json not found "
                   f"(--targets or ${TARGETS_ENV})")
    if res["notebooks"]:
        bad = {k: v for k, v in res["notebooks"].items() if v != "ok"}
        click.echo(f"report: notebooks {len(res['notebooks']) - len(bad)}/{len(res['notebooks'])} ok"
                   + (f"; failed: {bad}" if bad else ""))
        if bad:
            raise click.ClickException("some notebooks failed; see reports/notebooks/")
