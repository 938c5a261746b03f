# mldock -- run `make` to list the targets.
# Stage targets are real files whose prerequisites are their inputs (code and taxonomy
# included), so only stale stages rerun.

SHELL := /bin/bash
.DEFAULT_GOAL := help
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
# every stage command is timed: scripts/timed.py prints "parse: 8.1 s" and adds a row to $(TIMINGS)
TIMINGS := reports/timings.csv
MLDOCK := $(PYTHON) scripts/timed.py --log $(TIMINGS) $(VENV)/bin/mldock
STAMP := $(VENV)/.installed
# uv comes from PyPI into its own small venv (.tools/); it installs the locked set into .venv.
# The resolution date (exclude-newer) and "no Python downloads" live in pyproject's [tool.uv].
UV_VERSION := 0.13.9
TOOLS := .tools
UV := $(TOOLS)/bin/uv
export UV_PROJECT_ENVIRONMENT := $(VENV)
export UV_PYTHON := $(PYTHON)
# requirements.lock = the same set for pip: header, then uv's hashed export of uv.lock
EXPORT := { echo '\# From uv.lock by `make lock` (checked by `make check-lock`). For pip:'; \
	    echo '\#   pip install --require-hashes -r requirements.lock && pip install --no-deps -e .'; \
	    $(UV) export --quiet --no-header --format requirements-txt --frozen --extra dev --no-emit-project; }
SYSTEM_DEPS := docker-registry chromium chromium-driver
IMAGE ?= mldock
REPLICATION ?=
PYTEST_ARGS ?=

INTERIM := data/interim
PROCESSED := data/processed
PARSER_CORE := pipeline/core/dockerfile.py pipeline/core/paper.py pipeline/core/shell.py \
               pipeline/core/runcmds.py pipeline/core/imageref.py pipeline/core/taxonomy.py
CORE := pipeline/config.py $(wildcard pipeline/schemas/*.py) pipeline/tables.py pipeline/errors.py pipeline/taxonomy.py \
        pipeline/core/categories.py taxonomy/categories.yaml
# the package's RQ4 image CSVs, as ingest normalises them (read by images --replication)
PACKAGE_TABLES := $(addprefix $(INTERIM)/,$(addsuffix .csv,package_image_configs package_image_layers \
        package_image_repos package_file_types_top_num package_file_types_num \
        package_file_types_top_size package_file_types_repos package_base_images package_base_types))

# a recipe that fails leaves no target behind that looks up to date
.DELETE_ON_ERROR:

.PHONY: help setup lock check-lock system-deps check-dockerfile verify image reproduce ingest \
        parse classify evaluate images evolution orchestration smells report publish test test-slow lint bench search filter extract collect clean FORCE

help: ## List the targets
	@echo "mldock -- reproduce 'Studying the Practices of Deploying ML Projects on Docker' (EASE 2022)"
	@echo
	@grep -E '^[a-zA-Z_-]+:.*?## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*?## "}; {printf "  make %-10s %s\n", $$1, $$2}'
	@echo
	@echo "  make reproduce REPLICATION=<Datasets folder, zip or URL> to use another copy of the package"

setup: $(STAMP) ## Create .venv with the locked packages (uv.lock), mldock editable, dev tools

$(UV):
	$(PYTHON) -m venv $(TOOLS)
	$(TOOLS)/bin/pip install --quiet uv==$(UV_VERSION)

$(STAMP): pyproject.toml uv.lock | $(UV)
	@test -x $(PY) || $(UV) venv --quiet $(VENV)
	$(UV) sync --frozen --extra dev --compile-bytecode
	@touch $@

lock: | $(UV) ## Re-resolve uv.lock (UPGRADE=1: newest allowed by pyproject) and requirements.lock
	$(UV) lock $(if $(UPGRADE),--upgrade)
	@$(EXPORT) > requirements.lock

check-lock: | $(UV) ## uv.lock matches pyproject.toml and requirements.lock matches uv.lock
	$(UV) lock --check
	@$(EXPORT) | cmp -s requirements.lock - \
	  || { echo "requirements.lock is stale: run make lock"; exit 1; }

system-deps: ## Install the Debian packages the tests need (as root), or say which to install
	@scripts/ensure-system-deps $(SYSTEM_DEPS)

reproduce: setup ## Set up, then run every stage on the replication package; print the time per stage
	@$(PYTHON) scripts/timed.py --log $(TIMINGS) --reset
	@$(MAKE) --no-print-directory ingest parse classify images evolution orchestration smells report publish \
	  || { $(PYTHON) scripts/timed.py --log $(TIMINGS) --summary; exit 1; }
	@$(PYTHON) scripts/timed.py --log $(TIMINGS) --summary
	@echo "reproduce: done -- see data/processed/ and reports/reproduction.md (make evaluate: the classifiers cross-validated)"

# The REPLICATION value is remembered so that changing it reruns ingest.
$(INTERIM)/.replication-arg: FORCE
	@mkdir -p $(@D)
	@echo '$(REPLICATION)' | cmp -s - $@ || echo '$(REPLICATION)' > $@

ingest: $(INTERIM)/repos.csv ## Read the replication package into data/interim/ (repos, funnel, files, package_*)

$(INTERIM)/repos.csv: $(STAMP) $(INTERIM)/.replication-arg pipeline/ingest.py pipeline/ingest_images.py \
		pipeline/ingest_sheets.py pipeline/core/sniff.py pipeline/core/compose.py pipeline/core/cells.py $(CORE)
	$(MLDOCK) ingest $(if $(REPLICATION),--from '$(REPLICATION)')

# ingest writes these together with repos.csv
$(INTERIM)/files.csv $(INTERIM)/funnel.csv $(INTERIM)/purpose_text.csv $(PACKAGE_TABLES): $(INTERIM)/repos.csv ;

parse: $(PROCESSED)/dockerfiles.csv ## Parse Dockerfiles and compose files (paper and corrected modes)

$(PROCESSED)/dockerfiles.csv: $(INTERIM)/repos.csv pipeline/parse.py pipeline/executor.py $(PARSER_CORE) pipeline/core/compose.py \
		pipeline/core/orchestration.py taxonomy/run_commands.yaml taxonomy/base_image_types.yaml taxonomy/orchestration.yaml $(CORE)
	$(MLDOCK) parse --mode both

classify: $(PROCESSED)/projects.csv ## Classify project categories and Docker purposes

# the classify stage's code (evaluate.py and render.py are the evaluation's only)
CLASSIFY_RUN := $(filter-out pipeline/classify/evaluate.py pipeline/classify/render.py,$(wildcard pipeline/classify/*.py))

# parse writes these together with dockerfiles.csv
$(PROCESSED)/instructions.csv $(PROCESSED)/base_images.csv $(PROCESSED)/compose_services.csv: $(PROCESSED)/dockerfiles.csv ;

# classify reads parse's tables (never data/raw/) and the reviewed labels (data/labels/*.csv)
$(PROCESSED)/projects.csv: $(INTERIM)/repos.csv $(INTERIM)/files.csv $(INTERIM)/purpose_text.csv $(wildcard data/labels/*.csv) $(wildcard data/labels) \
		$(PROCESSED)/instructions.csv $(PROCESSED)/base_images.csv $(PROCESSED)/compose_services.csv $(CLASSIFY_RUN) \
		taxonomy/project_categories.yaml taxonomy/purposes.yaml taxonomy/purpose_coding.yaml $(CORE)
	$(MLDOCK) classify

evaluate: reports/classification.md ## Cross-validate the classifiers (nested CV, variants): reports/classification.{md,csv}

reports/classification.md: $(PROCESSED)/projects.csv $(wildcard pipeline/classify/*.py)
	$(MLDOCK) classify evaluate --nested

smells: $(PROCESSED)/smells.csv ## Dockerfile smells: hadolint (cached per content) and taxonomy/smells.yaml; reports/smells.md

# reads parse's and classify's tables, the raw copies ingest made (files.csv) and the
# per-release corpus evolution lists (dockerfile_versions.csv)
$(PROCESSED)/smells.csv: $(INTERIM)/files.csv $(PROCESSED)/dockerfiles.csv $(PROCESSED)/instructions.csv \
		$(PROCESSED)/base_images.csv $(PROCESSED)/projects.csv $(PROCESSED)/release_summary.csv \
		$(wildcard pipeline/smells/*.py) pipeline/executor.py \
		pipeline/core/smells.py taxonomy/smells.yaml taxonomy/hadolint.yaml $(CORE)
	$(MLDOCK) smells
	@touch $@  # also when its inputs' bytes did not change (a no-op): make sees it done

# smells writes these together with smells.csv
$(PROCESSED)/smell_files.csv $(PROCESSED)/smell_densities.csv $(PROCESSED)/smell_tests.csv $(PROCESSED)/smell_top.csv \
		$(PROCESSED)/release_smells.csv \
		reports/smells.md: $(PROCESSED)/smells.csv ;

images: $(PROCESSED)/images_table2.csv ## Image statistics (Table 2, Figure 5) from the package's manifests

$(PROCESSED)/images_table2.csv: $(INTERIM)/repos.csv $(PACKAGE_TABLES) $(PROCESSED)/projects.csv \
		$(wildcard pipeline/images/*.py) taxonomy/file_types.yaml taxonomy/categories.yaml $(CORE)
	$(MLDOCK) images --replication

evolution: $(PROCESSED)/release_summary.csv ## Dockerfiles across releases: the package's per-release corpus, dated by tag

# the parser's code and the taxonomies it reads key the parse cache (data/cache/evolution)
# (and mldock's smell rules per content: pipeline/core/smells.py, taxonomy/smells.yaml)
$(PROCESSED)/release_summary.csv: $(INTERIM)/repos.csv $(PROCESSED)/projects.csv $(wildcard pipeline/evolution/*.py) \
		pipeline/core/evolution.py pipeline/core/orchestration.py $(PARSER_CORE) taxonomy/run_commands.yaml \
		taxonomy/orchestration.yaml pipeline/core/smells.py taxonomy/smells.yaml $(CORE)
	$(MLDOCK) evolution
	@touch $@  # also when its inputs' bytes did not change (a no-op): make sees it done

# evolution writes these together with release_summary.csv
$(PROCESSED)/dockerfile_versions.csv $(PROCESSED)/base_image_changes.csv $(PROCESSED)/dockerfile_histories.csv: $(PROCESSED)/release_summary.csv ;

orchestration: $(PROCESSED)/orchestration_shares.csv ## GPU and orchestration signals per repository and per category

$(PROCESSED)/orchestration_shares.csv: $(PROCESSED)/dockerfiles.csv $(INTERIM)/repos.csv $(PROCESSED)/projects.csv pipeline/orchestration.py \
		pipeline/core/orchestration.py taxonomy/orchestration.yaml $(CORE)
	$(MLDOCK) orchestration

# orchestration writes it together with orchestration_shares.csv; parse writes orchestration_signals.csv
$(PROCESSED)/orchestration_repos.csv: $(PROCESSED)/orchestration_shares.csv ;
$(PROCESSED)/orchestration_signals.csv: $(PROCESSED)/dockerfiles.csv ;

report: reports/reproduction.md ## Figures, tables, notebooks and the reproduction report

PAPER_TARGETS ?= $(or $(MLDOCK_PAPER_TARGETS),../shared/docs/paper_targets.json)

reports/reproduction.md: $(PROCESSED)/projects.csv $(PROCESSED)/dockerfiles.csv $(PROCESSED)/images_table2.csv \
		$(PROCESSED)/release_summary.csv $(PROCESSED)/orchestration_shares.csv $(PROCESSED)/smells.csv \
		$(INTERIM)/package_base_images.csv $(INTERIM)/package_base_types.csv \
		$(wildcard pipeline/report/*.py targets/*) $(wildcard $(PAPER_TARGETS)) \
		taxonomy/purposes.yaml taxonomy/base_image_types.yaml taxonomy/figure4_paper.yaml \
		$(wildcard notebooks/*.ipynb) $(CORE)
	$(MLDOCK) report

publish: data/published/datapackage.json ## Published CSVs with datapackage.json, provenance and CITATION

data/published/datapackage.json: reports/reproduction.md pipeline/publish.py pyproject.toml $(CORE)
	$(MLDOCK) publish

search: $(STAMP) ## collect step 1-2: keyword search on GitHub (needs network; GITHUB_TOKEN)
	$(MLDOCK) collect search

filter: $(STAMP) ## collect step 3-4: metadata and inclusion criteria
	$(MLDOCK) collect filter

extract: $(STAMP) ## collect step 5-7: files, Docker Hub matching, interim tables (FORCE=1 replaces ingested ones)
	$(MLDOCK) collect extract $(if $(FORCE),--force)

collect: search filter extract ## All collect steps against GitHub as it is today

# The docs test checks README.md and docs/ against the generated reports, so those come first.
test: setup system-deps reports/reproduction.md reports/classification.md ## The fast tests (offline; a local registry and a fake GitHub); builds the reports first if missing
	$(VENV)/bin/pytest -m "not slow" $(PYTEST_ARGS)

test-slow: setup system-deps reports/reproduction.md reports/classification.md ## The slow tests only (CI runs them after make test)
	$(VENV)/bin/pytest -m slow $(PYTEST_ARGS)

verify: setup ## Rebuild data/published/ from data/processed/ elsewhere; check sha256s in datapackage.json
	$(PY) scripts/verify_published.py

check-dockerfile: setup ## The Dockerfile through mldock's own parser and hadolint (.hadolint.yaml)
	$(PY) scripts/check_dockerfile.py Dockerfile
	$(VENV)/bin/hadolint --config .hadolint.yaml Dockerfile

image: ## Build the mldock image (docker build; IMAGE=name)
	@if docker info >/dev/null 2>&1; then \
	  docker build --build-arg VCS_REF=$$(git rev-parse HEAD 2>/dev/null || echo unknown) \
	    --build-arg VCS_URL=$$(git remote get-url origin 2>/dev/null || true) -t $(IMAGE) . ; \
	else echo "make image: Docker is not available here (no docker command or daemon)"; exit 1; fi

lint: setup ## ruff and mypy
	$(VENV)/bin/ruff check pipeline tests bench scripts
	$(VENV)/bin/mypy

bench: setup ## Benchmarks: parse throughput, layer-scan speed, pool vs Dask, 1M files (long)
	$(PY) -m bench

clean: ## Remove generated data and reports (keeps .venv, .tools and downloads)
	rm -rf $(INTERIM)/* $(INTERIM)/.replication-arg $(PROCESSED)/* data/raw/* reports/figures reports/tables reports/notebooks reports/reproduction.md reports/classification.md reports/*.csv data/published/*

FORCE:
