"""``mldock classify`` and ``mldock classify evaluate``."""

from __future__ import annotations

import click

from ..classify import evaluate, run
from ..classify.embedding import EMBEDDINGS
from . import bars, ctx_paths


@click.group("classify", invoke_without_command=True)
@click.option("--seed", default=0, show_default=True, help="Random seed for the CV folds.")
@click.pass_context
def cli(ctx: click.Context, seed: int) -> None:
    """Classify projects (6 categories) and Docker purposes (21).

    Without a subcommand: write data/processed/projects.csv (category = the reviewed label
    of data/labels/*.csv where raters gave one, else the study's label, else the model's
    calibrated prediction, flagged needs_review below the review threshold) and
    purposes.csv (coded from the study's free text where it exists, predicted elsewhere).
    """
    ctx.ensure_object(dict)
    ctx.obj["seed"] = seed
    if ctx.invoked_subcommand is None:
        counts = run.run(ctx_paths(ctx), bars(ctx), seed=seed)
        click.echo(
            f"classified {counts['repos']} repositories ({counts['manual']} manual, of them "
            f"{counts['reviewed']} reviewed; {counts['predicted']} predicted, {counts['needs_review']} "
            f"need review below confidence {counts['review_threshold']}); purposes: {counts['coded']} coded, "
            f"{counts['purpose_rows']} rows; {counts['errors']} errors; {counts['seconds']} s"
        )


@cli.command("evaluate")
@click.option("--repeats", default=3, show_default=True, help="Repeats of the k-fold CV.")
@click.option("--folds", default=5, show_default=True, help="Number of CV folds.")
@click.option("--variants/--no-variants", default=True, show_default=True,
              help="Also measure the feature-set variants tried (slower).")
@click.option("--nested", is_flag=True,
              help="With --variants: also the nested-CV estimate of picking a category variant.")
@click.option("--embedding", type=click.Choice(list(EMBEDDINGS)), default=None,
              help="Also measure, on the same folds and nested, the model whose grid weighs a "
                   "pretrained text embedding of name/description/topics (needs the optional "
                   "extra 'embedding'; its weights ship in the wheel, nothing is downloaded).")
@click.pass_context
def evaluate_cmd(ctx: click.Context, repeats: int, folds: int, variants: bool, nested: bool,
                 embedding: str | None) -> None:
    """Cross-validate the classifiers (nested: the category model's choice of C and block
    weights, its calibration and its review threshold are fitted inside each training
    fold); write reports/classification.md and .csv."""
    s = evaluate.evaluate(ctx_paths(ctx), repeats, folds, int((ctx.obj or {}).get("seed", 0)),
                          bars(ctx), variants=variants, nested=nested and variants,
                          embedding=embedding)
    click.echo(
        f"category: accuracy {s['category_accuracy']:.3f}, macro-F1 {s['category_macro_f1']:.3f} "
        f"(rules {s['rules_accuracy']:.3f}, majority {s['majority_accuracy']:.3f}); "
        f"purposes: micro-F1 {s['purpose_micro_f1']:.3f}, macro-F1 {s['purpose_macro_f1']:.3f}; "
        f"{s['seconds']} s"
    )
