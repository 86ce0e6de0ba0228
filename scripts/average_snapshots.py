#!/usr/bin/env python3
"""Stochastic weight averaging of generator snapshots (Izmailov et al. 2018) into one model.

    python scripts/average_snapshots.py OUT.keras SNAPSHOT.keras...

Averaging the weights of snapshots along one training run lands in a flatter region of the loss
than any single snapshot; with few training images it generalises better at no inference cost.
Batch-norm moving statistics are averaged like the weights.
"""
from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def main(argv: list[str]) -> int:
    if len(argv) < 3:
        print(__doc__.strip().splitlines()[2].strip())
        return 2
    from colorizer_app.core.ml.model import load_generator, save_model

    models = [load_generator(p) for p in argv[2:]]
    weights = [m.get_weights() for m in models]
    avg = [sum(ws) / len(ws) for ws in zip(*weights)]
    models[0].set_weights(avg)
    save_model(models[0], argv[1])
    print(f"{argv[1]}: average of {len(models)} snapshots")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
