"""Display proxy (core.media.proxy): frame-exact small JPEG copies of a film on disk (no Qt)."""
import json
import os
import random
import threading

import cv2
import numpy as np
import pytest

from colorizer_app.core.media import MediaError, MediaReader, open_media
from colorizer_app.core.media import proxy as proxy_mod
from colorizer_app.core.media.proxy import PROXY_MAX_SIDE, ProxyBuilder, ProxyStore, proxy_size
from tests.helpers import clips

SIZE = (320, 180)
N = 24
FP = {"bytes": 1234, "frames": N}


@pytest.fixture(scope="module")
def film(tmp_path_factory):
    """A long-GOP colour H.264 clip whose frames all differ (2 px pan plus an index code)."""
    return clips.make_clip(tmp_path_factory.mktemp("proxy") / "film.mp4", n_frames=N, size=SIZE,
                           gop=N, audio=False)


@pytest.fixture(scope="module")
def gray_film(tmp_path_factory):
    return clips.make_gray_clip(tmp_path_factory.mktemp("proxy_gray") / "gray.mp4", n_frames=12,
                                size=SIZE)


@pytest.fixture(scope="module")
def source(film):
    with open_media(film) as r:
        return [r.read(i) for i in range(N)]


def _open(d, max_side=160, fingerprint=FP, frame_count=N, has_color=True):
    return ProxyStore.open(d, fingerprint, frame_count, SIZE[0], SIZE[1], has_color, max_side=max_side)


def _build(store, path, **kw):
    b = ProxyBuilder(store, path, **kw)
    total = 0
    while (n := b.step()) > 0:
        total += n
    b.close()
    return total


def _psnr(a, b):
    mse = np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2)
    return 10 * np.log10(255.0 ** 2 / max(mse, 1e-9))


def _raw(store, i):
    off, length, _ = store._idx[i]
    with open(store.directory / proxy_mod.DATA, "rb") as fh:
        fh.seek(off)
        return fh.read(length)


def test_proxy_size():
    assert PROXY_MAX_SIDE == 960
    assert proxy_size(1920, 1080) == (960, 540)
    assert proxy_size(1440, 1080) == (960, 720)
    assert proxy_size(1080, 1920) == (540, 960)          # portrait: the long side is the height
    assert proxy_size(720, 480) == (720, 480)            # never upscaled
    assert proxy_size(721, 405, 360) == (360, 202)       # odd sizes fine, even not required
    assert proxy_size(5000, 2, 960) == (960, 1)          # both >= 1
    w, h = proxy_size(2048, 858)
    assert abs(w / h - 2048 / 858) < 0.01


def test_build_matches_source_and_is_frame_exact(tmp_path, film, source):
    store = _open(tmp_path / "proxy")
    assert store.size == (160, 90) and store.count() == 0 and not store.complete
    assert _build(store, film) == N
    assert store.complete and store.count() == N and store.next_missing() is None
    want = [cv2.resize(f, store.size, interpolation=cv2.INTER_AREA) for f in source]
    for i in range(N):
        small = store.read(i)
        assert small.shape == (90, 160, 3) and small.dtype == np.uint8 and small.flags.c_contiguous
        psnr = _psnr(small, want[i])
        assert psnr > 28, (i, psnr)
        for j in (i - 1, i + 1):                       # closer to its own frame than to neighbours
            if 0 <= j < N:
                assert _psnr(small, want[j]) < psnr - 3
        full = store.read(i, size=SIZE)
        assert full.shape == (180, 320, 3) and full.flags.c_contiguous
        assert clips.frame_index(full) == i
        assert _psnr(full, source[i]) > 24
    store.close()


def test_gray_film_is_stored_one_channel_and_read_as_rgb(tmp_path, gray_film):
    with open_media(gray_film) as r:
        assert not r.info.has_color
        src = [r.read(i) for i in range(12)]
    store = ProxyStore.open(tmp_path / "g", FP, 12, SIZE[0], SIZE[1], has_color=False)
    assert store.size == SIZE                                        # smaller than 960: kept
    _build(store, gray_film)
    raw = cv2.imdecode(np.frombuffer(_raw(store, 3), np.uint8), cv2.IMREAD_UNCHANGED)
    assert raw.ndim == 2 and raw.shape == (180, 320)                 # a 1-channel JPEG
    rgb = store.read(3)
    assert rgb.shape == (180, 320, 3) and rgb.flags.c_contiguous
    assert np.array_equal(rgb[..., 0], rgb[..., 1]) and np.array_equal(rgb[..., 1], rgb[..., 2])
    assert _psnr(rgb, src[3]) > 28 and clips.frame_index(rgb) == 3
    # the same frames stored as colour cost more bytes
    color = ProxyStore.open(tmp_path / "c", FP, 12, SIZE[0], SIZE[1], has_color=True)
    color.put(3, src[3])
    assert len(_raw(store, 3)) < len(_raw(color, 3))
    store.close()
    color.close()


def test_uint16_input_is_shifted(tmp_path):
    store = _open(tmp_path / "p", max_side=320)
    f16 = clips.synthetic_frame16(5, SIZE)
    store.put(0, f16)
    store.put(1, (f16 >> 8).astype(np.uint8))
    assert np.array_equal(store.read(0), store.read(1))
    assert _psnr(store.read(0), clips.synthetic_frame(5, SIZE)) > 28


def test_resume_after_close_and_after_crash(tmp_path, film):
    d = tmp_path / "proxy"
    store = _open(d)
    b = ProxyBuilder(store, film)
    assert b.step(max_frames=10) == 10
    b.close()
    store.close()
    store.close()                                                   # idempotent
    store = _open(d)
    assert store.count() == 10 and store.next_missing() == 10
    assert _build(store, film) == N - 10                            # only the rest is built
    store.close()
    store = _open(d)
    assert store.complete and ProxyBuilder(store, film).step() == 0  # nothing rebuilt
    assert clips.frame_index(store.read(17, SIZE)) == 17
    # a crash: frames built after the last flush are lost, the flushed ones survive, and the
    # unreachable bytes appended after the flush are trimmed away
    store.delete()
    store = _open(d)
    b = ProxyBuilder(store, film, flush_every_s=3600)
    b.step(max_frames=5)
    store.flush()
    size_flushed = os.path.getsize(d / proxy_mod.DATA)
    b.step(max_frames=5)
    assert store.count() == 10 and os.path.getsize(d / proxy_mod.DATA) > size_flushed
    store._close_files()                                            # no flush: as if killed
    store = _open(d)
    assert store.count() == 5 and store.next_missing() == 5
    assert os.path.getsize(d / proxy_mod.DATA) == size_flushed
    assert clips.frame_index(store.read(4, SIZE)) == 4
    store.close()


def _built(d, film):
    store = _open(d)
    _build(store, film)
    store.close()


@pytest.mark.parametrize("damage", ["fingerprint", "frame_count", "max_side", "has_color", "version",
                                    "bad_json", "no_header", "short_index", "garbage_index",
                                    "no_index", "truncated_data", "no_data", "bloated"])
def test_damaged_or_mismatched_starts_afresh(tmp_path, film, damage):
    d = tmp_path / "proxy"
    _built(d, film)
    kw = {}
    header = d / proxy_mod.HEADER
    if damage == "fingerprint":
        kw["fingerprint"] = {"bytes": 999, "frames": N}
    elif damage == "frame_count":
        kw["frame_count"] = N + 1
    elif damage == "max_side":
        kw["max_side"] = 200
    elif damage == "has_color":
        kw["has_color"] = False
    elif damage == "version":
        h = json.loads(header.read_text())
        h["version"] = 99
        header.write_text(json.dumps(h))
    elif damage == "bad_json":
        header.write_text("{not json")
    elif damage == "no_header":
        header.unlink()
    elif damage == "short_index":
        raw = (d / proxy_mod.INDEX).read_bytes()
        (d / proxy_mod.INDEX).write_bytes(raw[:len(raw) // 2])
    elif damage == "garbage_index":
        n = os.path.getsize(d / proxy_mod.INDEX)
        (d / proxy_mod.INDEX).write_bytes(np.random.default_rng(0).bytes(n))
    elif damage == "no_index":
        (d / proxy_mod.INDEX).unlink()
    elif damage == "truncated_data":
        data = (d / proxy_mod.DATA).read_bytes()
        (d / proxy_mod.DATA).write_bytes(data[:len(data) // 2])
    elif damage == "no_data":
        (d / proxy_mod.DATA).unlink()
    elif damage == "bloated":  # the same frames rebuilt again and again
        store = _open(d)
        with open_media(film) as r:
            for i in range(N):
                store.put(i, r.read(i))
        store.close()
    store = _open(d, **kw)                                      # never raises
    assert store.count() == 0 and store.next_missing() == 0
    assert os.path.getsize(d / proxy_mod.DATA) == 0             # old bytes gone
    assert store.read(0) is None
    # and it works again afterwards
    assert _build(store, film) == store.frame_count
    assert clips.frame_index(store.read(7, SIZE)) == 7
    store.close()
    assert _open(d, **kw).count() == N               # (frame_count: frame N is not in the film)


def test_unwritable_folder_raises_oserror(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(OSError):
        _open(blocker / "proxy")


def test_missing_frame_and_corrupt_jpeg(tmp_path, film):
    d = tmp_path / "proxy"
    store = _open(d)
    assert store.read(3) is None and not store.has(3)
    assert store.read(-1) is None and store.read(N) is None and not store.has(N)
    _build(store, film)
    off, length, _ = store._idx[6]
    with open(d / proxy_mod.DATA, "r+b") as fh:                 # scribble over frame 6
        fh.seek(int(off) + 20)
        fh.write(b"\x00" * (int(length) - 40))
    fh = open(d / proxy_mod.DATA, "r+b")                        # and cut frame 23 short
    fh.truncate(int(store._idx[23, 0]) + 10)
    fh.close()
    for i in (6, 23):
        assert store.read(i) is None and not store.has(i)
    assert store.count() == N - 2 and not store.complete
    assert store.next_missing(7) == 23 and store.next_missing(0) == 6
    assert store.read(5) is not None
    with pytest.raises(IndexError):
        store.put(N, np.zeros((180, 320, 3), np.uint8))
    store.close()


def test_next_missing_wraps(tmp_path):
    store = _open(tmp_path / "p", frame_count=10)
    frame = clips.synthetic_frame(0, SIZE)
    for i in (0, 1, 2, 5, 6, 9):
        store.put(i, frame)
    assert store.next_missing() == 3
    assert store.next_missing(4) == 4
    assert store.next_missing(5) == 7
    assert store.next_missing(8) == 8
    assert store.next_missing(9) == 3                # wraps round to 0
    assert store.next_missing(100) == 3
    for i in (3, 4, 7, 8):
        store.put(i, frame)
    assert store.next_missing(5) is None and store.complete
    assert list(store.mask()) == [True] * 10


def test_rewrite_replaces(tmp_path):
    store = _open(tmp_path / "p", max_side=320)
    for i in range(4):
        store.put(i, clips.synthetic_frame(i, SIZE))
    store.put(2, clips.synthetic_frame(40, SIZE))      # dead bytes: 1 frame in 5, under the bloat limit
    assert store.count() == 4 and clips.frame_index(store.read(2)) == 40
    store.close()
    assert clips.frame_index(_open(tmp_path / "p", max_side=320).read(2)) == 40


def test_concurrent_put_and_read(tmp_path):
    n = 40
    store = _open(tmp_path / "p", frame_count=n, max_side=320)
    frames = [clips.synthetic_frame(i, SIZE) for i in range(n)]
    errors, hits, stop = [], [], threading.Event()

    def writer():
        try:
            for _rnd in range(3):
                for i in range(n):
                    store.put(i, frames[i])
                    if i % 10 == 0:
                        store.flush()
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)
        finally:
            stop.set()

    def reader(seed):
        rng = random.Random(seed)
        try:
            while not stop.is_set():
                i = rng.randrange(n)
                img = store.read(i, size=SIZE if i % 2 else None)
                if img is not None:
                    assert clips.frame_index(img) == i
                    hits.append(i)
                store.has(i)
                store.next_missing(i)
        except Exception as exc:
            errors.append(exc)

    threads = [threading.Thread(target=writer)] + [threading.Thread(target=reader, args=(s,)) for s in (1, 2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors, errors
    assert hits                                          # the readers did overlap the writer
    assert store.complete and store.count() == n
    store.close()


def test_builder_follows_hint_in_contiguous_runs(tmp_path, film, monkeypatch):
    store = _open(tmp_path / "p")
    asked = []
    real = MediaReader.read
    monkeypatch.setattr(MediaReader, "read", lambda self, i, copy=True: asked.append(i) or real(self, i, copy))
    b = ProxyBuilder(store, film)
    b._open_reader()
    asked.clear()                                        # opening the film reads a few frames
    assert b.step(hint=10, max_frames=4) == 4
    assert asked == [10, 11, 12, 13]
    store.put(16, clips.synthetic_frame(16, SIZE))
    assert b.step(hint=10, max_frames=8) == 2            # stops at the stored frame 16
    assert asked[-2:] == [14, 15]
    assert b.step(hint=20, max_frames=8) == 4            # to the end, not wrapping mid-run
    assert b.step(hint=20, max_frames=8) == 8            # then wraps round to 0
    assert asked[-8:] == list(range(8))
    while b.step(hint=20) > 0:
        pass
    assert store.complete and b.done
    b.close()


def test_builder_skips_undecodable_frame(tmp_path, film, monkeypatch):
    real = MediaReader.read

    def flaky(self, i, copy=True):
        if i == 5:
            raise MediaError("frame 5 could not be decoded")
        return real(self, i, copy)

    monkeypatch.setattr(MediaReader, "read", flaky)
    store = _open(tmp_path / "p")
    b = ProxyBuilder(store, film)
    steps = 0
    while b.step(hint=3, max_frames=4) > 0:
        steps += 1
        assert steps < 20
    assert b.failed == {5} and b.done
    assert not store.has(5) and store.count() == N - 1 and not store.complete
    assert store.next_missing() == 5                     # the store still knows it is missing
    b.close()
    store.close()
    # a later session tries again (and now succeeds)
    monkeypatch.setattr(MediaReader, "read", real)
    store = _open(tmp_path / "p")
    assert _build(store, film) == 1 and store.complete
    assert clips.frame_index(store.read(5, SIZE)) == 5


def test_delete_removes_files(tmp_path, film):
    d = tmp_path / "proj.bento" / "proxy"
    store = _open(d)
    _build(store, film)
    assert store.nbytes_on_disk > N * 500
    assert {p.name for p in d.iterdir()} == {proxy_mod.HEADER, proxy_mod.DATA, proxy_mod.INDEX}
    store.delete()
    assert not d.exists() and (tmp_path / "proj.bento").is_dir()
    assert store.read(0) is None and store.count() == 0
    store.close()                                        # harmless after delete
    with pytest.raises(ValueError):
        store.put(0, clips.synthetic_frame(0, SIZE))
