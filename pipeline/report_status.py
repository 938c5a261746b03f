"""Report statuses: the data-defect status and the per-artefact table of the report.

* :data:`DATA_DEFECTS`: targets where the study's published value contradicts its own
  data; a difference there is ``unreproducible (data)``, with a reason citing study.md.
* :data:`ARTEFACTS` / :func:`artefact_counts`: targets per paper artefact and status.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

UNREPRODUCIBLE = "unreproducible (data)"
DATA_DEFECTS = {
    "data_collection_counts.unique_repos_search_results.value":
        "paper 30,139, the package's all-search sheet has 30,138 rows (study.md 7.2.1)",
    "rq1_category_counts.MLOps/ AIOps.value":
        "paper 92 of 406, manual-labeling.csv has 93 of 406 (92 only in the 405 set; study.md 2.5)",
    "rq1_category_counts.Toolkit.value":
        "paper 63, both label files have 62 Toolkit repositories (study.md 2.5, 7.2.5)",
    "rq1_table1_medians.Documentations.Dockerfiles.value":
        "paper 4, the median of the package's total_dockerfiles is 3.5 (study.md 2.6, 7.2.6)",
    "rq3_dockerfiles.data_value.[distinct Dockerfile-named files parsed (results_instruction.csv)]":
        "results_instruction.csv has 2,484 files, manual-labeling total_dockerfiles sums to "
        "2,493 (study.md 1.5)",
}
"""Targets where the study's published value contradicts its own data: a difference is
reported as ``unreproducible (data)`` with this reason, never as ``differs``."""


STATUSES = ("reproduced", "differs", UNREPRODUCIBLE, "not recomputable")

ARTEFACTS = (
    ("Table 1", ("rq1_category_counts", "rq1_category_share", "rq1_table1_medians",
                 "rq1_raw_label_counts")),
    ("Fig 1", ("data_collection_keywords", "data_collection_counts", "inclusion_criteria")),
    ("Fig 2", ("rq2_purpose_taxonomy", "rq2_label_coverage")),
    ("Fig 3a", ("rq3_instruction_frequency", "rq3_dockerfiles")),
    ("Fig 3b", ("rq3_run_command_categories", "rq3_run_command_keyword_lists")),
    ("Fig 4a", ("rq3_base_images",)),
    ("Fig 4b", ("rq3_base_image_types",)),
    ("Table 2", ("rq4_table2", "rq4_table2_contributing_repos", "rq4_text_claims")),
    ("Fig 5a", ("rq4_fig5a_file_composition",)),
    ("Fig 5b", ("rq4_fig5b_file_size",)),
)
"""Paper artefact -> the target sections it covers (every section in exactly one)."""


def artefact_counts(rep: pd.DataFrame, modes: tuple[str, ...]) -> pd.DataFrame:
    """Per paper artefact and mode: targets per status."""
    rows = []
    for name, sections in ARTEFACTS:
        sub = rep[rep["section"].isin(sections)]
        row: dict[str, Any] = {"artefact": name, "targets": len(sub)}
        for mode in modes:
            vc = sub[f"status_{mode}"].value_counts()
            for st in STATUSES:
                row[f"{mode}: {st}"] = int(vc.get(st, 0))
        rows.append(row)
    return pd.DataFrame(rows)
