"""The reliability trial of issue 16, kept in the suite: a corpus of bad (and merely unusual)
inputs made in code, run against `colorizer colorize` and `colorizer render`.

Every case must give the right exit status (0 done, 1 done with lost frames reported, 2 refused),
a refusal must be exactly one line on stderr, nothing may print a traceback, no input may change
(hashed before and after), and nothing half-written may appear under the output's name or stay
behind as a temp file. The cases run in this process through colorizer_app.cli.main (the model
loads once per run, as in real use); test_trial_processes.py adds real processes (exit codes,
a full disk, kill -9, two runs on one output). Plumbing only: a tiny untrained generator.
"""
from __future__ import annotations

import errno
import hashlib
import os
from dataclasses import dataclass, field
from pathlib import Path

import av
import numpy as np
import pytest

from colorizer_app.cli import main
from colorizer_app.core.media import open_media
from colorizer_app.core.ml.model import build_generator, save_model
from colorizer_app.core.project.project import Project
from tests.helpers import clips

SIZE = (64, 48)


@dataclass
class Case:
    argv: list
    rc: int
    out: Path | None = None           # the output name (checked: never half-written)
    inputs: list = field(default_factory=list)   # paths that must not change
    frames: int | None = None         # frames the output must hold when rc is 0 or 1
    says: str | None = None           # a word the refusal line must contain
    inject: str | None = None         # "enospc": the final rename fails as on a full disk


# ----------------------------------------------------------------------------- the corpus
def _tree_digest(paths) -> dict:
    out = {}
    for p in paths:
        p = Path(p)
        if "%" in p.name:       # an image-sequence pattern: its folder
            p = p.parent
        if p.is_dir():
            for f in sorted(p.rglob("*")):
                if f.is_file():
                    out[str(f)] = hashlib.sha256(f.read_bytes()).hexdigest()
        elif p.exists():
            out[str(p)] = hashlib.sha256(p.read_bytes()).hexdigest()
    return out


def _audio_only(path: Path) -> Path:
    c = av.open(str(path), "w")
    s = c.add_stream("aac", rate=48000)
    s.layout = "stereo"
    clips._mux_audio(c, s, 0.5)
    c.close()
    return path


def _noise_film(path: Path, size, n=3) -> Path:
    rng = np.random.default_rng(size[0] * 31 + size[1])
    frames = [rng.integers(0, 256, (size[1], size[0], 3), dtype=np.uint8) for _ in range(n)]
    return clips.write_frames(path, frames, codec="ffv1")


def _damage_middle(path: Path) -> Path:
    data = bytearray(path.read_bytes())
    rng = np.random.default_rng(16)
    n = len(data)
    for k in rng.integers(int(n * 0.45), int(n * 0.55), size=n // 20):
        data[k] = int(rng.integers(0, 256))
    path.write_bytes(bytes(data))
    return path


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    d = tmp_path_factory.mktemp("trial")
    i = d / "in"
    i.mkdir()
    f = {}
    f["good"] = clips.make_clip(i / "good.mp4", n_frames=6, size=SIZE, audio=True)
    f["zero"] = clips.make_empty_file(i / "zero.mp4")
    f["text"] = clips.make_text_file(i / "text.mkv")
    for ext in ("mp4", "avi", "mkv"):
        codec = "mjpeg" if ext == "avi" else "h264"
        for keep in (10, 50, 90):
            f[f"cut{keep}.{ext}"] = clips.make_truncated_clip(
                i / f"cut{keep}.{ext}", n_frames=20, size=SIZE, keep=keep / 100, codec=codec,
                audio=ext == "mp4")
    f["hurt"] = _damage_middle(clips.make_clip(i / "hurt.mp4", n_frames=48, size=SIZE, gop=12,
                                               audio=False))
    f["audio_only"] = _audio_only(i / "sound.m4a")
    still = i / "still.png"
    import cv2
    cv2.imwrite(str(still), cv2.cvtColor(clips.synthetic_frame(0, SIZE), cv2.COLOR_RGB2BGR))
    f["still"] = still
    f["1x1"] = _noise_film(i / "one.mkv", (1, 1))
    f["3x5"] = _noise_film(i / "three.mkv", (3, 5))
    f["4k"] = clips.make_clip(i / "uhd.mp4", n_frames=1, size=(3840, 2160), audio=False,
                              preset="ultrafast")
    f["10bit"] = clips.make_clip(i / "deep.mp4", n_frames=4, size=SIZE, audio=False,
                                 pix_fmt="yuv420p10le")
    f["444"] = clips.make_clip(i / "full.mp4", n_frames=4, size=SIZE, audio=False,
                               pix_fmt="yuv444p")
    f["gaps"] = clips.make_image_sequence(i / "gaps", n_frames=8, size=SIZE, skip=(3, 4))
    f["mixed"] = clips.make_image_sequence(i / "mixed", n_frames=6, size=SIZE)
    cv2.imwrite(f["mixed"] % 4, np.zeros((SIZE[1] + 2, SIZE[0], 3), np.uint8))
    f["badpng"] = clips.make_image_sequence(i / "badpng", n_frames=6, size=SIZE)
    Path(f["badpng"] % 3).write_bytes(b"\x89PNG\r\n\x1a\n cut short")
    f["unicode"] = clips.make_clip(i / "фильм 東京 ñ.mp4", n_frames=4, size=SIZE, audio=True)
    f["vfr"] = clips.make_vfr_clip(i / "vfr.mkv", n_frames=12, size=SIZE, audio=True)
    f["packed"] = clips.make_divx_packed_avi(i / "divx.avi", n_frames=12, size=SIZE)
    f["empty_dir"] = i / "nothing_here"
    f["empty_dir"].mkdir()
    # models
    m = d / "models"
    tiny = save_model(build_generator(width=0.125), m / "tiny.keras")
    f["model"] = tiny
    f["corrupt_model"] = m / "corrupt.keras"
    f["corrupt_model"].write_bytes(tiny.read_bytes()[: tiny.stat().st_size // 2])
    f["text_model"] = m / "notes.keras"
    f["text_model"].write_text("not a model")
    import keras
    inp = keras.Input((None, None, 1))
    f["wrong_model"] = save_model(keras.Model(inp, keras.layers.Conv2D(3, 1)(inp)),
                                  m / "three_channels.keras")
    f["fixed_model"] = save_model(build_generator(width=0.125, size=64), m / "fixed64.keras")
    # links to the input, and a read-only place (a root user writes anywhere chmod allows)
    os.link(f["good"], i / "good_hardlink.mp4")
    (i / "good_symlink.mp4").symlink_to(f["good"])
    ro = d / "readonly"
    ro.mkdir()
    ro.chmod(0o555)
    f["ro"] = ro if os.geteuid() != 0 else Path("/sys/kernel")
    # projects for render (saved beside their films, as the app does)
    projects = {}
    for key in ("good", "cut50.mkv", "hurt", "badpng", "vfr", "unicode"):
        src = f[key]
        p = Project.new(str(src), model_path=str(tiny), working_size=64)
        projects[key] = p.save(i / f"{Path(str(src)).name.replace('%', '')}.bento.json")
    gone = clips.make_clip(i / "gone.mp4", n_frames=4, size=SIZE, audio=False)
    projects["gone"] = Project.new(str(gone), model_path=str(tiny),
                                   working_size=64).save(i / "gone.bento.json")
    gone.unlink()
    (i / "garbage.bento.json").write_text("{ this is not json")
    projects["garbage"] = i / "garbage.bento.json"
    yield d, f, projects
    ro.chmod(0o755)


def _colorize_cases(d: Path, f: dict) -> dict:
    o = d / "out"

    def c(src, out, rc, frames=None, extra=(), says=None, model=f["model"], size="64", **kw):
        out = Path(out)
        argv = ["colorize", str(src), str(out), "--model", str(model), "--size", size, *extra]
        return Case(argv, rc, out, [src, model], frames, says, **kw)

    cases = {
        "ok-mp4": c(f["good"], o / "ok.mp4", 0, 6),
        "ok-png-folder": c(f["good"], o / "okseq", 0, 6),
        "ok-tif-pattern": c(f["good"], o / "tif" / "f_%04d.tif", 0, 2, ("--frames", "1-2")),
        "zero-byte": c(f["zero"], o / "z.mp4", 2, says="empty"),
        "text-file": c(f["text"], o / "t.mp4", 2),
        "missing-input": c(d / "in" / "nope.mp4", o / "n.mp4", 2, says="no such"),
        "folder-without-images": c(f["empty_dir"], o / "e.mp4", 2),
        "corrupted-middle": c(f["hurt"], o / "hurt.mkv", 1, 48),
        "audio-only": c(f["audio_only"], o / "a.mp4", 2, says="no video"),
        "still-image": c(f["still"], o / "still.mp4", 0, 1),
        "1x1-film": c(f["1x1"], o / "one.mkv", 0, 3),
        "3x5-film": c(f["3x5"], o / "three.mp4", 0, 3),
        "4k-film": c(f["4k"], o / "uhd.mp4", 0, 1),
        "10bit-h264": c(f["10bit"], o / "deep.mkv", 0, 4),
        "444-h264": c(f["444"], o / "full.mp4", 0, 4),
        "sequence-with-gaps": c(f["gaps"], o / "gaps.mkv", 1, 6),
        "sequence-mixed-sizes": c(f["mixed"], o / "mixed.mkv", 1, 6),
        "sequence-bad-png": c(f["badpng"], o / "badpng" / "f_%04d.png", 1, 6),
        "unicode-paths": c(f["unicode"], o / "выход é 映画.mp4", 0, 4),
        "variable-rate": c(f["vfr"], o / "vfr.mov", 0, 12),
        "divx-packed-avi": c(f["packed"], o / "divx.mp4", 0, 12),
        "readonly-output": c(f["good"], f["ro"] / "x.mp4", 2),
        "readonly-output-seq": c(f["good"], f["ro"] / "f_%04d.png", 2),
        "missing-output-folder": c(f["good"], o / "no" / "such" / "x.mp4", 2),
        "unknown-output-type": c(f["good"], o / "x.xyz", 2, says="unknown output"),
        "output-is-a-folder": c(f["good"], o / "dir.mp4", 2, says="folder"),
        "full-disk": c(f["good"], o / "full.mp4", 2, inject="enospc"),
        "out=in-mp4": c(f["good"], f["good"], 2, says="input"),
        "out=in-hardlink": c(f["good"], d / "in" / "good_hardlink.mp4", 2, says="input"),
        "out=in-symlink": c(f["good"], d / "in" / "good_symlink.mp4", 2, says="input"),
        "out=in-other-spelling": c(f["good"], d / "in" / "." / "good.mp4", 2, says="input"),
        "out=in-mkv": c(f["text"], f["text"], 2, says="input"),
        "out=in-seq-folder": c(f["gaps"], d / "in" / "gaps", 2, says="input"),
        "out=in-seq-pattern": c(f["gaps"], d / "in" / "gaps" / "c_%04d.png", 2, says="input"),
        "model-corrupt": c(f["good"], o / "m1.mp4", 2, model=f["corrupt_model"],
                           says="corrupt.keras"),
        "model-text": c(f["good"], o / "m2.mp4", 2, model=f["text_model"], says="notes.keras"),
        "model-wrong-shape": c(f["good"], o / "m3.mp4", 2, model=f["wrong_model"],
                               says="three_channels.keras"),
        "model-fixed-size": c(f["good"], o / "m4.mp4", 2, model=f["fixed_model"], size="128",
                              says="fixed64.keras"),
        "model-missing": c(f["good"], o / "m5.mp4", 2, model=d / "models" / "nope.keras",
                           says="not found"),
    }
    for ext in ("mp4", "avi", "mkv"):
        cases[f"truncated-10%-{ext}"] = c(f[f"cut10.{ext}"], o / f"c10{ext}.mkv", 2)
        for keep in (50, 90):
            cases[f"truncated-{keep}%-{ext}"] = c(f[f"cut{keep}.{ext}"], o / f"c{keep}{ext}.mkv", 1)
    for rng in ("5-2", "0-999", "abc", "-1-3", " ", "", "3-x", "99"):
        cases[f"range '{rng}'"] = c(f["good"], o / "r.mp4", 2, extra=(f"--frames={rng}",),
                                    says="range")
    for size in ("0", "-64", "65", "100"):
        cases[f"size {size}"] = c(f["good"], o / "s.mp4", 2, size=size, says="--size")
    return cases


def _render_cases(d: Path, f: dict, p: dict) -> dict:
    o = d / "out"

    def r(project, out, rc, frames=None, extra=(), says=None, src=None):
        out = Path(out)
        inputs = [project] + ([src] if src is not None else []) + [f["model"]]
        return Case(["render", str(project), str(out), *extra], rc, out, inputs, frames, says)

    return {
        "render-ok": r(p["good"], o / "r_ok.mp4", 0, 6, src=f["good"]),
        "render-truncated": r(p["cut50.mkv"], o / "r_cut.mkv", 1, None, src=f["cut50.mkv"]),
        "render-corrupted-middle": r(p["hurt"], o / "r_hurt.mkv", 1, 48, src=f["hurt"]),
        "render-sequence-bad-png": r(p["badpng"], o / "r_bad", 1, 6, src=f["badpng"]),
        "render-variable-rate": r(p["vfr"], o / "r_vfr.mp4", 0, 12, src=f["vfr"]),
        "render-unicode": r(p["unicode"], o / "рендер ü.mkv", 0, 4, src=f["unicode"]),
        "render-out=film": r(p["good"], f["good"], 2, says="input", src=f["good"]),
        "render-out=film-hardlink": r(p["good"], d / "in" / "good_hardlink.mp4", 2, says="input"),
        "render-out=project": r(p["good"], p["good"], 2, says="input"),
        "render-out=seq-folder": r(p["badpng"], d / "in" / "badpng", 2, says="input",
                                   src=f["badpng"]),
        "render-missing-project": r(d / "in" / "nope.bento.json", o / "x.mp4", 2, says="no such"),
        "render-garbage-project": r(p["garbage"], o / "x.mp4", 2),
        "render-film-gone": r(p["gone"], o / "x.mp4", 2, says="gone.mp4"),
        "render-bad-range": r(p["good"], o / "x.mp4", 2, extra=("--frames", "4-99")),
        "render-blank-range": r(p["good"], o / "x.mp4", 2, extra=("--frames", " ")),
        "render-size-0": r(p["good"], o / "x.mp4", 2, extra=("--size", "0"), says="--size"),
        "render-size-65": r(p["good"], o / "x.mp4", 2, extra=("--size", "65"), says="--size"),
        "render-corrupt-model": r(p["good"], o / "x.mp4", 2,
                                  extra=("--model", str(f["corrupt_model"])), says="corrupt.keras"),
        "render-wrong-shape-model": r(p["good"], o / "x.mp4", 2,
                                      extra=("--model", str(f["wrong_model"])),
                                      says="three_channels.keras"),
        "render-readonly-output": r(p["good"], f["ro"] / "x.mp4", 2),
        "render-unknown-type": r(p["good"], o / "x.xyz", 2, says="unknown output"),
    }


def _names():
    """Case names, from the same tables built on paths that need not exist (collection)."""
    fake = {k: Path("/x") / k for k in (
        "good", "zero", "text", "hurt", "audio_only", "still", "1x1", "3x5", "4k", "10bit",
        "444", "gaps", "mixed", "badpng", "unicode", "vfr", "packed", "empty_dir", "model",
        "corrupt_model", "text_model", "wrong_model", "fixed_model", "ro")}
    for ext in ("mp4", "avi", "mkv"):
        for keep in (10, 50, 90):
            fake[f"cut{keep}.{ext}"] = Path("/x") / f"cut{keep}.{ext}"
    fake_p = {k: Path("/x/p") / k for k in ("good", "cut50.mkv", "hurt", "badpng", "vfr",
                                            "unicode", "gone", "garbage")}
    return list(_colorize_cases(Path("/x"), fake)) + list(_render_cases(Path("/x"), fake, fake_p))


ALL_CASES = _names()


# ----------------------------------------------------------------------------- the checks
@pytest.mark.parametrize("name", ALL_CASES)
def test_trial_case(corpus, name, capsys, monkeypatch):
    d, f, projects = corpus
    cases = {**_colorize_cases(d, f), **_render_cases(d, f, projects)}
    case = cases[name]
    (d / "out").mkdir(exist_ok=True)
    (d / "out" / "dir.mp4").mkdir(exist_ok=True)
    if "%" in case.out.name and case.out.parent.parent == d / "out":
        case.out.parent.mkdir(exist_ok=True)     # a pattern's folder is the user's to make
    existed = case.out is not None and case.out.exists()
    before = _tree_digest(case.inputs)
    assert before, f"{name}: the case's inputs were not made"
    if case.inject == "enospc":
        import colorizer_app.core.media.writer as writer

        def full(*a, **k):
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        monkeypatch.setattr(writer.os, "replace", full)
    capsys.readouterr()
    rc = main([str(a) for a in case.argv])
    monkeypatch.undo()
    out, err = capsys.readouterr()
    cmd = case.argv[0]
    assert "Traceback" not in err + out, f"{name}: {err}"
    assert rc == case.rc, f"{name}: exit {rc}, expected {case.rc}\n{out}\n{err}"
    lines = [ln for ln in err.splitlines() if ln.strip() and not ln.startswith(f"{cmd} [")]
    if rc == 2:
        assert len(lines) == 1 and lines[0].startswith(f"colorizer {cmd}: error:"), f"{name}: {err}"
        if case.says:
            assert case.says in lines[0], f"{name}: {lines[0]}"
        if not existed and case.out is not None:
            assert not case.out.exists() or (case.out.is_dir() and not any(case.out.iterdir())), \
                f"{name}: something was written under {case.out}"
    else:
        assert lines == [], f"{name}: {err}"
        if rc == 1:
            assert "warning:" in out and "could not be decoded" in out, f"{name}: {out}"
        if case.frames is not None:
            target = str(case.out) if "%" in case.out.name else case.out
            with open_media(target) as r:
                assert r.info.frame_count == case.frames, f"{name}: {r.info.frame_count} frames"
    assert _tree_digest(case.inputs) == before, f"{name}: an input changed"
    if case.out is not None and case.out.parent.exists() and case.out.parent != Path("/sys/kernel"):
        left = [p.name for p in case.out.parent.iterdir() if ".partial" in p.name]
        assert left == [], f"{name}: temp files left: {left}"


def test_trial_counts():
    """The corpus stays the size the issue's trial had (or grows)."""
    colorize = [n for n in ALL_CASES if not n.startswith("render-")]
    render = [n for n in ALL_CASES if n.startswith("render-")]
    assert len(colorize) >= 60 and len(render) >= 20
    assert len(set(ALL_CASES)) == len(ALL_CASES)
