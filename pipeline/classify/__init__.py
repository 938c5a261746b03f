"""Classify projects into the study's 6 categories (RQ1) and Docker purposes into its 21 (RQ2).

Two classifiers, both fed the same per-repository *evidence* (name, description, topics,
homepage, README when present, Docker file paths, Dockerfile instructions, RUN/CMD
commands, base images, compose services).  The Docker evidence comes only from the parse
stage's tables (corrected mode), never from the raw files, so RQ2 describes the files RQ3
counts:

* **keyword rules** from ``taxonomy/project_categories.yaml`` and ``taxonomy/purposes.yaml``:
  transparent, every decision lists the rules that fired;
* a **supervised** scikit-learn ``Pipeline`` (TF-IDF text features, repository metadata and
  the rule hits as features, logistic regression), trained on the repositories the study
  labelled.  Every transform is fitted inside the cross-validation folds, and the label is
  never used to build a feature.

The study's free-text purpose columns are coded to purpose ids by
``taxonomy/purpose_coding.yaml``; those coded labels train the multi-label purpose model.

Outputs: ``data/processed/projects.csv`` and ``purposes.csv``; ``mldock classify evaluate``
writes ``reports/classification.md`` and ``reports/classification.csv``.

Modules, one concern each: ``taxonomy`` (the three YAML files), ``evidence`` (what the
classifiers may read), ``rules`` (keyword rules), ``coding`` (the study's coded purposes),
``features`` (the feature frame), ``models`` (sklearn pipelines, the purpose model),
``run`` (the stage), ``evaluate`` (cross-validation) and ``render`` (the Markdown report).
"""
