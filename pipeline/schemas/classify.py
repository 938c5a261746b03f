"""Processed tables of the classify stage."""

from __future__ import annotations

from .base import C, Table, register

PROJECTS = register(
    Table(
        name="projects",
        location="processed",
        stage="classify",
        description="Project category per studied repository: the study's manual label where it exists, the model's prediction elsewhere",
        key=("repo",),
        published=True,
        columns=(
            C("repo", "str", "Repository full name, owner/name", False),
            C("category", "str", "Project category used by every per-category figure: manual label when present, else predicted_category (empty only when neither exists)"),
            C("category_source", "str", "'reviewed' when raters labelled it in data/labels/*.csv (majority; ties listed in classify_errors), else 'manual' when the study labelled the repository, 'predicted' otherwise", False),
            C("raw_label", "str", "The study's raw manual_topic label, empty when blank"),
            C("predicted_category", "str", "The supervised model's category for every repository (out-of-fold for labelled ones); the rules' answer when too few labels exist to train"),
            C("confidence", "float", "Calibrated model probability of predicted_category (temperature scaling fitted on out-of-fold logits; empty when the rules decided)"),
            C("prediction_kind", "str", "'out-of-fold' (labelled repositories, the model's inner 5-fold CV), 'trained on all labelled' (unlabelled ones) or 'keyword rules (too few labels to train)'", False),
            C("rules_category", "str", "Category chosen by the keyword rules alone (most votes); empty when no rule fired"),
            C("rules_fired", "str", "Keyword rules that fired, e.g. 'description~\"serving\" -> MLOps/AIOps'; '; '-separated"),
            C("in_final_dataset", "bool", "True if the repository is in final-dataset.csv (405 set)"),
            C("needs_review", "bool", "True for a predicted category whose confidence is below the review threshold (chosen on out-of-fold answers to reach 0.90 accuracy; in the table's metadata); False for labelled rows", False),
            C("top2", "str", "JSON list of the two most likely categories with their probabilities, e.g. [[\"Toolkit\", 0.61], [\"DL Framework\", 0.22]]; empty when the rules decided"),
            C("reviewed_by", "str", "Raters whose label is the reviewed category, '; '-separated; empty when not reviewed"),
        ),
    )
)

PURPOSES = register(
    Table(
        name="purposes",
        location="processed",
        stage="classify",
        description="Docker purposes per repository (taxonomy/purposes.yaml ids): coded from the study's free text where present, predicted elsewhere",
        key=("repo", "purpose"),
        published=True,
        columns=(
            C("repo", "str", "Repository full name, owner/name", False),
            C("purpose", "str", "Purpose id from taxonomy/purposes.yaml (major category or subcategory)", False),
            C("name", "str", "Purpose name as in the study's Figure 2", False),
            C("level", "str", "'major' (one of the 21) or 'sub' (one of the 12 subcategories)", False),
            C("parent", "str", "Major purpose id of a subcategory, empty for majors"),
            C("source", "str", "'coded' (study's free text via purpose_coding.yaml), 'predicted' (model, majors) or 'rules' (keyword rules: subcategories of a chosen major, or every purpose when too few coded repositories exist to train)", False),
            C("confidence", "float", "1 for coded rows, model probability for predicted rows, empty for rules rows"),
            C("evidence", "str", "Why: the study's tokens (column:\"token\"), or the rules that fired, '; '-separated", False),
        ),
    )
)
