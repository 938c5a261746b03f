"""Tables of the label stage: a rater's labels and the agreement between raters."""

from __future__ import annotations

from .base import C, Table, register

LABELS = register(
    Table(
        name="labels",
        location="labels",
        stage="label",
        description="One rater's labels from the labelling page (data/labels/<rater>.csv): the latest choice per repository",
        key=("repo",),
        columns=(
            C("repo", "str", "Repository full name, owner/name", False),
            C("category", "str", "The category the rater chose (an id of taxonomy/categories.yaml)", False),
            C("note", "str", "The rater's note, empty when none"),
            C("rater", "str", "The rater's id, given to mldock label --rater", False),
            C("timestamp", "date", "When the label was saved (UTC, ISO 8601)", False),
            C("suggestion", "str", "The model's suggestion the page showed: its top 2 with probabilities, or its prediction and confidence"),
        ),
    )
)

LABEL_AGREEMENT = register(
    Table(
        name="label_agreement",
        location="processed",
        stage="label",
        description="Agreement between the raters of data/labels/ and with the study's labels: Cohen's kappa per pair, Krippendorff's alpha over three or more raters",
        key=("rater_a", "rater_b", "measure"),
        columns=(
            C("rater_a", "str", "A rater id, or 'all raters' for Krippendorff's alpha", False),
            C("rater_b", "str", "The other rater id, 'study' for the study's manual labels, empty for alpha"),
            C("measure", "str", "cohen_kappa or krippendorff_alpha (nominal)", False),
            C("n_repos", "int", "Repositories both labelled (for alpha: labelled by at least two raters)", False),
            C("value", "float", "The measure; empty when undefined (fewer than two repositories or one category only)"),
            C("observed_agreement", "float", "Share of those repositories with the same label (for alpha: of the pairs of labels)"),
        ),
    )
)

LABEL_CONFUSION = register(
    Table(
        name="label_confusion",
        location="processed",
        stage="label",
        description="Per rater: the study's manual label against the rater's, repositories per cell (cells with none are left out)",
        key=("rater", "study_category", "rater_category"),
        columns=(
            C("rater", "str", "The rater id", False),
            C("study_category", "str", "The study's category (repos.csv, label_source manual)", False),
            C("rater_category", "str", "The rater's category", False),
            C("n", "int", "Repositories", False),
        ),
    )
)
