# interest-drift — every build, test and run step goes through here. `make help` lists targets.
SHELL := /bin/bash
.SHELLFLAGS := -euo pipefail -c
.DEFAULT_GOAL := help

export ONNXRUNTIME_NODE_INSTALL := skip
export KAFKAJS_NO_PARTITIONER_WARNING := 1
NPM_STAMP := node_modules/.install-stamp
PY := .cache/venv/bin/python
PLOT_PY := .cache/venv-plots/bin/python
SPLIT := onnx/artifacts/split.json
EVAL_OUT ?= onnx/artifacts/eval
STACK := test/harness/stack.sh
WITH_STACK := test/harness/with-stack.sh
DATA_DIR ?= ../shared/data

.PHONY: help install build schemas lint typecheck test test-unit test-integration stack-fetch stack-up stack-down \
        stack-status demo run eval calibrate sim-stats bench-encoder model model-eval py-env clean

help: ## list targets
	@grep -E '^[a-zA-Z_-]+:.*?## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*?## "}; {printf "  \033[36m%-18s\033[0m %s\n", $$1, $$2}'

$(NPM_STAMP): package.json package-lock.json
	npm ci --no-audit --no-fund
	@touch $@

install: $(NPM_STAMP) ## npm ci (skips onnxruntime-node's CUDA download; see .npmrc)

build: $(NPM_STAMP) ## compile TypeScript to dist/
	npx tsc -p tsconfig.build.json

schemas: $(NPM_STAMP) ## regenerate src/kafka/avro-types.gen.ts from schemas/*.avsc
	npx tsx src/tools/gen-schema-types.ts

typecheck: $(NPM_STAMP) ## tsc --noEmit over src and test
	npx tsc -p tsconfig.json --noEmit

lint: $(NPM_STAMP) ## eslint + prettier + typecheck + generated types current
	npx tsx src/tools/gen-schema-types.ts --check
	npx tsc -p tsconfig.json --noEmit
	npx eslint .
	npx prettier --check .

test-unit: $(NPM_STAMP) ## unit + brokerless pipeline tests (no broker)
	npx jest --selectProjects unit

test-integration: $(NPM_STAMP) ## integration tests on the real local broker + registry
	$(WITH_STACK) npx jest --selectProjects integration --runInBand

test: lint ## lint, then unit and integration tests; starts/stops the local stack as needed
	@start=$$(date +%s); \
	$(WITH_STACK) npx jest --runInBand; \
	echo "[make test] wall time $$(( $$(date +%s) - start )) s (after lint)"

stack-fetch: ## fetch Kafka + Apicurio jars from Maven Central into .cache
	$(STACK) fetch

stack-up: ## start the local broker + registry (idempotent)
	$(STACK) up

stack-down: ## stop the local broker + registry
	$(STACK) down

stack-status: ## show the local stack
	$(STACK) status

demo: $(NPM_STAMP) ## the main job on the embedded local stack: replay, process, summarise
	$(WITH_STACK) npx tsx src/main.ts demo --data $(DATA_DIR)/taobao-userbehavior-users.csv.gz

run: $(NPM_STAMP) ## the processor against IDRIFT_KAFKA_BROKERS / IDRIFT_SCHEMA_REGISTRY_URL
	npx tsx src/main.ts run

# The real data's train/valid/test users (numpy's shuffle, so Python writes it; git-ignored).
$(SPLIT): | $(PLOT_PY)
	$(PLOT_PY) onnx/dump_split.py --data $(DATA_DIR)/taobao-userbehavior-users.csv.gz

$(PLOT_PY): src/eval/requirements-plots.txt
	python3 -m venv .cache/venv-plots
	$(PLOT_PY) -m pip install -q -r src/eval/requirements-plots.txt
	@touch $@

# Real data when ../shared/data is there (test-split users), the seeded simulation always.
EVAL_DATA := $(wildcard $(DATA_DIR)/taobao-userbehavior-users.csv.gz)
eval: $(NPM_STAMP) $(PLOT_PY) $(if $(EVAL_DATA),$(SPLIT)) ## offline evaluation report (markdown, JSON, PNG) → $(EVAL_OUT)
	npx tsx src/main.ts eval $(if $(EVAL_DATA),--data $(EVAL_DATA) --users test --split $(SPLIT)) --simulate --out $(EVAL_OUT)
	$(PLOT_PY) src/eval/plot_report.py $(EVAL_OUT)

calibrate: $(NPM_STAMP) $(SPLIT) ## calibrate drift thresholds on the train users and store them in the model metadata
	npx tsx src/tools/calibrate.ts --data $(DATA_DIR)/taobao-userbehavior-users.csv.gz --write

sim-stats: $(NPM_STAMP) ## re-derive the simulator's statistics from the real Taobao sample
	npx tsx src/tools/fit-simulator.ts $(DATA_DIR)/taobao-userbehavior-users.csv.gz
	npx prettier --write src/sim/taobao-stats.json

bench-encoder: $(NPM_STAMP) ## encoder benchmark → test/bench/results/encoder-<provider>.{json,md}
	npx tsx test/bench/encoder.bench.ts --provider $${PROVIDER:-cpu}

model: $(PY) ## retrain + export + validate the encoder (fixed seeds), re-calibrate; CI never trains
	$(PY) onnx/train.py --data $(DATA_DIR)/taobao-userbehavior-users.csv.gz --out .cache/model
	$(PY) onnx/export.py --data $(DATA_DIR)/taobao-userbehavior-users.csv.gz --checkpoint .cache/model/encoder.pt --out onnx/artifacts
	$(PY) onnx/dump_split.py --data $(DATA_DIR)/taobao-userbehavior-users.csv.gz
	$(MAKE) calibrate
	$(PY) onnx/make_tiny.py

model-eval: $(PY) ## next-category and inactivity metrics of the encoder vs baselines on the test users
	$(PY) onnx/model_eval.py --data $(DATA_DIR)/taobao-userbehavior-users.csv.gz

py-env: $(PY) ## Python venv for training/export (not needed by CI)

$(PY): onnx/requirements.txt
	python3 -m venv .cache/venv
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -r onnx/requirements.txt
	@touch $@

clean: ## remove build outputs (keeps the .cache downloads)
	rm -rf dist coverage
