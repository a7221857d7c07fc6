# make demo: the model, a prediction, and the function image answering one.
# make test: the whole test suite (REQUIRE_DOCKER=1 REQUIRE_DATA=1 turn skips into failures; REQUIRE_OPENFAAS=1 too where OPENFAAS_BIN holds the OpenFaaS binaries).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test lint model image-fn image-lambda image-server image-tf report bench rollout soak chaos fuzz contract simulate clean

$(STAMP): pyproject.toml requirements/lock.txt
	@$(PYTHON) -c 'import sys; sys.exit("Python 3.11 is needed (tflite-runtime 2.14 has no wheel for %d.%d): make ... PYTHON=python3.11" % sys.version_info[:2]) if sys.version_info[:2] != (3, 11) else None'
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --disable-pip-version-check -c requirements/lock.txt -e '.[train,dev]'
	touch $@

model: $(STAMP)
	scripts/convert.sh

demo: $(STAMP)
	scripts/convert.sh
	$(BIN)/python -m scripts.demo

test: $(STAMP)
	$(BIN)/python -m pytest -q

# ruff, import-linter's contracts, every generated document current (scripts/render.py), then the
# duplicates finder where it is installed (it is a tool of this workplace, not a package): any pair
# it reports fails the target.
lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/lint-imports
	$(BIN)/python -m scripts.render --check
	@if command -v duplicates >/dev/null; then \
	  out=$$(duplicates); echo "$$out"; case "$$out" in "no duplicates"*) ;; *) exit 1 ;; esac; \
	else echo "duplicates: not installed here; skipped"; fi

image-fn: $(STAMP)
	scripts/build_image.sh fn

# The function image (image-fn's) under a second tag: it serves AWS Lambda's Runtime API when
# AWS_LAMBDA_RUNTIME_API is set (docs/deploy.md "AWS Lambda").
image-lambda: $(STAMP)
	scripts/build_image.sh lambda

image-server: $(STAMP)
	scripts/build_image.sh server

image-tf: $(STAMP)
	scripts/build_image.sh tf

# The fleet simulation from docs/bench/ (make bench, make report), checked against the function
# container, written up as docs/scaling.md.
simulate: image-fn
	$(BIN)/python -m scripts.simulate
	$(BIN)/python -m scripts.simulate --render

# schemathesis over every documented operation of the function and server images, many examples.
contract: image-fn image-server
	$(BIN)/python -m scripts.contract

# Benchmarks (never part of make test): each writes JSON under docs/bench/ (bench_replica runs all
# three images); then the documents are rendered from it.
bench: $(STAMP) image-fn image-server image-tf
	$(BIN)/python -m scripts.bench_concurrency
	$(BIN)/python -m scripts.bench_request
	$(BIN)/python -m scripts.bench_observability
	$(BIN)/python -m scripts.bench_observability --containers
	$(BIN)/python -m scripts.bench_protocols
	$(BIN)/python -m scripts.bench_person
	$(BIN)/python -m scripts.bench_ratios --instructions
	$(BIN)/python -m scripts.bench_replica
	$(BIN)/python -m scripts.render

# On a real OpenFaaS stack (../shared/openfaas; OPENFAAS_BIN names its programs, and wrk runs as
# root): the update and the rollback under load (rollout.json; the command starts and stops its own
# stack), then on one stack with the function deployed the replica at rest and the gateway's cost
# per request (gateway.json) and the cold starts through the gateway (coldstart-openfaas.json);
# then docs/deploy.md's section is rendered from the three.
rollout: $(STAMP) image-fn
	$(BIN)/python -m scripts.rollout
	$(BIN)/python -m scripts.on_stack -- sh -c '$(BIN)/python -m scripts.gateway --json docs/bench/gateway.json && \
	  $(BIN)/python scripts/coldstart.py --mode openfaas --json docs/bench/coldstart-openfaas.json'
	$(BIN)/python -m scripts.render

# make soak SOAK_SECONDS=600 SOAK_CONNECTIONS=64: a rare fault needs minutes to show.
SOAK_SECONDS ?= 60
SOAK_CONNECTIONS ?= 64
soak: $(STAMP) image-fn image-server
	$(BIN)/python -m scripts.soak --seconds $(SOAK_SECONDS) --connections $(SOAK_CONNECTIONS)

# Workers killed and stopped at random under load: failed requests per fault.
CHAOS_MINUTES ?= 3
chaos: $(STAMP) image-server
	$(BIN)/python -m scripts.chaos --minutes $(CHAOS_MINUTES)

fuzz: $(STAMP)
	rm -f docs/bench/fuzz.json
	FUZZ_CASES=10000 FUZZ_REPORT=docs/bench/fuzz.json $(BIN)/python -m pytest -q tests/test_robustness.py -k fuzz

# Builds the three images and measures them side by side; then the charts, and docs/results.md,
# the README's headline table (with the bench, soak and fuzz results found) and every other
# generated document from the new figures.
report: $(STAMP) image-fn image-server image-tf
	$(BIN)/python -m scripts.report
	$(BIN)/python -m scripts.charts
	$(BIN)/python -m scripts.render

clean:
	rm -rf build wheelhouse/*.whl .pytest_cache
