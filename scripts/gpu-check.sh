#!/usr/bin/env bash
# The GPU checks, in one run on a CUDA machine: the engine's GPU tests, then the engine
# benchmark with bf16 on CUDA (a ~1B Llama with random weights, since no weights travel)
# at concurrency 1, 16 and 64, against plain generate and transformers' continuous batching.
# Wheels (.whl/) and the tokenizer (.gpu/tokenizer) are carried by the caller.
set -uo pipefail
OUT=${OUT:-/tmp/gpu-out}; mkdir -p "$OUT"
if ls .whl/*.whl >/dev/null 2>&1; then
  python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl || exit 1
  export PYTHONPATH=/tmp/site:$PWD
else
  export PYTHONPATH=$PWD
fi
export PYTHONUNBUFFERED=1 TOKENIZERS_PARALLELISM=false
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader
python3 -c "import torch, transformers; print('torch', torch.__version__, 'transformers', transformers.__version__)"
python3 -m pytest tests/engine/test_gpu.py -q --noconftest -p no:cacheprovider 2>&1 | tail -4 | tee "$OUT/gpu-tests.txt"
for size in ${SIZES:-1b}; do
  MODEL=.gpu/tokenizer DEVICE=cuda timeout ${BENCH_TIMEOUT:-300} python3 -m deskhand.cli bench engine --random-model "$size" \
    --tokenizer .gpu/tokenizer --concurrency 1,16,64 --compare-eager ${PEERS:---peer hf-cb} --json 2>"$OUT/bench-$size.err" \
    | tee "$OUT/bench-$size.json"
  tail -3 "$OUT/bench-$size.err"
done
