"""Tables of the report stage."""

from __future__ import annotations

from .base import C, Table, register

REPRODUCTION = register(
    Table(
        name="reproduction",
        location="reports",  # written to reports/reproduction.csv by `mldock report`
        stage="report",
        description="One row per compared value of paper_targets.json: the paper's value, ours in paper and corrected mode, difference and status",
        key=("target",),
        published=True,
        columns=(
            C("target", "str", "Dotted JSON path of the compared leaf in paper_targets.json (keys containing a dot in [brackets])", False),
            C("section", "str", "Top-level section of paper_targets.json (e.g. rq1_table1_medians)", False),
            C("kind", "str", "scalar, table cell (a cell of a per-category table or figure) or list (compared as a set)", False),
            C("reference", "str", "paper: the value printed in the paper; package: recomputed from the replication package where the paper prints none", False),
            C("paper_value", "str", "The reference value (lists comma-separated)"),
            C("unit", "str", "Unit of the value as stated in paper_targets.json"),
            C("tolerance", "float", "Absolute tolerance for 'reproduced' (numbers only; lists must be equal as sets)"),
            C("ours_paper", "str", "Our value in paper mode (the study's rules, quirks included); empty when not recomputable"),
            C("ours_corrected", "str", "Our value in corrected mode (our default rules); empty when not recomputable"),
            C("diff_paper", "str", "ours_paper minus the reference (numbers), or the set difference (+ours only; -paper only)"),
            C("diff_corrected", "str", "ours_corrected minus the reference, or the set difference"),
            C("status_paper", "str", "reproduced (within tolerance), differs, unreproducible (data), or not recomputable", False),
            C("status_corrected", "str", "reproduced (within tolerance), differs, unreproducible (data), or not recomputable", False),
            C("labels", "str", "For per-category targets: the category's label mix, 'n manual / m predicted' "
              "(as 'paper: ...; corrected: ...' when the two modes' sets differ)"),
            C("reason", "str", "One-line reason for the status", False),
        ),
    )
)
