"""The evolution figures: matplotlib object API only, written with deterministic bytes."""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.dates import DateFormatter, YearLocator
from matplotlib.figure import Figure

from ..taxonomy import load_categories

NO_CATEGORY = "not studied"



def fig_lines(summary: pd.DataFrame) -> Figure:
    """Per category (columns): one line per project over its tag dates; top row instructions
    per Dockerfile, bottom row Dockerfiles per release (log scale)."""
    cats = load_categories()
    present = [c if c else NO_CATEGORY for c in summary["category"]]
    df = summary.assign(category=present, when=pd.to_datetime(summary["tag_date"]))
    order = [*cats.ordered(set(present) - {NO_CATEGORY}),
             *([NO_CATEGORY] if NO_CATEGORY in present else [])]
    fig = Figure(figsize=(3.2 * max(1, len(order)), 6.0))
    axes = fig.subplots(2, max(1, len(order)), sharey="row", squeeze=False)
    for k, cat in enumerate(order):
        sub = df[df["category"] == cat]
        repos = sorted(sub["repo"].unique())
        shades = _shades(cats.colour(cat, "#777777") or "#777777", len(repos))
        for repo, shade in zip(repos, shades, strict=True):
            g = sub[sub["repo"] == repo].sort_values(["when", "tag"])
            for row, col in ((0, "instructions_per_dockerfile"), (1, "n_dockerfiles")):
                axes[row][k].plot(g["when"], g[col], color=shade, lw=1,
                                  label=repo if row == 0 else None)
        axes[0][k].set_title(f"{cat} ({len(repos)})", fontsize=9)
        axes[0][k].legend(fontsize=5, loc="upper left", frameon=False)
        axes[1][k].set_yscale("log")
        for row in (0, 1):
            axes[row][k].tick_params(labelsize=7)
            axes[row][k].xaxis.set_major_locator(YearLocator(2))
            axes[row][k].xaxis.set_major_formatter(DateFormatter("%Y"))
    axes[0][0].set_ylabel("Instructions per Dockerfile", fontsize=8)
    axes[1][0].set_ylabel("Dockerfiles per release (log)", fontsize=8)
    fig.suptitle("Dockerfiles across releases (samples/dockerfiles.tar.gz), per project", fontsize=10)
    fig.tight_layout()
    return fig


def _shades(base: str, n: int) -> list[tuple[float, ...]]:
    """``n`` shades of ``base``, from dark to light (distinct lines in one facet)."""
    from matplotlib.colors import to_rgb

    rgb = np.array(to_rgb(base))
    ts = np.linspace(0.0, 0.6, n) if n > 1 else np.array([0.0])
    return [tuple(rgb * (1 - t) + t * np.ones(3)) if t else tuple(rgb) for t in ts]


def fig_heatmap(grid: pd.DataFrame, n_files: int = 0, n_unchanged: int = 0) -> Figure:
    """Base-image moves between releases: rows from, columns to, cells counts.  Without any
    move the figure says so (and how many files kept one content over all their releases)."""
    if grid.empty:
        fig = Figure(figsize=(6.5, 2.0))
        ax = fig.add_subplot()
        ax.axis("off")
        ax.text(0.5, 0.5, "No base-image moves between consecutive releases of a Dockerfile.\n"
                f"{n_unchanged:,} of {n_files:,} files of the corpus have one content over all "
                "their releases.", ha="center", va="center", fontsize=9, wrap=True)
        ax.set_title("Base-image moves between consecutive releases of a Dockerfile", fontsize=9)
        return fig
    n = max(1, len(grid))
    fig = Figure(figsize=(0.55 * n + 3.5, 0.45 * n + 2.5))
    ax = fig.add_subplot()
    values = grid.to_numpy() if len(grid) else np.zeros((1, 1), dtype=int)
    im = ax.imshow(values, cmap="Blues")
    ax.set_xticks(range(len(grid.columns)), [str(c) for c in grid.columns], rotation=60,
                  ha="right", fontsize=7)
    ax.set_yticks(range(len(grid.index)), [str(c) for c in grid.index], fontsize=7)
    top = values.max() if values.size else 0
    for (i, j), v in np.ndenumerate(values):
        if v:
            ax.text(j, i, str(int(v)), ha="center", va="center", fontsize=6,
                    color="white" if v > top / 2 else "black")
    ax.set_xlabel("to (the later release)")
    ax.set_ylabel("from (the earlier release)")
    ax.set_title("Base-image moves between consecutive releases of a Dockerfile", fontsize=9)
    fig.colorbar(im, ax=ax, shrink=0.7)
    return fig
