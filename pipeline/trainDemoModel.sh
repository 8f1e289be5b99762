#!/usr/bin/env bash
# Retrains the embedded demo model from scratch and evaluates it: about 1 h 50 min on 2 CPU cores.
#   npm run model:train
# Same seed, same steps, same corpus versions: the same model (see docs/MODEL_CARD.md).
set -euo pipefail
cd "$(dirname "$0")/.."
PY=/usr/bin/python3   # Debian's Python, where python3-torch lives

# PyTorch from Debian, with OpenBLAS (Debian's reference BLAS trains about 20x slower).
if ! $PY -c "import torch, numpy, regex" 2>/dev/null || ! dpkg -s libopenblas0-pthread >/dev/null 2>&1; then
    if [ "$(id -u)" = 0 ]; then SUDO=""; else SUDO="sudo"; fi
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends python3-torch python3-numpy python3-regex libopenblas0-pthread >/dev/null
fi

npx tsx pipeline/corpus/collect.ts .cache/corpus
$PY pipeline/train/train.py --corpus .cache/corpus --out .cache/train
# Stage two: editor-shaped fill-in-the-middle, the chat format, 512-token sequences (about 20 minutes).
$PY pipeline/train/finetune_fim.py --base .cache/train --corpus .cache/corpus --out .cache/train-fim
mkdir -p models/embedded
npx tsx pipeline/exportModel.ts .cache/train-fim models/embedded/moe-pilot-demo.gguf q8_0
$PY pipeline/train/encode_heldout.py .cache/train-fim/tokenizer.json .cache/corpus/heldout.jsonl .cache/heldout-ids.json
npx tsx pipeline/checkTokenizer.ts .cache/train-fim/tokenizer.json .cache/heldout-ids.json
npx tsx pipeline/checkExport.ts .cache/train-fim models/embedded/moe-pilot-demo.gguf
bash pipeline/evaluateDemoModel.sh
