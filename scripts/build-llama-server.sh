#!/usr/bin/env bash
# Build llama.cpp's llama-server from the llama.cpp sources vendored in the llama-cpp-python sdist.
# Usage: build-llama-server.sh DEST_DIR   (LLAMA_CPP_VERSION, PYTHON from the environment)
# Downloads nothing but that sdist from PyPI; the binary lands in DEST_DIR/llama-server.
# Flags: portable AVX2 (GGML_NATIVE=OFF), no web UI, no OpenSSL/curl (nothing fetched at run time),
# static so the binary does not need the build tree. Never set SOURCE_DATE_EPOCH here.
set -euo pipefail
dest=${1:?usage: build-llama-server.sh DEST_DIR}
version=${LLAMA_CPP_VERSION:-0.3.36}
python=${PYTHON:-python3}
work=$(mktemp -d "${TMPDIR:-/tmp}/llama-server-build.XXXXXX")
trap 'rm -rf "$work"' EXIT

"$python" -m pip download --quiet --no-deps --no-binary :all: --dest "$work" \
  "llama-cpp-python==$version"
tar -xzf "$work"/llama_cpp_python-"$version".tar.gz -C "$work"
src="$work/llama_cpp_python-$version/vendor/llama.cpp"
cmake -S "$src" -B "$work/build" -DCMAKE_BUILD_TYPE=Release \
  -DLLAMA_BUILD_SERVER=ON -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF \
  -DLLAMA_USE_PREBUILT_UI=OFF -DLLAMA_BUILD_UI=OFF -DLLAMA_OPENSSL=OFF -DLLAMA_CURL=OFF \
  -DGGML_NATIVE=OFF -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON -DBUILD_SHARED_LIBS=OFF
cmake --build "$work/build" --target llama-server -j"${JOBS:-2}"
mkdir -p "$dest"
# Copy then rename, so an interrupted build never leaves a half-written binary in the cache.
cp "$work/build/bin/llama-server" "$dest/llama-server.tmp"
mv "$dest/llama-server.tmp" "$dest/llama-server"
"$dest/llama-server" --version
