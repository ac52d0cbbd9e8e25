# Every target the README and CI use. A fresh machine needs only `make demo` and `make test`.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
CHROMIUM := /usr/bin/chromium
ASCIIDOCTOR := /usr/bin/asciidoctor
# apt-get needs root: use sudo when not root.
SUDO   := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: setup demo browser asciidoctor test test-fast lint clean report-bench

# llama-cpp-python is source-only on PyPI. It is built once (~20 min on 2 shared cores) into a
# wheel folder outside the repository and installed from there. The build is portable AVX2, not
# -march=native: on a CPU that advertises AMX/AVX-512 inside a VM the native build crashes in
# llama_decode (measured here: segmentation fault on the first prompt). pip's own wheel cache
# would ignore CMAKE_ARGS, hence --no-cache-dir and a wheel folder of our own.
LLAMA_VERSION := 0.3.36
WHEELS ?= $(HOME)/.cache/evaluator/wheels
LLAMA_STAMP := $(WHEELS)/.llama-cpp-python-$(LLAMA_VERSION)-avx2
LLAMA_CMAKE := $(if $(filter x86_64,$(shell uname -m)),-DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON -DGGML_BMI2=ON,)

$(LLAMA_STAMP):
	mkdir -p $(WHEELS)
	CMAKE_ARGS="$(LLAMA_CMAKE)" $(PYTHON) -m pip wheel --no-cache-dir --no-deps -w $(WHEELS) llama-cpp-python==$(LLAMA_VERSION)
	touch $@

$(STAMP): pyproject.toml $(LLAMA_STAMP)
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --upgrade pip
	$(BIN)/pip install --find-links $(WHEELS) -e '.[dev]'
	$(BIN)/python -c "import llama_cpp; assert b'AVX2 = 1' in llama_cpp.llama_print_system_info() or '$(LLAMA_CMAKE)' == ''"
	touch $(STAMP)

setup: $(STAMP)  ## create .venv and install evaluator with its test tools

demo: $(STAMP)  ## review a sample case from datasets/ with the embedded model
	$(BIN)/evaluator review \
	  --requirements datasets/loan-origination/docs/requirements.md \
	  --design datasets/loan-origination/pii-in-clear/tech-design.md \
	  --output tech-design-review.md

browser:  ## the system Chromium the report tests drive (Debian's package; installed only if missing)
	@test -x $(CHROMIUM) || { $(SUDO) apt-get update && $(SUDO) apt-get install -y --no-install-recommends chromium; }

asciidoctor:  ## the AsciiDoc converter .adoc designs need (Debian's package; installed only if missing)
	@test -x $(ASCIIDOCTOR) || { $(SUDO) apt-get update && $(SUDO) apt-get install -y --no-install-recommends asciidoctor; }

test: $(STAMP) browser asciidoctor  ## lint, type-check and run every test, the real-model ones included
	$(BIN)/ruff check evaluator tests
	$(BIN)/ruff format --check evaluator tests
	$(BIN)/mypy
	$(BIN)/pytest --durations=15

test-fast: $(STAMP) asciidoctor  ## unit tests only: no model, no Chromium (seconds)
	$(BIN)/pytest -m "not model and not browser"

report-bench: $(STAMP)  ## time and size of the report at 10,000 and 100,000 synthetic reviews (needs ~1 GB of /tmp)
	$(BIN)/python -m evaluator.synthetic

lint: $(STAMP)
	$(BIN)/ruff check --fix evaluator tests
	$(BIN)/ruff format evaluator tests

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache build dist
