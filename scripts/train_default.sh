#!/usr/bin/env bash
# The default model's recipe, end to end: gather the photographs, build the set, MSE warm-up, GAN.
# On a GPU machine set KERAS_BACKEND=jax (Keras 3 runs the same model); on a CPU it runs for hours.
#   usage: scripts/train_default.sh [OUTDIR]   (default: runs/default)
# Phases are time-boxed (MSE_SECONDS, GAN_SECONDS) and resume from their checkpoints when re-run.
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${1:-runs/default}
PY=${PYTHON:-python3}
SIZE=${SIZE:-256}; BATCH=${BATCH:-32}; WIDTH=${WIDTH:-0.4}; WORKERS=${WORKERS:-12}
MSE_SECONDS=${MSE_SECONDS:-180}; GAN_SECONDS=${GAN_SECONDS:-330}
mkdir -p "$OUT"
if [ ! -d data/set/train ]; then
  [ -d data/photos ] || $PY scripts/gather_photos.py data/photos
  $PY -m colorizer_app.cli dataset build data/photos --out data/set --size 1024
fi
$PY -m colorizer_app.cli train --data data/set --mode mse --size "$SIZE" --batch-size "$BATCH" --width "$WIDTH" \
  --workers "$WORKERS" --steps 1000000 --steps-per-epoch 500 --time-budget "$MSE_SECONDS" --out "$OUT/mse.keras"
$PY -m colorizer_app.cli train --data data/set --mode gan --init "$OUT/mse.keras" --size "$SIZE" --batch-size "$BATCH" \
  --workers "$WORKERS" --steps 1000000 --steps-per-epoch 500 --time-budget "$GAN_SECONDS" --out "$OUT/gan.keras"
