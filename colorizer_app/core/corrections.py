"""Chroma corrections painted by artists, and the ordered stack that composites them.

A correction = soft mask (full-frame float32 [0,1], stored sparsely) + flat chroma (a, b in LAB
units) + opacity + lifetime + name/id/visible. Over the model's chroma, each visible correction
active at a frame does ``ab = ab * (1 - w) + chroma * w`` with ``w = mask * opacity``; L is never
touched. Later entries in the stack are painted over earlier ones.

Why an affine cache: the chain of blends above is, per pixel, ``ab_out = ab_in * T + S`` (T
scalar, S a 2-vector). We cache (T, S) per *set of active corrections* (not per frame), so every
frame of a shot with the same corrections reuses one entry, playback costs one multiply-add per
pixel, and committed strokes are rasterised exactly once (into their mask). The cache key holds
each correction's version, so editing one correction invalidates only entries that contain it.
"""

from __future__ import annotations

import bisect
import functools
import threading
import uuid
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Callable, Dict, Hashable, Iterator, List, NamedTuple, Optional, Sequence, \
    Tuple, Union

import numpy as np

from .composite import Affine, build_affine, refresh_region
from .masks import BBox, SparseMask, bbox_slices

# shot_of: a callable frame -> shot key, or a sorted sequence of cut frames (first frame of each
# new shot). None means "no cuts known": the whole film is one shot.
ShotOf = Union[None, Callable[[int], Hashable], Sequence[int]]


def shot_lookup(shot_of: ShotOf) -> Callable[[int], Hashable]:
    if shot_of is None:
        return lambda f: 0
    if callable(shot_of):
        return shot_of
    cuts = sorted(int(c) for c in shot_of)
    return lambda f: bisect.bisect_right(cuts, int(f))


# --------------------------------------------------------------------------------------------
@dataclass
class Lifetime:
    """When a correction applies: one frame, an inclusive frame range, or until the next cut."""
    kind: str = "frame"          # "frame" | "range" | "until_cut"
    start: int = 0
    end: Optional[int] = None    # inclusive; only for "range"
    extra: dict = field(default_factory=dict)

    KINDS = ("frame", "range", "until_cut")

    @classmethod
    def frame(cls, i: int) -> "Lifetime":
        return cls("frame", int(i))

    @classmethod
    def range(cls, a: int, b: int) -> "Lifetime":
        a, b = int(a), int(b)
        return cls("range", min(a, b), max(a, b))

    @classmethod
    def until_cut(cls, start: int) -> "Lifetime":
        return cls("until_cut", int(start))

    def active(self, frame: int, shot_of: ShotOf = None) -> bool:
        if self.kind == "frame":
            return frame == self.start
        if self.kind == "range":
            return self.start <= frame <= (self.end if self.end is not None else self.start)
        if self.kind == "until_cut":
            lookup = shot_lookup(shot_of)
            return frame >= self.start and lookup(frame) == lookup(self.start)
        return False

    def to_dict(self) -> dict:
        d = dict(self.extra)
        d.update(kind=self.kind, start=self.start)
        if self.kind == "range":
            d["end"] = self.end
        return d

    @classmethod
    def from_dict(cls, d: dict) -> "Lifetime":
        d = dict(d)
        kind = d.pop("kind")
        if kind not in cls.KINDS:
            raise ValueError(f"unknown lifetime kind {kind!r}")
        start = int(d.pop("start"))
        end = d.pop("end", None)
        return cls(kind, start, None if end is None else int(end), d)


# --------------------------------------------------------------------------------------------
@dataclass
class Correction:
    shape: Tuple[int, int]
    chroma: Tuple[float, float] = (0.0, 0.0)
    opacity: float = 1.0
    lifetime: Lifetime = field(default_factory=Lifetime)
    name: str = "Correction"
    id: str = field(default_factory=lambda: uuid.uuid4().hex)
    visible: bool = True
    mask: SparseMask = None  # type: ignore[assignment]
    # Per-frame masks that override ``mask`` on those frames (flow propagation fills these).
    frame_masks: Dict[int, SparseMask] = field(default_factory=dict)
    extra: dict = field(default_factory=dict)      # unknown JSON keys, kept on save
    version: int = 0

    def __post_init__(self):
        self.shape = (int(self.shape[0]), int(self.shape[1]))
        if self.mask is None:
            self.mask = SparseMask(self.shape)
        self.chroma = (float(self.chroma[0]), float(self.chroma[1]))

    def mask_key(self, frame: int) -> Optional[int]:
        """Which mask applies at frame: None = the base mask, else the frame's own."""
        return frame if frame in self.frame_masks else None

    def mask_for(self, frame: int) -> SparseMask:
        return self.frame_masks.get(frame, self.mask)

    def get_mask(self, key: Optional[int]) -> SparseMask:
        return self.mask if key is None else self.frame_masks[key]

    def is_active(self, frame: int, shot_of: ShotOf = None) -> bool:
        return self.visible and self.lifetime.active(frame, shot_of)

    def meta(self) -> dict:
        """JSON metadata (masks are saved separately by the project)."""
        d = dict(self.extra)
        d.update(id=self.id, name=self.name, chroma=[self.chroma[0], self.chroma[1]],
                 opacity=self.opacity, visible=self.visible, lifetime=self.lifetime.to_dict())
        return d

    @classmethod
    def from_meta(cls, d: dict, shape: Tuple[int, int]) -> "Correction":
        d = dict(d)
        c = cls(shape=shape, id=str(d.pop("id")), name=str(d.pop("name", "Correction")),
                chroma=tuple(float(v) for v in d.pop("chroma")),  # type: ignore[arg-type]
                opacity=float(d.pop("opacity", 1.0)), visible=bool(d.pop("visible", True)),
                lifetime=Lifetime.from_dict(d.pop("lifetime")))
        c.extra = d
        return c


class StrokeEdit(NamedTuple):
    """One undo step of painting: the touched region of one mask, before and after."""
    correction_id: str
    mask_key: Optional[int]      # None = base mask, else the frame whose own mask was painted
    bbox: BBox
    before: np.ndarray
    after: np.ndarray

    def undo(self, stack: "CorrectionStack") -> None:
        stack.write_mask_patch(self.correction_id, self.mask_key, self.bbox, self.before)

    def redo(self, stack: "CorrectionStack") -> None:
        stack.write_mask_patch(self.correction_id, self.mask_key, self.bbox, self.after)

    @property
    def nbytes(self) -> int:
        return self.before.nbytes + self.after.nbytes


def _locked(fn):
    @functools.wraps(fn)
    def wrapper(self, *a, **kw):
        with self.lock:
            return fn(self, *a, **kw)
    return wrapper


# --------------------------------------------------------------------------------------------
class CorrectionStack:
    """Ordered corrections (bottom first) with change notification and a composite cache.

    Thread-safe at method granularity (one RLock): the GUI thread paints while a display
    worker composites. Listeners are called with the lock held: keep them short (post a signal).
    """

    def __init__(self, shape: Tuple[int, int], cache_size: int = 8):
        self.shape = (int(shape[0]), int(shape[1]))
        self._items: List[Correction] = []
        self.version = 0                      # bumped on every change (GUI repaint trigger)
        self._listeners: List[Callable[[str, Optional[str]], None]] = []
        self._cache: "OrderedDict[tuple, Affine]" = OrderedDict()
        self._cache_size = cache_size
        self.lock = threading.RLock()

    # ----- container ----------------------------------------------------------------------
    def __iter__(self) -> Iterator[Correction]:
        return iter(list(self._items))

    def __len__(self) -> int:
        return len(self._items)

    def __getitem__(self, i: int) -> Correction:
        return self._items[i]

    def ids(self) -> List[str]:
        return [c.id for c in self._items]

    def find(self, cid: str) -> Correction:
        for c in self._items:
            if c.id == cid:
                return c
        raise KeyError(f"no correction with id {cid}")

    def index_of(self, cid: str) -> int:
        return self.ids().index(cid)

    @_locked
    def snapshot(self) -> "CorrectionStack":
        """An independent copy (masks copied, no listeners) for a background render: the stack
        itself is not thread-safe and the artist may keep painting meanwhile."""
        other = CorrectionStack(self.shape, self._cache_size)
        for c in self._items:
            cc = Correction(c.shape, c.chroma, c.opacity, Lifetime(c.lifetime.kind, c.lifetime.start,
                            c.lifetime.end, dict(c.lifetime.extra)), c.name, c.id, c.visible,
                            c.mask.copy(), {f: m.copy() for f, m in c.frame_masks.items()},
                            dict(c.extra))
            other._items.append(cc)
        return other

    def subscribe(self, fn: Callable[[str, Optional[str]], None]) -> None:
        """fn(event, correction_id): 'added', 'removed', 'changed', 'mask', 'moved'."""
        self._listeners.append(fn)

    def _changed(self, event: str, c: Optional[Correction], pixels: bool = True) -> None:
        # c.version keys the composite cache: only bump it when the pixels can change
        if c is not None and pixels:
            c.version += 1
        self.version += 1
        for fn in list(self._listeners):
            fn(event, None if c is None else c.id)

    # ----- edits (each returns what an undo command needs) ---------------------------------
    @_locked
    def new(self, chroma=(0.0, 0.0), lifetime: Optional[Lifetime] = None, name: str = "",
            opacity: float = 1.0, index: Optional[int] = None) -> Correction:
        c = Correction(self.shape, chroma=chroma, opacity=opacity,
                       lifetime=lifetime or Lifetime(), name=name or f"Correction {len(self) + 1}")
        return self.add(c, index)

    @_locked
    def add(self, c: Correction, index: Optional[int] = None) -> Correction:
        if c.shape != self.shape:
            raise ValueError(f"correction is {c.shape}, stack frames are {self.shape}")
        if any(x.id == c.id for x in self._items):
            raise ValueError(f"duplicate correction id {c.id}")
        self._items.insert(len(self._items) if index is None else index, c)
        self._changed("added", c)
        return c

    @_locked
    def remove(self, cid: str) -> Tuple[int, Correction]:
        i = self.index_of(cid)
        c = self._items.pop(i)
        self._changed("removed", c)
        return i, c

    @_locked
    def move(self, cid: str, new_index: int) -> int:
        """Reorder; returns the old index (for undo)."""
        i = self.index_of(cid)
        c = self._items.pop(i)
        self._items.insert(max(0, min(new_index, len(self._items))), c)
        self._changed("moved", c)
        return i

    @_locked
    def update(self, cid: str, **fields) -> dict:
        """Set name/chroma/opacity/visible/lifetime; returns the old values (for undo)."""
        c = self.find(cid)
        old = {}
        for k, v in fields.items():
            if k not in ("name", "chroma", "opacity", "visible", "lifetime"):
                raise KeyError(f"cannot set {k!r} on a correction")
            old[k] = getattr(c, k)
            if k == "chroma":
                v = (float(v[0]), float(v[1]))
            setattr(c, k, v)
        self._changed("changed", c, pixels=set(fields) != {"name"})
        return old

    def rename(self, cid: str, name: str) -> str:
        return self.update(cid, name=name)["name"]

    def set_visible(self, cid: str, visible: bool) -> bool:
        return self.update(cid, visible=bool(visible))["visible"]

    @_locked
    def write_mask_patch(self, cid: str, key: Optional[int], bbox: BBox,
                         values: np.ndarray) -> None:
        """Paint/undo/redo: set mask values in bbox; cached composites are patched, not rebuilt."""
        c = self.find(cid)
        if key is not None and key not in c.frame_masks:
            c.frame_masks[key] = SparseMask(self.shape)
        c.get_mask(key).set_patch(bbox, values)
        old = c.version
        self._changed("mask", c)
        self._refresh_cache(c, old, key, bbox)

    def _refresh_cache(self, c: Correction, old_version: int, key: Optional[int],
                       bbox: BBox) -> None:
        # The most recently used entry holding c (normally the frame on screen) stays valid
        # outside bbox: re-key it and recompute only bbox, so a commit costs the stroke's area,
        # not the frame's. Other entries holding c are dropped and rebuilt if ever needed again;
        # entries without c (e.g. the layers under/over it for the next stroke) are untouched.
        refreshed = False
        for k in reversed(list(self._cache)):
            pos = [i for i, e in enumerate(k) if e[0] == c.id and e[1] == old_version]
            if not pos:
                continue
            aff = self._cache.pop(k)
            if refreshed:
                continue
            refreshed = True
            new_key = tuple((e[0], c.version, e[2], c.get_mask(e[2]).rev) if i in pos else e
                            for i, e in enumerate(k))
            if any(k[i][2] == key for i in pos):
                try:
                    aff = refresh_region(aff, [self._layer(e[0], e[2]) for e in k], bbox)
                except KeyError:
                    continue
            self._cache[new_key] = aff

    def _layer(self, cid: str, mask_key: Optional[int]):
        c = self.find(cid)
        return (c.get_mask(mask_key), c.opacity, c.chroma)

    @_locked
    def set_frame_mask(self, cid: str, frame: int, mask: Optional[SparseMask]) -> None:
        """Give a correction its own mask on one frame (None removes it): temporal propagation."""
        c = self.find(cid)
        if mask is None:
            c.frame_masks.pop(frame, None)
        else:
            c.frame_masks[int(frame)] = mask
        self._changed("mask", c)

    # ----- compositing --------------------------------------------------------------------
    def active(self, frame: int, shot_of: ShotOf = None) -> List[Correction]:
        return [c for c in self._items if c.is_active(frame, shot_of)]

    @_locked
    def affine_for(self, layers: Sequence[Correction], frame: int) -> Affine:
        key = tuple((c.id, c.version, c.mask_key(frame), c.mask_for(frame).rev) for c in layers)
        hit = self._cache.get(key)
        if hit is not None:
            self._cache.move_to_end(key)
            return hit
        aff = build_affine([(c.mask_for(frame), c.opacity, c.chroma) for c in layers])
        self._cache[key] = aff
        while len(self._cache) > self._cache_size:
            self._cache.popitem(last=False)
        return aff

    @_locked
    def composite(self, ab_model: np.ndarray, frame_index: int, shot_of: ShotOf = None,
                  out: Optional[np.ndarray] = None) -> np.ndarray:
        """Model chroma (H, W, 2) -> corrected chroma. Only pixels under a mask change."""
        if ab_model.shape[:2] != self.shape:
            raise ValueError(f"ab is {ab_model.shape[:2]}, corrections are for {self.shape}")
        layers = self.active(frame_index, shot_of)
        if out is not None:
            out[...] = ab_model
        return self.affine_for(layers, frame_index).apply(ab_model, out)

    @_locked
    def composite_mask(self, frame_index: int, shot_of: ShotOf = None) -> np.ndarray:
        """Total correction weight per pixel (1 - T), e.g. for an overlay of what is painted."""
        aff = self.affine_for(self.active(frame_index, shot_of), frame_index)
        full = np.zeros(self.shape, np.float32)
        if aff.bbox is not None:
            full[bbox_slices(aff.bbox)] = aff.weight()
        return full

    @_locked
    def begin_stroke(self, cid: str, frame: int, brush, ab_model: np.ndarray,
                     L: Optional[np.ndarray] = None, shot_of: ShotOf = None,
                     own_frame_mask: bool = False):
        """Start painting into correction cid on frame; see live_stroke.LiveStroke."""
        from .live_stroke import LiveStroke
        return LiveStroke(self, cid, frame, brush, ab_model, L, shot_of, own_frame_mask)


def apply_live_stroke(live, points: Sequence[Tuple[float, float]]):
    """GUI fast path per mouse move: add pointer samples to the stroke in progress.

    Returns a LiveUpdate(bbox, ab, rgb, mask) for just the region that changed (or None).
    """
    return live.extend(points)
