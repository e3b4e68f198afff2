#!/usr/bin/env bash
# Installs llama-cpp-python[server] into .venv for the remote-engine tests and benchmark:
# from the wheel cached in ~/.cache/deskhand/wheels when there is one, else builds that wheel
# first (it compiles llama.cpp: about 10 minutes on 2 cores). Quick when already installed.
set -u
VERSION=0.3.36
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
PY="$ROOT/.venv/bin/python"
WHEELS="${DESKHAND_WHEELS:-$HOME/.cache/deskhand/wheels}"

if [ ! -x "$PY" ]; then
  echo "ensure-llama-server: no $PY (run make setup first)" >&2
  exit 1
fi
installed="$("$PY" -c 'import importlib.metadata as m; print(m.version("llama_cpp_python"))' 2>/dev/null)"
if [ "$installed" = "$VERSION" ] && "$PY" -c 'import uvicorn, fastapi, sse_starlette, starlette_context' 2>/dev/null; then
  echo "ensure-llama-server: llama-cpp-python[server] $VERSION already installed"
  exit 0
fi
mkdir -p "$WHEELS"
wheel="$(ls "$WHEELS"/llama_cpp_python-"$VERSION"-*.whl 2>/dev/null | head -n 1)"
if [ -z "$wheel" ]; then
  echo "ensure-llama-server: building the llama-cpp-python $VERSION wheel into $WHEELS (about 10 min on 2 cores)"
  CMAKE_BUILD_PARALLEL_LEVEL="${CMAKE_BUILD_PARALLEL_LEVEL:-2}" \
    "$PY" -m pip wheel -q --no-deps -w "$WHEELS" "llama-cpp-python==$VERSION" || {
      echo "ensure-llama-server: the build failed" >&2
      exit 1
    }
  wheel="$(ls "$WHEELS"/llama_cpp_python-"$VERSION"-*.whl | head -n 1)"
else
  echo "ensure-llama-server: using the cached wheel $wheel"
fi
# The wheel itself, then its [server] extra (uvicorn, fastapi, sse-starlette...) from PyPI.
"$PY" -m pip install -q "$wheel" && "$PY" -m pip install -q "llama-cpp-python[server]==$VERSION" \
  --find-links "$WHEELS" || {
    echo "ensure-llama-server: installing failed" >&2
    exit 1
  }
echo "ensure-llama-server: installed llama-cpp-python[server] $VERSION from $wheel"
