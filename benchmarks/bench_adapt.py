"""Learn the film: base model vs palette transfer vs adapted model on shots without keyframes.

Scenes:
  dialogue:<photo>  two framings of one photograph intercut as shot / reverse shot with pans and
                    zooms (tests/helpers/adapt_film.py), 6 shots; keyframes from the first two shots, PSNR
                    on the last four. Photos come from data/hint_photos/ (gitignored; gathered by
                    scripts/gather_photos.py), else a textured picture made in code.
  <clip>            a real colour clip of data/val_video/ (validation only, licences in
                    resources/data/val_video_sources.json; the base model never trained on them):
                    keyframes from the first 30 % of its frames, PSNR on frames of its second half.
For each scene: PSNR (RGB, the frame's own L) of the base model, of the palette transfer
(core.ml.palette_transfer) and of the adapted model over 1, 2, 4, 8 keyframes at --key-minutes each,
and over minutes of adaptation (snapshots of one --minutes run with the most keyframes; the 0 min
mark is the adapted model's start: the palette transfer inside the model, through the working size
and the guided upsampling every model's chroma goes through). By default a plain base model adapts
as palette transfer + learnt correction (core.ml.adapt_prior); --fine-tune measures the base model
fine-tuned as it is.

    .venv/bin/python benchmarks/bench_adapt.py --minutes 2 --key-minutes 1 --json out.json
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from colorizer_app.core import color, metrics  # noqa: E402
from colorizer_app.core.ml.adapt import AdaptConfig, adapt  # noqa: E402
from colorizer_app.core.ml.adapt_data import Keyframe  # noqa: E402
from colorizer_app.core.ml.inference import Colorizer  # noqa: E402
from colorizer_app.core.ml.model import DEFAULT_MODEL, load_generator  # noqa: E402
from colorizer_app.core.ml.palette_transfer import PaletteTransfer  # noqa: E402
from tests.helpers.adapt_film import dialogue_frames  # noqa: E402


def _rgb_photo(path: Path, longest: int = 960) -> np.ndarray:
    img = cv2.cvtColor(cv2.imread(str(path)), cv2.COLOR_BGR2RGB)
    s = longest / max(img.shape[:2])
    return cv2.resize(img, None, fx=s, fy=s, interpolation=cv2.INTER_AREA) if s < 1 else img


def dialogue_scene(photo: str | None):
    from tests.helpers.temporal_film import textured_rgb

    if photo:
        img = _rgb_photo(ROOT / "data" / "hint_photos" / photo)
    else:
        img = (textured_rgb(480, 640, 7) * 255 + 0.5).astype(np.uint8)
    frames, starts = dialogue_frames(img, size=(256, 144), shots=6, per_shot=8)
    keyed = list(range(starts[0], starts[2]))
    evals = list(range(starts[2], len(frames), 2))
    return frames, keyed, evals


def clip_scene(path: Path, max_frames: int = 160, longest: int = 320):
    import av

    frames = []
    with av.open(str(path)) as c:
        for f in c.decode(video=0):
            rgb = f.to_ndarray(format="rgb24")
            s = longest / max(rgb.shape[:2])
            frames.append(cv2.resize(rgb, None, fx=s, fy=s, interpolation=cv2.INTER_AREA) if s < 1 else rgb)
            if len(frames) >= max_frames:
                break
    n = len(frames)
    keyed = list(range(0, max(1, int(0.3 * n))))
    second = list(range(n // 2, n))
    evals = second[::max(1, len(second) // 12)][:12]
    return frames, keyed, evals


def pick(keyed: list[int], n: int) -> list[int]:
    return sorted({keyed[int(round(x))] for x in np.linspace(0, len(keyed) - 1, n)})


def keyframe(frames, k) -> Keyframe:
    lab = color.rgb_to_lab(frames[k])
    return Keyframe(k, lab[..., 0], np.ascontiguousarray(lab[..., 1:]))


def psnr_of(frames, evals, ab_of) -> float:
    out = []
    for k in evals:
        L = color.luminance(frames[k])
        rgb = color.to_uint8(color.recombine(L, ab_of(k, L)))
        out.append(metrics.psnr(rgb, frames[k]))
    return float(np.mean(out))


def model_psnr(model, frames, evals, size) -> float:
    col = Colorizer(model, size=size)

    def ab(k, L):
        work, box = col.predict_work([frames[k]])[0]
        return col.ab_full(frames[k], work.astype(np.float32), box)
    return psnr_of(frames, evals, ab)


def run_scene(name, frames, keyed, evals, base, args) -> dict:
    row = {"scene": name, "frames": len(frames), "size": list(frames[0].shape[1::-1]), "eval_frames": evals,
           "base": model_psnr(base, frames, evals, args.size), "keys": {}, "minutes": {}}
    print(f"\n{name}: {len(frames)} frames {frames[0].shape[1]}x{frames[0].shape[0]}, keyed part "
          f"{keyed[0]}-{keyed[-1]}, {len(evals)} eval frames; base {row['base']:.2f} dB", flush=True)
    for n in args.keys:
        keys = pick(keyed, n)
        kfs = [keyframe(frames, k) for k in keys]
        pt = PaletteTransfer.from_keyframes(kfs)
        pal = psnr_of(frames, evals, lambda k, L: pt.ab_for(L))
        t = time.monotonic()
        res = adapt(base, kfs, AdaptConfig(minutes=args.key_minutes, size=args.size, seed=0,
                                           palette_prior=not args.fine_tune))
        ad = model_psnr(res.model, frames, evals, args.size)
        row["keys"][n] = {"frames": keys, "palette": pal, "adapted": ad, "steps": res.steps,
                          "seconds": round(time.monotonic() - t, 1), "best_step": res.best_step, "stopped": res.stopped}
        print(f"  {n} keyframe(s) {keys}: palette {pal:.2f} dB, adapted {ad:.2f} dB "
              f"({res.steps} steps, best {res.best_step}, {res.stopped}, {res.seconds:.0f} s)", flush=True)
    if args.minutes:
        n = max(args.keys)
        kfs = [keyframe(frames, k) for k in pick(keyed, n)]
        marks = [m for m in (0, 0.25, 0.5, 1, 2, 4, 8, 10) if m < args.minutes] + [args.minutes]
        res = adapt(base, kfs, AdaptConfig(minutes=args.minutes, size=args.size, seed=0, patience=10 ** 6,
                                           palette_prior=not args.fine_tune),
                    snapshot_s=[m * 60 for m in marks])
        model = res.model
        for (_t, step, held, weights), m in zip(res.snapshots, marks):
            model.set_weights(weights)
            p = model_psnr(model, frames, evals, args.size)
            row["minutes"][m] = {"adapted": p, "best_step": step, "held_out_mse": held}
            print(f"  {n} keyframes, {m:g} min: adapted {p:.2f} dB (best step {step}, {res.steps} steps in all)",
                  flush=True)
    return row


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scenes", default="dialogue:Blinds.jpg,carphone_pristine.mp4,movie.avi",
                    help="comma list: dialogue[:photo] and/or clip file names of data/val_video/")
    ap.add_argument("--keys", default="1,2,4,8")
    ap.add_argument("--key-minutes", type=float, default=1.0, help="adaptation budget per keyframe count")
    ap.add_argument("--minutes", type=float, default=2.0, help="budget of the minutes curve (0: skip)")
    ap.add_argument("--size", type=int, default=256)
    ap.add_argument("--fine-tune", action="store_true",
                    help="fine-tune the base model as it is (default: palette transfer + learnt correction)")
    ap.add_argument("--json", help="write the figures here")
    args = ap.parse_args()
    args.keys = [int(x) for x in args.keys.split(",")]
    base = load_generator(DEFAULT_MODEL)
    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs; working size {args.size}"
          + ("; adapted = base model fine-tuned" if args.fine_tune else "; adapted = palette + learnt correction"))
    rows = []
    for spec in args.scenes.split(","):
        if spec.startswith("dialogue"):
            photo = spec.split(":", 1)[1] if ":" in spec else None
            if photo and not (ROOT / "data" / "hint_photos" / photo).exists():
                print(f"{photo}: not under data/hint_photos, using a picture made in code")
                photo = None
            rows.append(run_scene(spec, *dialogue_scene(photo), base, args))
        else:
            path = ROOT / "data" / "val_video" / spec
            if not path.exists():
                print(f"{path}: missing (scripts/gather_photos.py gathers the validation clips), skipped")
                continue
            rows.append(run_scene(spec, *clip_scene(path), base, args))
    print(f"load average at the end {os.getloadavg()[0]:.1f}")
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=1))


if __name__ == "__main__":
    main()
