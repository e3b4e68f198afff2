#!/usr/bin/env bash
# Builds llama.cpp's native `llama-server` (the remote-engine tests' OpenAI-compatible server
# and the bench's peer) and links it as .venv/bin/llama-server. Quick when already built.
#
# The sources are llama.cpp as vendored in the pinned llama-cpp-python sdist (from PyPI, the
# only download). The build is portable, never -march=native: GGML_NATIVE=OFF with the
# instruction sets named below, so a binary built on one CPU runs on any CPU of its class.
#   avx2    x86-64 with AVX2, FMA, F16C and BMI2 (every x86-64 CPU we support)
#   avx512  the same plus AVX-512F/CD/BW/DQ/VL, VNNI and BF16 (Intel Cooper Lake and later, AMD
#           Zen 4 and later); AMX stays off: llama.cpp's AMX path crashed on Sapphire Rapids.
# The variant is chosen from /proc/cpuinfo (LLAMA_SERVER_VARIANT=avx2|avx512 overrides it), and
# each build is cached under ~/.cache/deskhand/llama-server/<version>-<variant>-<flags hash>,
# so a build for other flags (or an old native one) is never reused. About 10 min on 2 cores.
set -u
VERSION=0.3.36
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
PY="$ROOT/.venv/bin/python"
CACHE="${DESKHAND_CACHE:-$HOME/.cache/deskhand}/llama-server"
LINK="$ROOT/.venv/bin/llama-server"
say() { echo "ensure-llama-server: $*"; }

[ -x "$PY" ] || { say "no $PY (run make setup first)" >&2; exit 1; }

cpu_flags=" $(grep -m1 '^flags' /proc/cpuinfo 2>/dev/null | cut -d: -f2) "
has() { for f in "$@"; do [[ "$cpu_flags" == *" $f "* ]] || return 1; done; }
variant="${LLAMA_SERVER_VARIANT:-}"
if [ -z "$variant" ]; then
  if has avx512f avx512cd avx512bw avx512dq avx512vl avx512_vnni avx512_bf16; then
    variant=avx512
  elif has avx2 fma f16c bmi2; then
    variant=avx2
  else
    say "this CPU lacks AVX2/FMA/F16C/BMI2; llama-server is not built" >&2
    exit 1
  fi
fi
AVX2="-DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON -DGGML_BMI2=ON"
case "$variant" in
  avx2) isa="$AVX2 -DGGML_AVX512=OFF" ;;
  avx512) isa="$AVX2 -DGGML_AVX512=ON -DGGML_AVX512_VNNI=ON -DGGML_AVX512_BF16=ON" ;;
  *) say "unknown LLAMA_SERVER_VARIANT=$variant (avx2 or avx512)" >&2; exit 1 ;;
esac
flags="-DGGML_NATIVE=OFF $isa -DGGML_AMX_TILE=OFF -DGGML_AMX_INT8=OFF -DGGML_AMX_BF16=OFF \
-DGGML_OPENMP=ON -DBUILD_SHARED_LIBS=OFF -DLLAMA_OPENSSL=OFF -DLLAMA_BUILD_UI=OFF \
-DLLAMA_USE_PREBUILT_UI=OFF -DLLAMA_BUILD_SERVER=ON -DLLAMA_BUILD_TOOLS=ON \
-DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF -DCMAKE_BUILD_TYPE=Release"
key="$VERSION-$variant-$(echo "$flags" | sha1sum | cut -c1-8)"
binary="$CACHE/$key/llama-server"

runs() { "$1" --version >/dev/null 2>&1; }

if [ ! -x "$binary" ]; then
  for tool in cmake g++ make; do
    command -v "$tool" >/dev/null 2>&1 && continue
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
      say "installing the compilers (cmake, g++)"
      (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
        --no-install-recommends cmake g++ make) >/dev/null 2>&1
    fi
    command -v "$tool" >/dev/null 2>&1 || { say "needs $tool to build llama-server" >&2; exit 1; }
  done
  work="$(mktemp -d)"
  trap 'rm -rf "$work"' EXIT
  say "building llama-server ($key) from llama-cpp-python $VERSION's llama.cpp (about 10 min on 2 cores)"
  "$PY" -m pip download -q --no-deps --no-binary :all: -d "$work" "llama-cpp-python==$VERSION" \
    || { say "downloading the llama-cpp-python $VERSION sdist failed" >&2; exit 1; }
  tar -xzf "$work"/llama_cpp_python-"$VERSION".tar.gz -C "$work"
  src="$work/llama_cpp_python-$VERSION/vendor/llama.cpp"
  generator=()
  command -v ninja >/dev/null 2>&1 && generator=(-G Ninja)
  # shellcheck disable=SC2086 # $flags is a list of -D options
  cmake -S "$src" -B "$work/build" "${generator[@]}" $flags >"$work/configure.log" 2>&1 \
    && cmake --build "$work/build" --target llama-server -j "$(nproc)" >"$work/build.log" 2>&1 \
    || { say "the build failed:" >&2; tail -n 30 "$work"/*.log >&2; exit 1; }
  mkdir -p "$CACHE/$key"
  cp "$work/build/bin/llama-server" "$binary.tmp" && mv "$binary.tmp" "$binary"
  echo "$flags" >"$CACHE/$key/flags"
fi
if ! runs "$binary"; then
  rm -f "$LINK"
  say "$binary does not run on this CPU ($variant build):" >&2
  "$binary" --version 2>&1 | tail -n 3 >&2
  exit 1
fi
ln -sfn "$binary" "$LINK"
say "llama-server $key at $LINK"
