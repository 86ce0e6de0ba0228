"""Chroma corrections painted by artists, and the ordered stack that composites them.

A correction = soft mask (full-frame float32 [0,1], stored sparsely) + flat chroma (a, b in LAB
units) + opacity + lifetime + name/id/visible. Over the model's chroma, each visible correction
active at a frame does ``ab = ab * (1 - w) + chroma * w`` with ``w = mask * opacity``; L is never
touched. Later entries in the stack are painted over earlier ones.

"Until the next cut" corrections follow their object by default: core.corrections.tracking carries the
base mask, painted on the lifetime's start frame (the anchor), along the shot with optical flow
and stores the result as *derived* per-frame masks (``Correction.tracked``), keyed by what they
were computed from. The mask of a frame is the artist's own frame mask if there is one, else
the tracked mask if it is current, else the base mask (``Lifetime.extra["track"] = False``
keeps the base mask: a fixed screen region, e.g. a vignette).

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
from collections.abc import Callable, Hashable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, Concatenate, ParamSpec, TypeVar

import numpy as np

from .. import schema as ps
from .brush import BrushSettings
from .composite import Affine, Layer, build_affine, refresh_region
from .edits import MaskKey, ShotOf
from .live_stroke import LiveStroke, LiveUpdate
from .masks import BBox, SparseMask, bbox_slices

# Bump when tracking changes what it computes (tracked masks saved by older code are then stale).
TRACK_VERSION = 1
TRACK_FLAG = "track"



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
    end: int | None = None    # inclusive; only for "range"
    extra: dict[str, Any] = field(default_factory=dict)

    KINDS = ("frame", "range", "until_cut")

    @classmethod
    def frame(cls, i: int) -> Lifetime:
        return cls("frame", int(i))

    @classmethod
    def range(cls, a: int, b: int) -> Lifetime:
        a, b = int(a), int(b)
        return cls("range", min(a, b), max(a, b))

    @classmethod
    def until_cut(cls, start: int, track: bool = True) -> Lifetime:
        return cls("until_cut", int(start), extra={} if track else {TRACK_FLAG: False})

    @property
    def tracks(self) -> bool:
        """Does a correction with this lifetime follow its object (core.corrections.tracking)?"""
        return self.kind == "until_cut" and self.extra.get(TRACK_FLAG, True) is not False

    def with_tracking(self, on: bool) -> Lifetime:
        """A copy with tracking switched on/off (default on: the flag is only stored when off)."""
        extra = {k: v for k, v in self.extra.items() if k != TRACK_FLAG}
        if not on:
            extra[TRACK_FLAG] = False
        return Lifetime(self.kind, self.start, self.end, extra)

    def active(self, frame: int, shot_of: ShotOf = None) -> bool:
        if self.kind == "frame":
            return frame == self.start
        if self.kind == "range":
            return self.start <= frame <= (self.end if self.end is not None else self.start)
        if self.kind == "until_cut":
            lookup = shot_lookup(shot_of)
            return frame >= self.start and lookup(frame) == lookup(self.start)
        return False

    def to_dict(self) -> dict[str, Any]:
        d = dict(self.extra)
        d.update(kind=self.kind, start=self.start)
        if self.kind == "range":
            d["end"] = self.end
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Lifetime:
        d = ps.as_dict(d, "lifetime")
        kind, start, end = ps.lifetime_fields(d, cls.KINDS)
        return cls(kind, start, end, d)


# --------------------------------------------------------------------------------------------
@dataclass
class Correction:
    shape: tuple[int, int]
    chroma: tuple[float, float] = (0.0, 0.0)
    opacity: float = 1.0
    lifetime: Lifetime = field(default_factory=Lifetime)
    name: str = "Correction"
    id: str = field(default_factory=lambda: uuid.uuid4().hex)
    visible: bool = True
    mask: SparseMask = None  # type: ignore[assignment]  # None: __post_init__ makes an empty one
    # Per-frame masks that override ``mask`` on those frames (flow propagation fills these).
    frame_masks: dict[int, SparseMask] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)      # unknown JSON keys, kept on save
    version: int = 0
    # Derived (core.corrections.tracking): the base mask carried along the shot, {frame: mask}, valid while
    # track_key == source_key(). Replaced, never edited in place, so snapshots may share it.
    tracked: dict[int, SparseMask] = field(default_factory=dict, repr=False, compare=False)
    track_key: tuple[Any, ...] | None = field(default=None, compare=False)
    tracked_rev: int = field(default=0, compare=False)   # bumped whenever ``tracked`` changes
    _hash_memo: tuple[Any, ...] = field(default=(None, None), repr=False, compare=False)

    def __post_init__(self) -> None:
        self.shape = (int(self.shape[0]), int(self.shape[1]))
        if self.mask is None:
            self.mask = SparseMask(self.shape)
        self.chroma = (float(self.chroma[0]), float(self.chroma[1]))

    @property
    def tracking(self) -> bool:
        return self.lifetime.tracks

    def source_key(self) -> tuple[Any, ...]:
        """What tracked masks are computed from: the base mask's content and its anchor frame.
        Content (not the mask's uid/rev) so that masks saved with a project stay valid."""
        memo_id, h = self._hash_memo
        mid = (self.mask.uid, self.mask.rev)
        if memo_id != mid:
            h = self.mask.content_hash()
            self._hash_memo = (mid, h)
        return (TRACK_VERSION, int(self.lifetime.start), h)

    def tracked_current(self) -> bool:
        return self.track_key is not None and self.track_key == self.source_key()

    def mask_key(self, frame: int) -> None | int | tuple[str, int]:
        """Which mask applies at frame: None = the base mask, an int = the frame's own,
        ("t", frame) = the tracked mask."""
        if frame in self.frame_masks:
            return frame
        if frame in self.tracked and self.tracking and self.tracked_current():
            return ("t", frame)
        return None

    def mask_for(self, frame: int) -> SparseMask:
        return self.get_mask(self.mask_key(frame))

    def get_mask(self, key: MaskKey) -> SparseMask:
        if key is None:
            return self.mask
        if isinstance(key, tuple):
            return self.tracked[key[1]]
        return self.frame_masks[key]

    def is_active(self, frame: int, shot_of: ShotOf = None) -> bool:
        return self.visible and self.lifetime.active(frame, shot_of)

    def meta(self) -> dict[str, Any]:
        """JSON metadata (masks are saved separately by the project)."""
        d = dict(self.extra)
        d.update(id=self.id, name=self.name, chroma=[self.chroma[0], self.chroma[1]],
                 opacity=self.opacity, visible=self.visible, lifetime=self.lifetime.to_dict())
        return d

    @classmethod
    def from_meta(cls, d: dict[str, Any], shape: tuple[int, int]) -> Correction:
        d = ps.as_dict(d, "correction")   # checked: a NaN opacity loads, then breaks every save
        c = cls(shape=shape, **ps.correction_fields(d),
                lifetime=Lifetime.from_dict(d.pop("lifetime")))
        c.extra = d
        return c


_P = ParamSpec("_P")
_R = TypeVar("_R")


def _locked(fn: Callable[Concatenate[CorrectionStack, _P], _R]
            ) -> Callable[Concatenate[CorrectionStack, _P], _R]:
    def wrapper(self: CorrectionStack, /, *a: _P.args, **kw: _P.kwargs) -> _R:
        with self.lock:
            return fn(self, *a, **kw)
    functools.update_wrapper(wrapper, fn)
    return wrapper


# --------------------------------------------------------------------------------------------
class CorrectionStack:
    """Ordered corrections (bottom first) with change notification and a composite cache.

    Thread-safe at method granularity (one RLock): the GUI thread paints while a display
    worker composites. Listeners are called with the lock held: keep them short (post a signal).
    """

    def __init__(self, shape: tuple[int, int], cache_size: int = 8):
        self.shape = (int(shape[0]), int(shape[1]))
        self._items: list[Correction] = []
        self.version = 0                      # bumped on every change (GUI repaint trigger)
        self._listeners: list[Callable[[str, str | None], None]] = []
        self._cache: OrderedDict[tuple[Any, ...], Affine] = OrderedDict()
        self._cache_size = cache_size
        self.lock = threading.RLock()

    # ----- container ----------------------------------------------------------------------
    def __iter__(self) -> Iterator[Correction]:
        return iter(list(self._items))

    def __len__(self) -> int:
        return len(self._items)

    def __getitem__(self, i: int) -> Correction:
        return self._items[i]

    def ids(self) -> list[str]:
        return [c.id for c in self._items]

    def find(self, cid: str) -> Correction:
        for c in self._items:
            if c.id == cid:
                return c
        raise KeyError(f"no correction with id {cid}")

    def index_of(self, cid: str) -> int:
        return self.ids().index(cid)

    @_locked
    def snapshot(self) -> CorrectionStack:
        """An independent copy (masks copied, no listeners) for a background render: the stack
        itself is not thread-safe and the artist may keep painting meanwhile."""
        other = CorrectionStack(self.shape, self._cache_size)
        for c in self._items:
            cc = Correction(c.shape, c.chroma, c.opacity, Lifetime(c.lifetime.kind, c.lifetime.start,
                            c.lifetime.end, dict(c.lifetime.extra)), c.name, c.id, c.visible,
                            c.mask.copy(), {f: m.copy() for f, m in c.frame_masks.items()},
                            dict(c.extra))
            # tracked masks are never written in place: the copy shares them
            cc.tracked, cc.tracked_rev = dict(c.tracked), c.tracked_rev
            cc.track_key = c.track_key if c.tracked_current() else None
            cc._hash_memo = ((cc.mask.uid, cc.mask.rev), c._hash_memo[1]) \
                if c._hash_memo[0] == (c.mask.uid, c.mask.rev) else (None, None)
            other._items.append(cc)
        return other

    def subscribe(self, fn: Callable[[str, str | None], None]) -> None:
        """fn(event, correction_id): 'added', 'removed', 'changed', 'mask', 'moved', and
        'tracked' (derived tracked masks arrived: no edit, versions are not bumped)."""
        self._listeners.append(fn)

    def _changed(self, event: str, c: Correction | None, pixels: bool = True) -> None:
        # c.version keys the composite cache: only bump it when the pixels can change
        if c is not None and pixels:
            c.version += 1
        self.version += 1
        for fn in list(self._listeners):
            fn(event, None if c is None else c.id)

    # ----- edits (each returns what an undo command needs) ---------------------------------
    @_locked
    def new(self, chroma: tuple[float, float] = (0.0, 0.0), lifetime: Lifetime | None = None, name: str = "",
            opacity: float = 1.0, index: int | None = None) -> Correction:
        c = Correction(self.shape, chroma=chroma, opacity=opacity,
                       lifetime=lifetime or Lifetime(), name=name or f"Correction {len(self) + 1}")
        return self.add(c, index)

    @_locked
    def add(self, c: Correction, index: int | None = None) -> Correction:
        if c.shape != self.shape:
            raise ValueError(f"correction is {c.shape}, stack frames are {self.shape}")
        if any(x.id == c.id for x in self._items):
            raise ValueError(f"duplicate correction id {c.id}")
        self._items.insert(len(self._items) if index is None else index, c)
        self._changed("added", c)
        return c

    @_locked
    def remove(self, cid: str) -> tuple[int, Correction]:
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
    def update(self, /, cid: str, **fields: Any) -> dict[str, Any]:
        """Set name/chroma/opacity/visible/lifetime; returns the old values (for undo)."""
        c = self.find(cid)
        old: dict[str, Any] = {}
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
        old_name: str = self.update(cid, name=name)["name"]
        return old_name

    def set_visible(self, cid: str, visible: bool) -> bool:
        was_visible: bool = self.update(cid, visible=bool(visible))["visible"]
        return was_visible

    @_locked
    def write_mask_patch(self, cid: str, key: int | None, bbox: BBox,
                         values: np.ndarray) -> None:
        """Paint/undo/redo: set mask values in bbox; cached composites are patched, not rebuilt."""
        c = self.find(cid)
        if key is not None and key not in c.frame_masks:
            c.frame_masks[key] = SparseMask(self.shape)
        c.get_mask(key).set_patch(bbox, values)
        old = c.version
        self._changed("mask", c)
        self._refresh_cache(c, old, key, bbox)

    def _refresh_cache(self, c: Correction, old_version: int, key: int | None,
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
            if any(isinstance(k[i][2], tuple) for i in pos):
                continue   # built with a tracked mask, which a base edit makes stale: drop it
            new_key = tuple((e[0], c.version, e[2]) + _mask_id(c.get_mask(e[2])) if i in pos
                            else e for i, e in enumerate(k))
            if any(k[i][2] == key for i in pos):
                try:
                    aff = refresh_region(aff, [self._layer(e[0], e[2]) for e in k], bbox)
                except KeyError:
                    continue
            self._cache[new_key] = aff

    def _layer(self, cid: str, mask_key: MaskKey) -> Layer:
        c = self.find(cid)
        return (c.get_mask(mask_key), c.opacity, c.chroma)

    @_locked
    def set_frame_mask(self, cid: str, frame: int, mask: SparseMask | None) -> None:
        """Give a correction its own mask on one frame (None removes it): temporal propagation."""
        c = self.find(cid)
        if mask is None:
            c.frame_masks.pop(frame, None)
        else:
            c.frame_masks[int(frame)] = mask
        self._changed("mask", c)

    @_locked
    def set_tracked(self, cid: str, key: tuple[Any, ...], masks: dict[int, SparseMask]) -> bool:
        """Store tracked masks computed from ``key`` (core.corrections.tracking). Derived data, not an edit:
        no undo, versions untouched (the composite cache keys on each mask's uid). Returns False,
        storing nothing, when the correction is gone or its base mask/anchor changed since."""
        try:
            c = self.find(cid)
        except KeyError:
            return False
        if key != c.source_key():
            return False
        merged = dict(c.tracked) if c.track_key == key else {}
        merged.update(masks)
        c.tracked, c.track_key = merged, key
        c.tracked_rev += 1
        for fn in list(self._listeners):
            fn("tracked", c.id)
        return True

    # ----- compositing --------------------------------------------------------------------
    def active(self, frame: int, shot_of: ShotOf = None) -> list[Correction]:
        return [c for c in self._items if c.is_active(frame, shot_of)]

    @_locked
    def affine_for(self, layers: Sequence[Correction], frame: int) -> Affine:
        parts = []
        for c in layers:
            mk = c.mask_key(frame)
            parts.append((c.id, c.version, mk) + _mask_id(c.get_mask(mk)))
        key = tuple(parts)
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
                  out: np.ndarray | None = None) -> np.ndarray:
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
    def begin_stroke(self, cid: str, frame: int, brush: BrushSettings, ab_model: np.ndarray,
                     L: np.ndarray | None = None, shot_of: ShotOf = None,
                     own_frame_mask: bool = False) -> LiveStroke:
        """Start painting into correction cid on frame; see live_stroke.LiveStroke."""
        return LiveStroke(self, cid, frame, brush, ab_model, L, shot_of, own_frame_mask)


def _mask_id(m: SparseMask) -> tuple[int, int]:
    # uid too, not only rev: a new tracked mask for a frame starts at rev 0 like the one it replaces
    return (m.uid, m.rev)


def apply_live_stroke(live: LiveStroke,
                      points: Sequence[tuple[float, float]]) -> LiveUpdate | None:
    """GUI fast path per mouse move: add pointer samples to the stroke in progress.

    Returns a LiveUpdate(bbox, ab, rgb, mask) for just the region that changed (or None).
    """
    return live.extend(points)
