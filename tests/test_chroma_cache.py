"""The on-disk chroma cache: keys, atomic frames, invalidation and pruning (no Qt)."""
import threading

import numpy as np
import pytest

from colorizer_app.core.ml.chroma_cache import ChromaCache, cache_key, project_dir_for


def _ab(seed, size=64):
    return (np.random.default_rng(seed).standard_normal((size, size, 2)) * 30).astype(np.float16)


def test_put_get_roundtrip_and_reopen(tmp_path):
    c = ChromaCache(tmp_path / "film.mp4.bento", "abc123_64", 64)
    assert c.get(3) is None and 3 not in c
    assert np.array_equal(c.put(3, _ab(1)), c.get(3))     # put says what get reads back
    c.put(7, _ab(2).astype(np.float32))          # read back as float16 whatever comes in
    got = c.get(3)
    assert got.dtype == np.float16 and got.shape == (64, 64, 2)
    # whole LAB units: at most half a unit off (ab of real colours stays within +-128)
    np.testing.assert_allclose(got, _ab(1), atol=0.5 + 1e-6)
    np.testing.assert_array_equal(got, np.clip(np.rint(_ab(1).astype(np.float32)), -128, 127))
    assert c.indices() == {3, 7} and len(c) == 2
    # Reopening costs nothing: the frames are found on disk.
    again = ChromaCache(tmp_path / "film.mp4.bento", "abc123_64", 64)
    assert again.indices() == {3, 7}
    np.testing.assert_allclose(again.get(7), _ab(2), atol=0.5 + 1e-6)
    assert list(again.mask(10).nonzero()[0]) == [3, 7]


def test_layout_and_key(tmp_path):
    c = ChromaCache(tmp_path / "p.bento", "abc123_256", 256)
    c.put(42, _ab(0, 256))
    assert c.dir == tmp_path / "p.bento" / "chroma" / "abc123_256"   # size not repeated
    assert (c.dir / "0000042.png").is_file() and (c.dir / "meta.json").is_file()
    assert cache_key("abc", 128) == "abc_128"
    assert cache_key("we/ird id", 64) == "we-ird-id_64"


def test_model_or_size_change_selects_another_key(tmp_path):
    root = tmp_path / "f.bento"
    a = ChromaCache(root, "modelA", 64)
    a.put(0, _ab(0))
    assert ChromaCache(root, "modelB", 64).get(0) is None      # other weights
    assert ChromaCache(root, "modelA", 128).get(0) is None     # other working size
    assert ChromaCache(root, "modelA", 64).get(0) is not None  # the old key is intact


def test_prune_keeps_wanted_keys(tmp_path):
    root = tmp_path / "f.bento"
    for m in ("m1", "m2", "m3"):
        ChromaCache(root, m, 64).put(0, _ab(0))
    assert set(ChromaCache.keys(root)) == {"m1_64", "m2_64", "m3_64"}
    removed = ChromaCache.prune(root, keep=["m2_64"])
    assert set(removed) == {"m1_64", "m3_64"}
    assert ChromaCache.keys(root) == ["m2_64"]
    assert ChromaCache(root, "m2", 64).get(0) is not None


def test_replaced_film_clears_key(tmp_path):
    root = tmp_path / "f.bento"
    ChromaCache(root, "m", 64, fingerprint={"bytes": 100, "frames": 10}).put(1, _ab(1))
    assert ChromaCache(root, "m", 64, fingerprint={"bytes": 100, "frames": 10}).has(1)
    assert not ChromaCache(root, "m", 64, fingerprint={"bytes": 999, "frames": 10}).has(1)


def test_damaged_frame_is_dropped(tmp_path):
    c = ChromaCache(tmp_path / "f.bento", "m", 64)
    c.put(5, _ab(5))
    c.path(5).write_bytes(b"not a numpy file")
    assert c.get(5) is None and not c.has(5) and not c.path(5).exists()


def test_wrong_shape_rejected(tmp_path):
    c = ChromaCache(tmp_path / "f.bento", "m", 64)
    with pytest.raises(ValueError):
        c.put(0, np.zeros((32, 32, 2), np.float16))


def test_concurrent_writer_and_reader(tmp_path):
    """A reader never sees half a frame while a worker writes (atomic rename)."""
    c = ChromaCache(tmp_path / "f.bento", "m", 64)
    stop = threading.Event()
    bad = []

    def writer():
        for i in range(200):
            c.put(i % 20, np.full((64, 64, 2), i % 20, np.float16))
        stop.set()

    t = threading.Thread(target=writer)
    t.start()
    while not stop.is_set():
        for i in range(20):
            ab = c.get(i)
            if ab is not None and not np.all(ab == i):
                bad.append(i)
    t.join()
    assert not bad


def test_project_dir_names(tmp_path):
    film = tmp_path / "reel1.mp4"
    film.write_bytes(b"x")
    assert project_dir_for(film) == tmp_path / "reel1.mp4.bento"
    assert (tmp_path / "reel1.mp4.bento").is_dir()
    pattern = tmp_path / "shot_%04d.png"
    assert project_dir_for(pattern, create=False).name == "shot_####.png.bento"


def test_project_dir_falls_back_when_read_only(tmp_path, monkeypatch):
    from pathlib import Path
    ro = tmp_path / "ro"
    ro.mkdir()
    (ro / "film.mov").write_bytes(b"x")
    real_mkdir = Path.mkdir

    def mkdir(self, *a, **kw):   # the film's folder refuses new entries (a read-only mount)
        if self.parent == ro:
            raise PermissionError(13, "Read-only file system", str(self))
        return real_mkdir(self, *a, **kw)

    monkeypatch.setattr(Path, "mkdir", mkdir)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    d = project_dir_for(ro / "film.mov")
    assert d.parent == tmp_path / "cache" / "bentocolor" and d.name.startswith("film.mov-")
    assert d.is_dir()
    assert project_dir_for(ro / "film.mov") == d          # stable home for the same film


def test_old_float16_npy_caches_still_read_and_are_replaced(tmp_path):
    c = ChromaCache(tmp_path / "f.bento", "m", 64)
    old = _ab(3)
    np.save(c.dir / "0000004.npy", old)               # what format 1 wrote
    np.save(c.dir / "0000005.npy", np.zeros((8, 8, 2), np.float16))   # a damaged one
    again = ChromaCache(tmp_path / "f.bento", "m", 64)
    assert again.indices() == {4, 5}
    np.testing.assert_array_equal(again.get(4), old)  # exactly what was stored
    assert again.get(5) is None and not (c.dir / "0000005.npy").exists()
    again.put(4, old)                                  # refilled: the new file replaces it
    assert not (c.dir / "0000004.npy").exists() and (c.dir / "0000004.png").is_file()
    assert ChromaCache(tmp_path / "f.bento", "m", 64).indices() == {4}


def test_size_cap_evicts_least_recently_used(tmp_path):
    frame = np.full((64, 64, 2), 7, np.float16)
    c = ChromaCache(tmp_path / "f.bento", "m", 64, max_bytes=0)
    c.put(0, frame)
    one = c.nbytes
    c = ChromaCache(tmp_path / "f.bento", "m", 64, max_bytes=3 * one)
    for i in (1, 2):
        c.put(i, frame)
    assert c.get(0) is not None                        # 0 is now the most recently used
    c.put(3, frame)                                    # over the cap: 1 (oldest use) goes
    assert c.indices() == {0, 2, 3} and c.nbytes <= 3 * one and c.evicted == 1
    assert not (c.dir / "0000001.png").exists()
    # the order outlives the session (a frame's first read touches it on disk)
    import os
    import time
    old = time.time() - 100
    for i, age in ((0, 30), (2, 20), (3, 10)):
        os.utime(c.dir / f"{i:07d}.png", (old + age, old + age))
    again = ChromaCache(tmp_path / "f.bento", "m", 64, max_bytes=2 * one)  # a lower cap
    assert again.indices() == {0, 2}                  # 3 was the least recently used
    assert sum(f.stat().st_size for f in again.dir.glob("*.png")) == again.nbytes


def test_default_limit_is_a_setting(monkeypatch, tmp_path):
    from colorizer_app.core.ml import chroma_cache
    monkeypatch.setenv("BENTOCOLOR_CHROMA_CACHE_MB", "2")
    assert chroma_cache.default_limit() == 2 * 2 ** 20
    chroma_cache.set_default_limit(12345)
    try:
        assert ChromaCache(tmp_path / "f.bento", "m", 64).max_bytes == 12345
    finally:
        chroma_cache.set_default_limit(None)
    assert ChromaCache(tmp_path / "f.bento", "m", 64).max_bytes == 2 * 2 ** 20


def test_model_chroma_is_stored_compactly_without_visible_change(tmp_path):
    """The shipped model's output on frames made in code: <= 50 KB at 256 px (a square film,
    no letterbox: the worst case), every value within half a LAB unit (a chroma difference of
    at most 0.71 dE, invisible)."""
    from colorizer_app.core.color import crop_content
    from colorizer_app.core.ml.inference import Colorizer
    from tests.helpers.clips import synthetic_frame
    col = Colorizer(size=256, batch_size=1)
    for k, (w, h, limit) in enumerate(((480, 480, 50_000), (640, 360, 35_000))):
        ab, box = col.predict_work([synthetic_frame(9, (w, h), False, True)])[0]
        c = ChromaCache(tmp_path / f"f{k}.bento", col.model_id, 256,
                        fingerprint={"width": w, "height": h, "frames": 1})
        c.put(0, ab)
        assert c.path(0).stat().st_size <= limit
        # what is ever read of the square: the letterboxed picture
        err = np.abs(crop_content(c.get(0).astype(np.float32), box) -
                     crop_content(ab.astype(np.float32), box))
        assert err.max() <= 0.5 + 1e-3
        de = np.sqrt((err ** 2).sum(axis=-1))
        assert de.max() <= 0.71 and de.mean() < 0.45
