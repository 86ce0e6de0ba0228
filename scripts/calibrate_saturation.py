#!/usr/bin/env python3
"""Bake a chroma gain (saturation calibration) into a generator: ab_out = gain × ab_model.

    python scripts/calibrate_saturation.py IN.keras OUT.keras GAIN

A generator trained on few images is over-confident on new ones: a plausible but wrong hue costs
more than a muted one. The gain is chosen on the validation split (scripts/select_model.py and
the figures in the model card), never on the test split, and stored as a Rescaling layer so the
shipped file is self-contained.
"""
from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def main(argv: list[str]) -> int:
    if len(argv) != 4:
        print(__doc__.strip().splitlines()[2].strip())
        return 2
    import keras

    from colorizer_app.core.ml.model import load_generator, save_model

    base = load_generator(argv[1])
    gain = float(argv[3])
    out = keras.layers.Rescaling(gain, name="saturation")(base.output)
    save_model(keras.Model(base.input, out, name=base.name), argv[2])
    print(f"{argv[2]}: {argv[1]} with chroma gain {gain}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
