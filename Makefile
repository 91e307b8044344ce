# The two commands a newcomer needs: `make run` and `make test`.
SHELL := /bin/bash
PYTHON ?= python3
UV ?= $(PYTHON) -m uv
UV_VERSION := 0.13.9
PROTOS := $(shell find protos/qualverify -name '*.proto')

.PHONY: run test unit check lint typecheck protos bench clean setup asyncapi

setup: .venv/.synced protos node_modules/.installed .local/debian-packages.stamp web-assets \
  k8s-tools

## Debian packages the tests need (chromium for the browser tests, prometheus for promtool),
## installed with apt-get only when missing; no Prometheus server is left running.
.local/debian-packages.stamp: deploy/local/debian-packages.sh
	@mkdir -p $(@D)
	bash deploy/local/debian-packages.sh
	@touch $@

## The Kubernetes manifests' checkers (tests/deploy/test_k8s.py), pinned, built with Go into
## .local/bin only when missing; and Kubernetes' JSON schemas for kubeconform, from the PyPI
## package kubernetes-validate (deploy/k8s/schemas.py makes their references local). The
## operators' CRD schemas are committed (deploy/k8s/schemas/, from deploy/k8s/crd_schemas.py).
KUBERNETES_VALIDATE_VERSION := 1.37.0
K8S_SCHEMAS := .local/k8s-schemas
.PHONY: k8s-tools
k8s-tools: .local/bin/kustomize .local/bin/kubeconform .local/bin/kube-score $(K8S_SCHEMAS)/.extracted
.local/bin/kustomize:
	GOBIN=$(CURDIR)/.local/bin go install sigs.k8s.io/kustomize/kustomize/v5@v5.7.1
.local/bin/kubeconform:
	GOBIN=$(CURDIR)/.local/bin go install github.com/yannh/kubeconform/cmd/kubeconform@v0.7.0
.local/bin/kube-score:
	GOBIN=$(CURDIR)/.local/bin go install github.com/zegl/kube-score/cmd/kube-score@v1.20.0
$(K8S_SCHEMAS)/.extracted: .venv/.synced deploy/k8s/schemas.py
	$(PYTHON) -m pip download --quiet --no-deps --only-binary=:all: -d $(K8S_SCHEMAS) \
	  "kubernetes-validate==$(KUBERNETES_VALIDATE_VERSION)"
	$(UV) run --frozen python -m deploy.k8s.schemas \
	  $(K8S_SCHEMAS)/kubernetes_validate-$(KUBERNETES_VALIDATE_VERSION)-py3-none-any.whl $(K8S_SCHEMAS)
	@touch $@

## The web pages' browser assets (console, employer platform), pinned in package.json and
## vendored (git-ignored).
CONSOLE_VENDOR := services/console/web/static/vendor
CONSOLE_ASSETS := node_modules/uplot/dist/uPlot.iife.min.js node_modules/uplot/dist/uPlot.min.css \
  node_modules/htmx.org/dist/htmx.min.js
EMPLOYER_VENDOR := services/intake/web/static/vendor
EMPLOYER_ASSETS := node_modules/htmx.org/dist/htmx.min.js
.PHONY: web-assets
web-assets: $(CONSOLE_VENDOR)/.vendored $(EMPLOYER_VENDOR)/.vendored
$(CONSOLE_VENDOR)/.vendored: node_modules/.installed
	@mkdir -p $(@D)
	cp $(CONSOLE_ASSETS) $(@D)/
	@touch $@
$(EMPLOYER_VENDOR)/.vendored: node_modules/.installed
	@mkdir -p $(@D)
	cp $(EMPLOYER_ASSETS) $(@D)/
	@touch $@

## Outside tools the tests run (buf, redocly, axe-core) and the console's browser assets (uplot,
## htmx), pinned in package.json / package-lock.json.
node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	@touch $@

.venv/.synced: pyproject.toml uv.lock
	@$(UV) --version >/dev/null 2>&1 || $(PYTHON) -m pip install --quiet "uv==$(UV_VERSION)"
	$(UV) sync --frozen
	@touch $@

protos: .venv/.synced
	$(UV) run --frozen python -m grpc_tools.protoc -I protos \
	  --python_out=. --grpc_python_out=. --mypy_out=. --mypy_grpc_out=. $(PROTOS)

## Bring the whole platform up on this machine (Kafka, PostgreSQL, simulator, four services).
run: setup
	$(UV) run --frozen python -m deploy.local.run

## Run every test: lint, types, unit, integration and end-to-end on real Kafka and PostgreSQL.
test: setup lint typecheck
	$(UV) run --frozen pytest -q --durations=25

## The fast lane: the tests that need neither Kafka, PostgreSQL nor a browser (about a minute).
unit: setup
	$(UV) run --frozen pytest -q -m "not integration and not e2e"

lint: .venv/.synced
	$(UV) run --frozen ruff check .
	$(UV) run --frozen ruff format --check .

typecheck: protos
	$(UV) run --frozen mypy services simulator deploy tests bench

## The AsyncAPI document, docs/asyncapi.yaml, generated from the services' FastStream routers
## (tests/contracts/test_asyncapi_document.py fails while it is stale).
asyncapi: .venv/.synced
	$(UV) run --frozen python -m deploy.asyncapi

## Benchmarks (print their figures); the intake benchmark drives load with wrk.
bench: setup
	@command -v wrk >/dev/null || (apt-get update -qq && apt-get install -y -qq wrk)
	$(UV) run --frozen python -m bench

clean:
	rm -rf qualverify .venv .pytest_cache .mypy_cache .ruff_cache node_modules $(CONSOLE_VENDOR) $(EMPLOYER_VENDOR)
