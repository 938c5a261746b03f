"""``mldock reproduce``: every stage on the replication package, in order, timed."""

from __future__ import annotations

import time
from typing import Any

import click

from . import classify, evolution, images, ingest, orchestration, parse, publish, report, smells


def _steps(source: str | None, notebooks: bool, evaluate: bool) -> list[tuple[str, click.Command, dict[str, Any]]]:
    """(name, command, options other than their defaults), in the order of `make reproduce`
    (then `make evaluate` with ``evaluate``)."""
    steps: list[tuple[str, click.Command, dict[str, Any]]] = [
        ("ingest", ingest.cli, {"source": source}),
        ("parse", parse.cli, {"mode": "both"}),
        ("classify", classify.cli, {}),
        ("images", images.cli, {"replication": True}),
        ("evolution", evolution.cli, {}),
        ("orchestration", orchestration.cli, {}),
        ("smells", smells.cli, {}),
        ("report", report.cli, {"no_notebooks": not notebooks}),
        ("publish", publish.cli, {}),
    ]
    if evaluate:
        steps.append(("classify evaluate", classify.evaluate_cmd, {"nested": True}))
    return steps


@click.command("reproduce")
@click.option("--from", "source", metavar="SOURCE", default=None,
              help="The replication package (as for `mldock ingest --from`).")
@click.option("--no-notebooks", is_flag=True, help="Skip executing the notebooks.")
@click.option("--evaluate", is_flag=True,
              help="Then cross-validate the classifiers (nested; = make evaluate).")
@click.pass_context
def cli(ctx: click.Context, source: str | None, no_notebooks: bool, evaluate: bool) -> None:
    """Run every stage on the replication package: ingest, parse, classify, images,
    evolution, orchestration, smells, report, publish; print the time each took.

    `make reproduce` does the same but reruns only stale stages."""
    timings: list[tuple[str, float]] = []
    try:
        for name, command, params in _steps(source, not no_notebooks, evaluate):
            t0 = time.perf_counter()
            ctx.invoke(command, **params)
            timings.append((name, time.perf_counter() - t0))
            click.echo(f"reproduce: {name} done in {timings[-1][1]:.1f} s", err=True)
    finally:  # also when a stage fails: the times of those that ran
        total = sum(t for _, t in timings)
        click.echo("reproduce: " + ", ".join(f"{n} {t:.1f} s" for n, t in timings)
                   + f"; total {total:.1f} s")
