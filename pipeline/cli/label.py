"""``mldock label`` and ``mldock label agreement``."""

from __future__ import annotations

import click

from . import bars, ctx_paths


@click.group("label", invoke_without_command=True)
@click.option("--rater", help="Your rater id (letters, digits, . _ -): labels go to "
              "data/labels/<rater>.csv.")
@click.option("--port", type=int, default=0, show_default=True,
              help="Port on 127.0.0.1 (0: a free one).")
@click.pass_context
def cli(ctx: click.Context, rater: str | None, port: int) -> None:
    """Label repositories by hand on a local web page (127.0.0.1 only).

    Each card shows a repository's description, topics, homepage, its Dockerfiles (base
    images and types, RUN-command categories, compose services), the rules that fired and
    the model's suggestion. Keys 1-6 choose a category (saved at once to
    data/labels/<rater>.csv), n/p move, / writes a note. The queue puts the repositories
    classify flags for review first, then near-duplicates the study labelled differently.
    Stop with Ctrl-C; rerun to resume. `mldock label agreement` computes inter-rater
    agreement."""
    if ctx.invoked_subcommand is not None:
        return
    if not rater:
        raise click.UsageError("give your rater id: mldock label --rater ID")
    from .. import label

    def ready(url: str) -> None:
        click.echo(f"label: open {url} (rater {rater}); Ctrl-C stops", err=True)

    label.run_server(ctx_paths(), rater, port, ready)


@cli.command("agreement")
def agreement() -> None:
    """Cohen's kappa per pair of raters and against the study's labels, Krippendorff's alpha
    over three or more, per-category confusion: processed/label_agreement.csv,
    processed/label_confusion.csv and reports/labelling.md."""
    from .. import label

    out = label.run_agreement(ctx_paths(), bars())
    click.echo("label agreement: " + ", ".join(f"{k}={v}" for k, v in out.items()), err=True)
