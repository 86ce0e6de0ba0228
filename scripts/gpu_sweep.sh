#!/usr/bin/env bash
# How the shipped model was made on a lent GPU machine (Keras 3 on JAX): MSE warm-up, then the GAN
# recipe from it, keeping snapshots; every snapshot ranked on the validation split (never test).
#   usage: KERAS_BACKEND=jax scripts/gpu_sweep.sh OUTDIR   (expects data/set from scripts/train_default.sh)
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=$1; PY=${PYTHON:-python3}
SIZE=${SIZE:-256}; BATCH=${BATCH:-32}; WIDTH=${WIDTH:-0.4}; WORKERS=${WORKERS:-14}
common=(--data data/set --size "$SIZE" --batch-size "$BATCH" --workers "$WORKERS" --steps 1000000 --steps-per-epoch 500)
$PY -m colorizer_app.cli train "${common[@]}" --mode mse --width "$WIDTH" --time-budget "${MSE_SECONDS:-140}" \
  --snapshot-every 300 --out "$OUT/mse.keras"
$PY -m colorizer_app.cli train "${common[@]}" --mode gan --init "$OUT/mse.keras" --lr "${GAN_LR:-1e-4}" \
  --time-budget "${GAN_SECONDS:-230}" --snapshot-every 400 --out "$OUT/gan.keras"
$PY scripts/select_model.py data/set "$OUT"/mse.run/snapshots/*.keras --min-colour 0 | tee "$OUT/select_mse.txt"
$PY scripts/select_model.py data/set "$OUT"/gan.run/snapshots/*.keras --min-colour 0.5 | tee "$OUT/select_gan.txt"
