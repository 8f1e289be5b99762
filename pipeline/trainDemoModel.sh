#!/usr/bin/env bash
# Retrains the embedded demo model from scratch and evaluates it: about 2 h 40 min on 2 CPU cores.
#   npm run model:train
#   npm run model:train -- --stage3    stages three and four (about 60 min), from stage two's model file
#                                      in git history, read back exactly (pipeline/train/from_gguf.py)
#   npm run model:train -- --stage4    only stage four (about 20 min), from stage three's model file
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
mkdir -p models/embedded
if [ "${1:-}" = "--stage4" ]; then
    # Stage three's model file as git history holds it; its log is models/embedded/stage3.log.
    git show 666b1ba:models/embedded/moe-pilot-demo.gguf > .cache/stage3.gguf
    echo "7d90d452b75b277a9494a845e164dd77806081272eb79d23944c09654d37b763  .cache/stage3.gguf" | sha256sum --quiet -c -
    $PY pipeline/train/from_gguf.py --stage3 .cache/stage3.gguf .cache/train-ctx
elif [ "${1:-}" = "--stage3" ]; then
    # Stage two's model file as git history holds it (the last commit whose demo model is stage two's),
    # read back exactly; its stages' logs are models/embedded/training.log and finetune.log.
    git show a6f5d3b:models/embedded/moe-pilot-demo.gguf > .cache/stage2.gguf
    echo "38693359a8845641a7b820147072474f0d4a3d0c2c7943d5984059939f5bdb1d  .cache/stage2.gguf" | sha256sum --quiet -c -
    $PY pipeline/train/from_gguf.py .cache/stage2.gguf .cache/train-fim
else
    $PY pipeline/train/train.py --corpus .cache/corpus --out .cache/train 2>&1 | tee models/embedded/training.log
    # Stage two: editor-shaped fill-in-the-middle, the chat format, 512-token sequences (about 20 minutes).
    $PY pipeline/train/finetune_fim.py --base .cache/train --corpus .cache/corpus --out .cache/train-fim 2>&1 | tee models/embedded/finetune.log
fi
if [ "${1:-}" != "--stage4" ]; then
    # Stage three: repository context, chat that ends (600 steps, about 35 minutes).
    $PY pipeline/train/finetune_context.py --base .cache/train-fim --corpus .cache/corpus --out .cache/train-ctx 2>&1 | tee models/embedded/stage3.log
fi
# Stage four: next edits in the project's format (400 steps, about 20 minutes).
$PY pipeline/train/finetune_next_edit.py --base .cache/train-ctx --corpus .cache/corpus --out .cache/train-edit 2>&1 | tee models/embedded/stage4.log
npx tsx pipeline/exportModel.ts .cache/train-edit models/embedded/moe-pilot-demo.gguf q8_0
$PY pipeline/train/encode_heldout.py .cache/train-edit/tokenizer.json .cache/corpus/heldout.jsonl .cache/heldout-ids.json
npx tsx pipeline/checkTokenizer.ts .cache/train-edit/tokenizer.json .cache/heldout-ids.json
npx tsx pipeline/checkExport.ts .cache/train-edit models/embedded/moe-pilot-demo.gguf
bash pipeline/evaluateDemoModel.sh
