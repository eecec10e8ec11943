# smdeploy: every command in the README is a target here. Each bootstraps what it needs.
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
TOOLS := .tools
SAM_VENV := $(TOOLS)/sam
CHECKOV_VENV := $(TOOLS)/checkov
NODE_TOOLS := $(TOOLS)/node
STAMP := $(VENV)/.installed
export SAM_CLI_TELEMETRY := 0
export AWS_DEFAULT_REGION ?= us-east-1

.PHONY: help demo test unit integration statemachine matrix template lint validate build bench schema diagrams clean

help:
	@echo "make demo      rehearse a deployment in the local cloud and show what happened"
	@echo "make test      lint, validate the template and ASL, run the whole suite"
	@echo "make lint      ruff and mypy"
	@echo "make matrix    the full convergence matrix (minutes)"
	@echo "make validate  sam validate --lint, ASL validation, template checks"
	@echo "make build     sam build (needs a python3.13 interpreter)"
	@echo "make bench     benchmarks (bench/)"
	@echo "make schema    regenerate schemas/manual-input.schema.json"
	@echo "make diagrams  regenerate docs/state-machines.md from statemachines/*.asl.json"

$(STAMP): requirements/dev.txt requirements/translator.txt pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements/dev.txt
	$(PY) -m pip install --quiet --disable-pip-version-check --no-deps -r requirements/translator.txt
	$(PY) -m pip install --quiet --disable-pip-version-check --no-deps -e .
	touch $@

$(SAM_VENV)/.installed: requirements/sam.txt
	test -x $(SAM_VENV)/bin/python || $(PYTHON) -m venv $(SAM_VENV)
	$(SAM_VENV)/bin/pip install --quiet --disable-pip-version-check -r requirements/sam.txt
	touch $@

# checkov has its own environment too: it pins boto3 and networkx, which clash with SAM and with ours.
$(CHECKOV_VENV)/.installed: requirements/checkov.txt
	test -x $(CHECKOV_VENV)/bin/python || $(PYTHON) -m venv $(CHECKOV_VENV)
	$(CHECKOV_VENV)/bin/pip install --quiet --disable-pip-version-check -r requirements/checkov.txt
	touch $@

$(NODE_TOOLS)/.installed: tools/package.json tools/package-lock.json
	@command -v npm >/dev/null || { echo "make: npm (Node.js 18 or later) is needed to install asl-validator into $(NODE_TOOLS)" >&2; exit 1; }
	mkdir -p $(NODE_TOOLS)
	cp tools/package.json tools/package-lock.json $(NODE_TOOLS)/
	cd $(NODE_TOOLS) && npm ci --silent --no-audit --no-fund --ignore-scripts
	touch $@

demo: $(STAMP)
	$(VENV)/bin/smdeploy simulate scenarios/demo.yaml

# lint and validate run side by side (each runs one process at a time), then the suite on every core
# (pytest-xdist: the rehearsals are CPU-bound and independent; tests that read the same repository
# scenario share its rehearsal and one process: --dist loadgroup).
test: $(STAMP) $(SAM_VENV)/.installed $(NODE_TOOLS)/.installed $(CHECKOV_VENV)/.installed
	$(MAKE) --no-print-directory --output-sync=target -j2 lint validate
	$(PY) -m pytest -n auto --dist loadgroup

unit: $(STAMP)
	$(PY) -m pytest tests/unit

integration: $(STAMP)
	$(PY) -m pytest tests/integration

statemachine: $(STAMP)
	$(PY) -m pytest tests/statemachine

# The full convergence matrix (tests/statemachine/test_convergence_matrix.py): every fault kind at
# every call, Task and state of five rollout paths, fast and slow updates. Minutes; CI runs it.
matrix: $(STAMP)
	rm -f .matrix-results.jsonl
	MATRIX_RESULTS=$(CURDIR)/.matrix-results.jsonl $(PY) -m pytest -n auto -m matrix \
		tests/statemachine/test_convergence_matrix.py tests/statemachine/test_convergence_properties.py \
		tests/statemachine/test_fault_matrix.py
	$(PY) tools/matrix_summary.py .matrix-results.jsonl

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy

validate: $(STAMP) $(SAM_VENV)/.installed $(NODE_TOOLS)/.installed $(CHECKOV_VENV)/.installed
	$(SAM_VENV)/bin/sam validate --lint --region $(AWS_DEFAULT_REGION) --template template.yaml
	@# One file per run, errors shown (--silent would hide them too). Its ARN check accepts DefinitionSubstitutions placeholders.
	@set -e; for asl in statemachines/*.asl.json; do $(NODE_TOOLS)/node_modules/.bin/asl-validator --json-path "$$asl"; done
	$(PY) tools/check_template.py
	@# checkov on template.yaml and on its offline translation (.aws-sam/translated.json), where the IAM checks run.
	$(SAM_VENV)/bin/python tools/run_checkov.py --checkov $(CHECKOV_VENV)/bin/checkov
	@# the stage-account stack (plain CloudFormation: roles for a stage in another account)
	$(SAM_VENV)/bin/cfn-lint stage-account.yaml
	$(SAM_VENV)/bin/python tools/run_checkov.py --checkov $(CHECKOV_VENV)/bin/checkov --template stage-account.yaml --out .aws-sam/stage-account.json

build: $(SAM_VENV)/.installed
	@# A pyenv shim for python3.13 exists even when 3.13 is not selected, so each candidate must run.
	@py313=""; pyroot=$$(pyenv root 2>/dev/null || echo "$${PYENV_ROOT:-$$HOME/.pyenv}"); \
	for cand in $(PYTHON313) $$(command -v python3.13) $$(ls -d "$$pyroot"/versions/3.13*/bin/python3.13 2>/dev/null | sort -rV); do \
	  if "$$cand" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 13))' >/dev/null 2>&1; then py313=$$cand; break; fi; \
	done; \
	if [ -z "$$py313" ]; then echo "make build: no working python3.13 interpreter found (the Lambda runtime is python3.13); install one (e.g. pyenv install 3.13) or pass PYTHON313=/path/to/python3.13" >&2; exit 1; fi; \
	echo "sam build with $$py313"; \
	PATH="$$(dirname "$$py313"):$$PATH" $(SAM_VENV)/bin/sam build --template template.yaml

bench: $(STAMP)
	$(PY) bench/bench_first_deploy.py
	$(PY) bench/bench_canary.py
	$(PY) bench/bench_concurrency.py
	@if [ -f bench/bench_batch.py ]; then $(PY) bench/bench_batch.py; fi
	$(PY) bench/bench_strict.py
	$(PY) bench/bench_ab.py
	$(PY) bench/bench_drift.py

schema: $(STAMP)
	$(PY) tools/generate_schema.py

diagrams: $(STAMP)
	$(PY) tools/asl_diagram.py

clean:
	rm -rf $(VENV) $(TOOLS) .aws-sam .pytest_cache .mypy_cache .ruff_cache
