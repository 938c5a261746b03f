# mldock -- run `make` to list the targets.
# Stage targets are real files whose prerequisites are their inputs (code and taxonomy
# included), so only stale stages rerun.

SHELL := /bin/bash
.DEFAULT_GOAL := help
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
MLDOCK := $(VENV)/bin/mldock
STAMP := $(VENV)/.installed
REPLICATION ?=
PYTEST_ARGS ?=

INTERIM := data/interim
PROCESSED := data/processed
PARSER_CORE := pipeline/core/dockerfile.py pipeline/core/paper.py pipeline/core/shell.py \
               pipeline/core/runcmds.py pipeline/core/imageref.py pipeline/core/taxonomy.py
CORE := pipeline/config.py pipeline/schemas.py pipeline/tables.py pipeline/errors.py pipeline/taxonomy.py

.PHONY: help setup reproduce ingest parse classify images report publish test lint bench \
        search filter extract collect clean FORCE

help: ## List the targets
	@echo "mldock -- reproduce 'Studying the Practices of Deploying ML Projects on Docker' (EASE 2022)"
	@echo
	@grep -E '^[a-zA-Z_-]+:.*?## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*?## "}; {printf "  make %-10s %s\n", $$1, $$2}'
	@echo
	@echo "  make reproduce REPLICATION=<Datasets folder, zip or URL> to use another copy of the package"

setup: $(STAMP) ## Create .venv and install mldock with its dev tools

$(STAMP): pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	@touch $@

reproduce: setup ingest parse classify images report publish ## Set up, then run every stage on the replication package
	@echo "reproduce: done -- see data/processed/ and reports/reproduction.md"

# The REPLICATION value is remembered so that changing it reruns ingest.
$(INTERIM)/.replication-arg: FORCE
	@mkdir -p $(@D)
	@echo '$(REPLICATION)' | cmp -s - $@ || echo '$(REPLICATION)' > $@

ingest: $(INTERIM)/repos.csv ## Read the replication package into data/interim/ (repos, funnel, files)

$(INTERIM)/repos.csv: $(STAMP) $(INTERIM)/.replication-arg pipeline/ingest.py $(CORE)
	$(MLDOCK) ingest $(if $(REPLICATION),--from '$(REPLICATION)')

# ingest writes these together with repos.csv
$(INTERIM)/files.csv $(INTERIM)/funnel.csv $(INTERIM)/purpose_text.csv: $(INTERIM)/repos.csv ;

parse: $(PROCESSED)/dockerfiles.csv ## Parse Dockerfiles and compose files (paper and corrected modes)

$(PROCESSED)/dockerfiles.csv: $(INTERIM)/repos.csv pipeline/parse.py $(PARSER_CORE) taxonomy/run_commands.yaml taxonomy/base_image_types.yaml $(CORE)
	$(MLDOCK) parse --mode both

classify: $(PROCESSED)/projects.csv ## Classify project categories and Docker purposes; evaluate by CV

$(PROCESSED)/projects.csv: $(INTERIM)/repos.csv $(INTERIM)/purpose_text.csv $(PROCESSED)/dockerfiles.csv pipeline/classify.py \
		taxonomy/project_categories.yaml taxonomy/purposes.yaml taxonomy/purpose_coding.yaml $(CORE)
	$(MLDOCK) classify
	$(MLDOCK) classify evaluate --nested

images: $(PROCESSED)/images_table2.csv ## Image statistics (Table 2, Figure 5) from the package's manifests

$(PROCESSED)/images_table2.csv: $(INTERIM)/repos.csv $(PROCESSED)/projects.csv pipeline/images.py pipeline/layers.py pipeline/registry.py taxonomy/file_types.yaml $(CORE)
	$(MLDOCK) images --replication

report: reports/reproduction.md ## Figures, tables, notebooks and the reproduction report

reports/reproduction.md: $(PROCESSED)/projects.csv $(PROCESSED)/dockerfiles.csv $(PROCESSED)/images_table2.csv \
		pipeline/report.py pipeline/figures.py taxonomy/purposes.yaml taxonomy/base_image_types.yaml \
		$(wildcard notebooks/*.ipynb) $(CORE)
	$(MLDOCK) report

publish: data/published/datapackage.json ## Published CSVs with datapackage.json, provenance and CITATION

data/published/datapackage.json: reports/reproduction.md pipeline/publish.py $(CORE)
	$(MLDOCK) publish

search: $(STAMP) ## collect step 1-2: keyword search on GitHub (needs network; GITHUB_TOKEN)
	$(MLDOCK) collect search

filter: $(STAMP) ## collect step 3-4: metadata and inclusion criteria
	$(MLDOCK) collect filter

extract: $(STAMP) ## collect step 5-7: files, Docker Hub matching, interim tables (FORCE=1 replaces ingested ones)
	$(MLDOCK) collect extract $(if $(FORCE),--force)

collect: search filter extract ## All collect steps against GitHub as it is today

test: setup ## Run the test suite (offline; starts a local registry and a fake GitHub)
	$(VENV)/bin/pytest $(PYTEST_ARGS)

lint: setup ## ruff and mypy
	$(VENV)/bin/ruff check pipeline tests bench
	$(VENV)/bin/mypy

bench: setup ## Benchmarks: parse throughput and layer-scan speed, as ratios to baselines
	$(PY) -m bench

clean: ## Remove generated data and reports (keeps .venv and downloads)
	rm -rf $(INTERIM)/* $(INTERIM)/.replication-arg $(PROCESSED)/* data/raw/* reports/figures reports/tables reports/notebooks reports/reproduction.md reports/classification.md reports/*.csv data/published/*

FORCE:
