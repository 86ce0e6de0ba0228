"""Sparse soft masks: a full-frame float32 [0, 1] mask stored cropped to its bounding box.

A correction usually covers a small part of a 1080p/4K frame, so we keep only the crop that is
non-zero (plus the frame shape). Everything that touches a mask works on bounding boxes, which
keeps undo patches, compositing and saving proportional to the painted area, not the frame.

Bounding boxes are ``(y0, x0, y1, x1)`` half-open, in full-frame pixel coordinates.
"""

from __future__ import annotations

import hashlib
import io
import itertools
import zipfile
from typing import overload

import numpy as np

BBox = tuple[int, int, int, int]
_UIDS = itertools.count()


@overload
def bbox_union(a: BBox, b: BBox | None) -> BBox: ...
@overload
def bbox_union(a: BBox | None, b: BBox) -> BBox: ...
@overload
def bbox_union(a: BBox | None, b: BBox | None) -> BBox | None: ...
def bbox_union(a: BBox | None, b: BBox | None) -> BBox | None:
    if a is None:
        return b
    if b is None:
        return a
    return (min(a[0], b[0]), min(a[1], b[1]), max(a[2], b[2]), max(a[3], b[3]))


def bbox_clip(b: BBox, shape: tuple[int, int]) -> BBox | None:
    """Clip to the frame; None when nothing is left."""
    y0, x0 = max(0, b[0]), max(0, b[1])
    y1, x1 = min(shape[0], b[2]), min(shape[1], b[3])
    if y1 <= y0 or x1 <= x0:
        return None
    return (y0, x0, y1, x1)


def bbox_pad(b: BBox, pad: int, shape: tuple[int, int]) -> BBox | None:
    return bbox_clip((b[0] - pad, b[1] - pad, b[2] + pad, b[3] + pad), shape)


def bbox_slices(b: BBox) -> tuple[slice, slice]:
    return slice(b[0], b[2]), slice(b[1], b[3])


def nonzero_bbox(arr: np.ndarray, offset: tuple[int, int] = (0, 0)) -> BBox | None:
    """Tight bbox of arr > 0, shifted by offset; None if all zero."""
    rows = np.flatnonzero(arr.any(axis=1))
    if rows.size == 0:
        return None
    cols = np.flatnonzero(arr.any(axis=0))
    oy, ox = offset
    return (oy + int(rows[0]), ox + int(cols[0]), oy + int(rows[-1]) + 1, ox + int(cols[-1]) + 1)


class SparseMask:
    """Float32 [0,1] mask of a full frame of ``shape`` (H, W), stored as a crop."""

    __slots__ = ("shape", "bbox", "data", "occ", "rev", "uid")

    def __init__(self, shape: tuple[int, int], bbox: BBox | None = None,
                 data: np.ndarray | None = None):
        self.shape = (int(shape[0]), int(shape[1]))
        self.bbox: BBox | None = None
        self.data: np.ndarray | None = None
        self.occ: np.ndarray | None = None  # tile occupancy cache (core.corrections.composite); reset on every write
        self.rev = 0      # bumped on every write: caches key on (uid, rev)
        self.uid = next(_UIDS)
        if bbox is not None and data is not None:
            data = np.asarray(data, dtype=np.float32)
            if data.shape != (bbox[2] - bbox[0], bbox[3] - bbox[1]):
                raise ValueError(f"mask data {data.shape} does not match bbox {bbox}")
            self.bbox = (int(bbox[0]), int(bbox[1]), int(bbox[2]), int(bbox[3]))
            self.data = data

    # ----- construction -------------------------------------------------------------------
    @classmethod
    def from_full(cls, full: np.ndarray) -> SparseMask:
        full = np.asarray(full, dtype=np.float32)
        m = cls(full.shape[:2])
        b = nonzero_bbox(full)
        if b is not None:
            m.bbox, m.data = b, full[bbox_slices(b)].copy()
        return m

    def copy(self) -> SparseMask:
        return SparseMask(self.shape, self.bbox, None if self.data is None else self.data.copy())

    @property
    def is_empty(self) -> bool:
        return self.bbox is None

    # ----- access -------------------------------------------------------------------------
    def to_full(self) -> np.ndarray:
        out = np.zeros(self.shape, np.float32)
        if self.bbox is not None:
            out[bbox_slices(self.bbox)] = self.data
        return out

    def get_patch(self, b: BBox) -> np.ndarray:
        """Copy of the mask inside bbox b (zeros where the mask has no data)."""
        out = np.zeros((b[2] - b[0], b[3] - b[1]), np.float32)
        if self.bbox is None or self.data is None:  # (set together)
            return out
        inter = (max(b[0], self.bbox[0]), max(b[1], self.bbox[1]),
                 min(b[2], self.bbox[2]), min(b[3], self.bbox[3]))
        if inter[2] > inter[0] and inter[3] > inter[1]:
            out[inter[0] - b[0]:inter[2] - b[0], inter[1] - b[1]:inter[3] - b[1]] = \
                self.data[inter[0] - self.bbox[0]:inter[2] - self.bbox[0],
                          inter[1] - self.bbox[1]:inter[3] - self.bbox[1]]
        return out

    def set_patch(self, b: BBox, patch: np.ndarray, trim: bool = True) -> None:
        """Write patch into bbox b, growing the stored crop as needed.

        trim=True shrinks the crop back to its non-zero bbox so erasing really frees memory; the
        values themselves are stored exactly (undo must restore bit-identical masks)."""
        patch = np.asarray(patch, dtype=np.float32)
        self.occ = None
        self.rev += 1
        if self.bbox is None or self.data is None:  # (set together)
            if not patch.any():
                return
            self.bbox, self.data = b, patch.copy()
        else:
            nb = bbox_union(self.bbox, b)
            if nb != self.bbox:
                grown = np.zeros((nb[2] - nb[0], nb[3] - nb[1]), np.float32)
                ob = self.bbox
                grown[ob[0] - nb[0]:ob[2] - nb[0], ob[1] - nb[1]:ob[3] - nb[1]] = self.data
                self.bbox, self.data = nb, grown
            self.data[b[0] - self.bbox[0]:b[2] - self.bbox[0],
                      b[1] - self.bbox[1]:b[3] - self.bbox[1]] = patch
        if trim:
            self.trim()

    def trim(self) -> None:
        if self.bbox is None or self.data is None:  # (set together)
            return
        nb = nonzero_bbox(self.data, (self.bbox[0], self.bbox[1]))
        self.occ = None
        if nb is None:
            self.bbox, self.data = None, None
        elif nb != self.bbox:
            self.data = self.get_patch(nb)
            self.bbox = nb

    def equals(self, other: SparseMask) -> bool:
        """Exact equality of the full-frame masks (ignores how the crop is stored)."""
        if self.shape != other.shape:
            return False
        b = bbox_union(self.bbox, other.bbox)
        if b is None:
            return True
        return np.array_equal(self.get_patch(b), other.get_patch(b))

    # ----- persistence --------------------------------------------------------------------
    def content_hash(self) -> str:
        h = hashlib.blake2b(digest_size=10)
        h.update(repr((self.shape, self.bbox)).encode())
        if self.data is not None:
            h.update(np.ascontiguousarray(self.data).tobytes())
        return h.hexdigest()

    def to_bytes(self) -> bytes:
        """Compressed npz: float32 kept exactly so a reopened project has identical masks."""
        buf = io.BytesIO()
        bbox = np.array(self.bbox if self.bbox is not None else (0, 0, 0, 0), np.int64)
        data = self.data if self.data is not None else np.zeros((0, 0), np.float32)
        np.savez_compressed(buf, shape=np.array(self.shape, np.int64), bbox=bbox, data=data)
        return buf.getvalue()

    @classmethod
    def from_bytes(cls, blob: bytes) -> SparseMask:
        """The mask saved by to_bytes. Anything damaged (not a zip, truncated, a zlib error,
        wrong shapes, NaN) raises ValueError only, so a loader can drop that one mask."""
        try:
            return cls._from_bytes(blob)
        except ValueError:
            raise
        except Exception as exc:     # BadZipFile, EOFError, zlib.error, KeyError, OSError...
            raise ValueError(f"damaged mask file ({type(exc).__name__}: {exc})") from None

    @classmethod
    def _from_bytes(cls, blob: bytes) -> SparseMask:
        with zipfile.ZipFile(io.BytesIO(blob)) as zf:
            shape = tuple(int(v) for v in _read_npy(zf, "shape", 2))
            bbox = tuple(int(v) for v in _read_npy(zf, "bbox", 4))
            if len(shape) != 2 or not all(0 < v <= MAX_SIDE for v in shape) or len(bbox) != 4:
                raise ValueError(f"mask shape {shape} / bbox {bbox} is not a frame's")
            y0, x0, y1, x1 = bbox
            if bbox == (0, 0, 0, 0):
                return cls(shape)
            if not (0 <= y0 < y1 <= shape[0] and 0 <= x0 < x1 <= shape[1]):
                raise ValueError(f"mask bbox {bbox} is outside the {shape} frame")
            # the header is checked before anything is decompressed: a damaged size field
            # cannot make us allocate gigabytes
            data = _read_npy(zf, "data", (y1 - y0) * (x1 - x0))
        data = data.astype(np.float32).reshape(-1)
        if data.size == 0:
            return cls(shape)
        if not np.isfinite(data).all():
            raise ValueError("mask holds NaN or infinite values")
        data = np.clip(data, 0.0, 1.0).reshape(y1 - y0, x1 - x0)
        return cls(shape, bbox, data)


MAX_SIDE = 32768


def _read_npy(zf: zipfile.ZipFile, name: str, max_items: int) -> np.ndarray:
    """One numeric array of an npz, at most max_items values (checked from its header)."""
    with zf.open(name + ".npy") as fh:
        major, _ = np.lib.format.read_magic(fh)
        read_header = (np.lib.format.read_array_header_1_0 if major == 1
                       else np.lib.format.read_array_header_2_0)
        shape, fortran, dtype = read_header(fh)
        count = int(np.prod(shape, dtype=np.int64)) if shape else 1
        if dtype.kind not in "iuf" or count > max_items:
            raise ValueError(f"{name} is {dtype} {shape}, not a mask's")
        raw = fh.read(count * dtype.itemsize + 1)
    if len(raw) != count * dtype.itemsize:
        raise ValueError(f"{name} is truncated")
    return np.frombuffer(raw, dtype).reshape(shape, order="F" if fortran else "C")
