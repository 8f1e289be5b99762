#!/usr/bin/env bash
# Evaluates the embedded demo model on the held-out files and writes docs/MODEL_CARD.md.
#   npm run model:eval      (needs the corpus and the training output: npm run model:train)
set -euo pipefail
cd "$(dirname "$0")/.."
npx tsx pipeline/evaluate.ts models/embedded/moe-pilot-demo.gguf .cache/corpus .cache/train-edit models/embedded/eval.json
# The previous model's figures, when the evaluation of it was kept (models/embedded/eval-stage3.json), for the before/after table.
PREVIOUS=""
[ -f models/embedded/eval-stage3.json ] && PREVIOUS=models/embedded/eval-stage3.json
npx tsx pipeline/modelCard.ts models/embedded/eval.json .cache/train-edit/manifest.json .cache/corpus/summary.json docs/MODEL_CARD.md $PREVIOUS
