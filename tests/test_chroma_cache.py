"""The on-disk chroma cache: keys, atomic frames, invalidation and pruning (no Qt)."""
import threading

import numpy as np
import pytest

from colorizer_app.core.chroma_cache import ChromaCache, cache_key, project_dir_for


def _ab(seed, size=64):
    return (np.random.default_rng(seed).standard_normal((size, size, 2)) * 30).astype(np.float16)


def test_put_get_roundtrip_and_reopen(tmp_path):
    c = ChromaCache(tmp_path / "film.mp4.bento", "abc123_64", 64)
    assert c.get(3) is None and 3 not in c
    c.put(3, _ab(1))
    c.put(7, _ab(2).astype(np.float32))          # stored as float16 whatever comes in
    got = c.get(3)
    assert got.dtype == np.float16 and got.shape == (64, 64, 2)
    np.testing.assert_array_equal(got, _ab(1))
    assert c.indices() == {3, 7} and len(c) == 2
    # Reopening costs nothing: the frames are found on disk.
    again = ChromaCache(tmp_path / "film.mp4.bento", "abc123_64", 64)
    assert again.indices() == {3, 7}
    np.testing.assert_array_equal(again.get(7), _ab(2))
    assert list(again.mask(10).nonzero()[0]) == [3, 7]


def test_layout_and_key(tmp_path):
    c = ChromaCache(tmp_path / "p.bento", "abc123_256", 256)
    c.put(42, _ab(0, 256))
    assert c.dir == tmp_path / "p.bento" / "chroma" / "abc123_256"   # size not repeated
    assert (c.dir / "0000042.npy").is_file() and (c.dir / "meta.json").is_file()
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
