"""Sound/picture sync over a 10-minute film (issue 10): how far the sound the device plays drifts
from the picture clock, with sound cards whose crystals run fast or slow and a feeder thread
that is woken late.

The film is made in code, fast: 16×16 MJPEG picture at 24 fps and a 48 kHz PCM soundtrack whose
every sample is known (tests.helpers.clips.audio_signal's chirp, restarted each second).  Time is
simulated, so ten minutes take seconds: a virtual clock drives both the picture clock (the
Player's media time at 1×) and a NullSink that consumes samples at the card's own rate
(1 + skew).  The feeder loop is the app's (AudioSync.plan → AudioSource.read → stretch → sink),
woken every 5–40 ms at random.  Drift = film time of the sample the device plays now (from the
samples it consumed) − picture time.  A check of the decoded samples against the known signal at
points across the film shows the decoder's sample positions do not slip either.

    .venv/bin/python benchmarks/bench_audio.py [--minutes 10]
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from colorizer_app.gui.audio import BLOCK  # noqa: E402
from colorizer_app.gui.audio_sink import NullSink  # noqa: E402
from colorizer_app.gui.audio_source import RATE, AudioSource  # noqa: E402
from colorizer_app.gui.audio_sync import AudioSync, stretch  # noqa: E402

FPS = 24


def tone(index: np.ndarray) -> np.ndarray:
    t = (index % RATE) / RATE            # a 1-s chirp, repeated: every second is alike but
    return 0.3 * np.sin(2 * np.pi * (300.0 * t + 400.0 * t * t))   # every sample within it is not


def make_film(path: Path, minutes: float) -> Path:
    seconds = int(minutes * 60)
    with av.open(str(path), "w") as c:
        v = c.add_stream("mjpeg", rate=FPS)
        v.width = v.height = 16
        v.pix_fmt = "yuvj420p"
        a = c.add_stream("pcm_s16le", rate=RATE)
        a.layout = "stereo"
        img = np.zeros((16, 16, 3), np.uint8)
        for sec in range(seconds):
            idx = np.arange(sec * RATE, (sec + 1) * RATE)
            wave = (tone(idx) * 32767).astype(np.int16)
            af = av.AudioFrame.from_ndarray(np.repeat(wave, 2)[None, :], format="s16", layout="stereo")
            af.sample_rate, af.pts, af.time_base = RATE, sec * RATE, Fraction(1, RATE)
            for p in a.encode(af):
                c.mux(p)
            for k in range(FPS):
                img[:] = (sec * FPS + k) % 256
                f = av.VideoFrame.from_ndarray(img, format="rgb24")
                f.pts = sec * FPS + k
                for p in v.encode(f):
                    c.mux(p)
        for s in (a, v):
            for p in s.encode(None):
                c.mux(p)
    return path


class VirtualClock:
    def __init__(self):
        self.t = 0.0

    def __call__(self) -> float:
        return self.t


def run(film: Path, minutes: float, skew: float, seed: int) -> dict:
    clock = VirtualClock()
    sink = NullSink(RATE, skew=skew, clock=clock)
    sync, source = AudioSync(RATE), AudioSource(str(film))
    rng = np.random.default_rng(seed)
    sink.start()
    drifts, end = [], minutes * 60.0
    while clock.t < end:
        while sink.room() >= BLOCK:                # the app's feeder loop, one wake-up
            start, count = sync.plan(clock.t, sink.queued(), BLOCK)
            sink.write(stretch(source.read(start, count), BLOCK), start, count)
        clock.t += rng.uniform(0.005, 0.040)       # woken late, sometimes much later
        heard = sink.heard_time()
        if heard is not None and clock.t > 1.0:
            drifts.append((clock.t, heard - clock.t))
    source.close()
    d = np.array([x for _, x in drifts])
    return {"skew_ppm": skew * 1e6, "max_ms": float(np.abs(d).max() * 1e3),
            "p99_ms": float(np.percentile(np.abs(d), 99) * 1e3), "final_ms": float(d[-1] * 1e3),
            "jumps": sync.jumps, "underruns": sink.underruns, "samples": len(d)}


def check_content(film: Path, minutes: float) -> float:
    """Largest error of decoded samples vs the known signal, at 20 points across the film."""
    src = AudioSource(str(film))
    worst = 0.0
    for start in np.linspace(0, minutes * 60 * RATE - 4800, 20).astype(int):
        got = src.read(int(start), 4800)[:, 0]
        worst = max(worst, float(np.abs(got - tone(np.arange(start, start + 4800))).max()))
    src.close()
    return worst


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--minutes", type=float, default=10.0)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        film = make_film(Path(tmp) / "ten_minutes.mkv", args.minutes)
        print(f"film: {args.minutes:g} min, 16x16 MJPEG + 48 kHz PCM, "
              f"{film.stat().st_size / 2**20:.0f} MiB, made in {time.perf_counter() - t0:.1f} s")
        print(f"decoded samples vs the known signal (20 points): max error "
              f"{check_content(film, args.minutes):.5f} (s16 quantisation: 0.00003)")
        print("skew ppm | max |drift| ms | p99 ms | final ms | jumps | underruns | wall s")
        for skew, seed in ((0.0, 1), (200e-6, 2), (-500e-6, 3), (2000e-6, 4)):
            t0 = time.perf_counter()
            r = run(film, args.minutes, skew, seed)
            print(f"{r['skew_ppm']:+8.0f} | {r['max_ms']:13.2f} | {r['p99_ms']:6.2f} | "
                  f"{r['final_ms']:+8.2f} | {r['jumps']:5d} | {r['underruns']:9d} | "
                  f"{time.perf_counter() - t0:6.1f}")


if __name__ == "__main__":
    main()
