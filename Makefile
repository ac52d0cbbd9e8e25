# Every target the README and CI use. A fresh machine needs only `make demo` and `make test`.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
CHROMIUM := /usr/bin/chromium
ASCIIDOCTOR := /usr/bin/asciidoctor
# apt-get needs root: use sudo when not root.
SUDO   := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: setup demo browser asciidoctor llama-server test test-fast lint clean report-bench

# llama.cpp's own llama-server, built from the sources vendored in the llama-cpp-python sdist
# (the only download: that sdist, from PyPI), cached outside the repository so every checkout
# and every `make test` reuses it. The server tests find it through EVALUATOR_LLAMA_SERVER.
LLAMA_CPP_VERSION ?= 0.3.36
EVALUATOR_CACHE   ?= $(HOME)/.cache/evaluator
LLAMA_SERVER_DIR  := $(EVALUATOR_CACHE)/llama-server-$(LLAMA_CPP_VERSION)
LLAMA_SERVER      := $(LLAMA_SERVER_DIR)/llama-server
export EVALUATOR_LLAMA_SERVER := $(LLAMA_SERVER)

# llama-cpp-python is source-only on PyPI. It is built once (~20 min on 2 shared cores) into a
# wheel folder outside the repository and installed from there. The build is portable AVX2, not
# -march=native: on a CPU that advertises AMX/AVX-512 inside a VM the native build crashes in
# llama_decode (measured here: segmentation fault on the first prompt). pip's own wheel cache
# would ignore CMAKE_ARGS, hence --no-cache-dir and a wheel folder of our own.
WHEELS ?= $(EVALUATOR_CACHE)/wheels
LLAMA_STAMP := $(WHEELS)/.llama-cpp-python-$(LLAMA_CPP_VERSION)-avx2
LLAMA_CMAKE := $(if $(filter x86_64,$(shell uname -m)),-DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON -DGGML_BMI2=ON,)

$(LLAMA_STAMP):
	mkdir -p $(WHEELS)
	CMAKE_ARGS="$(LLAMA_CMAKE)" $(PYTHON) -m pip wheel --no-cache-dir --no-deps -w $(WHEELS) llama-cpp-python==$(LLAMA_CPP_VERSION)
	touch $@

$(STAMP): pyproject.toml $(LLAMA_STAMP)
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --upgrade pip
	$(BIN)/pip install --find-links $(WHEELS) -e '.[dev,ray]'
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

# Portable AVX2, no web UI, no OpenSSL or curl (nothing fetched at run time), static so the
# binary outlives the build tree.
LLAMA_SERVER_CMAKE := -DCMAKE_BUILD_TYPE=Release -DLLAMA_BUILD_SERVER=ON -DLLAMA_BUILD_TESTS=OFF \
  -DLLAMA_BUILD_EXAMPLES=OFF -DLLAMA_USE_PREBUILT_UI=OFF -DLLAMA_BUILD_UI=OFF -DLLAMA_OPENSSL=OFF \
  -DLLAMA_CURL=OFF -DGGML_NATIVE=OFF -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON -DBUILD_SHARED_LIBS=OFF
JOBS ?= 2

# Copied then renamed, so an interrupted build never leaves a half-written binary in the cache.
$(LLAMA_SERVER):
	set -eu; work=$$(mktemp -d); trap 'rm -rf "$$work"' EXIT; \
	$(PYTHON) -m pip download --quiet --no-deps --no-binary :all: --dest "$$work" \
	  llama-cpp-python==$(LLAMA_CPP_VERSION); \
	tar -xzf "$$work/llama_cpp_python-$(LLAMA_CPP_VERSION).tar.gz" -C "$$work"; \
	cmake -S "$$work/llama_cpp_python-$(LLAMA_CPP_VERSION)/vendor/llama.cpp" -B "$$work/build" $(LLAMA_SERVER_CMAKE); \
	cmake --build "$$work/build" --target llama-server -j$(JOBS); \
	mkdir -p "$(LLAMA_SERVER_DIR)"; \
	cp "$$work/build/bin/llama-server" "$(LLAMA_SERVER).tmp"; \
	mv "$(LLAMA_SERVER).tmp" "$(LLAMA_SERVER)"; \
	"$(LLAMA_SERVER)" --version

llama-server: $(LLAMA_SERVER)  ## build llama.cpp's llama-server from the llama-cpp-python sdist (~10 min, cached)

test: $(STAMP) browser asciidoctor $(LLAMA_SERVER)  ## lint, type-check and run every test, the real-model ones included
	$(BIN)/ruff check evaluator tests
	$(BIN)/ruff format --check evaluator tests
	$(BIN)/mypy
	$(BIN)/pytest --durations=15

test-fast: $(STAMP) asciidoctor  ## unit tests only: no model, no Chromium, no llama-server (seconds)
	$(BIN)/pytest -m "not model and not browser and not server"

report-bench: $(STAMP)  ## time and size of the report at 10,000 and 100,000 synthetic reviews (needs ~1 GB of /tmp)
	$(BIN)/python -m evaluator.reports.synthetic

lint: $(STAMP)
	$(BIN)/ruff check --fix evaluator tests
	$(BIN)/ruff format evaluator tests

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache build dist
