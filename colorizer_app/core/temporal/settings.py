"""A project's temporal settings: the typed form of its ``temporal`` section.

On disk (the project JSON; the section is open, so keys this class does not know are kept):

    "temporal": {
        "shots": {"n_frames": 120, "cuts": [48, 97], "detected": true},   # the film's cuts
        "keyframes": {"12": "/abs/ref_000012.png"},                        # frame -> colour still
        "deflicker": 0.5                                                   # strength, 0..1
    }

Older files keep their cuts at the top level (``"cuts": [..]``); they are read as well.

Project.temporal_settings() loads this object and Project.set_temporal_settings() saves it; the
review app (gui.temporal), render (RenderJob.from_project) and the farm's plan read it, never
the dict.  Reading is lenient by default, as the app opens whatever it can: values that cannot
be read fall back to the defaults and are named in ``problems``.  ``strict=True`` raises
ValueError on the first one instead, as a render must not silently differ from the review.
"""
from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from .. import schema
from .shots import ShotList


@dataclass(frozen=True)
class TemporalSettings:
    """cuts: frames starting a shot (None: unknown, detected when a render needs them);
    keyframes: {frame: path of its colour still}; deflicker: strength in [0, 1];
    n_frames: the film length the stored cuts were found for (None: no stored shot list);
    detected: the cuts come from a detection pass (and the artist's edits since);
    problems: (field, message) for every value from_dict could not read."""

    cuts: tuple[int, ...] | None = None
    keyframes: dict[int, str] = field(default_factory=dict)
    deflicker: float = 0.0
    n_frames: int | None = None
    detected: bool = False
    problems: tuple[tuple[str, str], ...] = field(default=(), compare=False)

    def __post_init__(self) -> None:
        if not 0.0 <= self.deflicker <= 1.0:
            raise ValueError(f"deflicker strength {self.deflicker} is not in 0..1")

    @property
    def active(self) -> bool:
        return bool(self.keyframes) or self.deflicker > 0.0

    # ---- the project's section -------------------------------------------------------------
    @classmethod
    def from_dict(cls, d: Any, *, strict: bool = False) -> TemporalSettings:
        """From a project's ``temporal`` section (any JSON value: an unreadable section is the
        defaults).  strict: ValueError naming the first value that cannot be read."""
        d = d if isinstance(d, dict) else {}
        problems: list[tuple[str, str]] = []
        shots = d.get("shots")
        raw_cuts = shots["cuts"] if isinstance(shots, dict) and "cuts" in shots else d.get("cuts")
        cuts = None if not isinstance(raw_cuts, list) else \
            tuple(sorted({c for c in raw_cuts if type(c) is int and 0 < c <= schema.MAX_FRAME}))
        n_frames = None
        if isinstance(shots, dict) and "n_frames" in shots:
            try:
                n_frames = int(shots["n_frames"])
            except (TypeError, ValueError, OverflowError):
                n_frames = None
        detected = bool(shots.get("detected", False)) if isinstance(shots, dict) else False
        keyframes: dict[int, str] = {}
        stored = d.get("keyframes") or {}
        if not isinstance(stored, dict):
            problems.append(("keyframes", "the project's keyframes could not be read"))
        else:
            for k, path in stored.items():
                try:
                    keyframes[int(k)] = str(path)
                except (TypeError, ValueError, OverflowError) as exc:
                    problems.append(("keyframes", str(exc)))
        try:
            strength = float(d.get("deflicker", 0.0) or 0.0)
        except (TypeError, ValueError, OverflowError) as exc:
            problems.append(("deflicker", str(exc)))
            strength = 0.0
        if not 0.0 <= strength <= 1.0:
            problems.append(("deflicker",
                             f"the project's deflicker strength {strength} is not in 0..1"))
            strength = min(1.0, max(0.0, strength))      # NaN -> 0.0
        if strict and problems:
            raise ValueError(problems[0][1])
        return cls(cuts, keyframes, strength, n_frames, detected, tuple(problems))

    def to_dict(self) -> dict[str, Any]:
        """The section's keys this object owns, as from_dict reads them (JSON types)."""
        out: dict[str, Any] = {}
        if self.n_frames is not None or self.cuts is not None:
            shots: dict[str, Any] = {}
            if self.n_frames is not None:
                shots["n_frames"] = int(self.n_frames)
            shots["cuts"] = [int(c) for c in (self.cuts or ())]
            shots["detected"] = bool(self.detected)
            out["shots"] = shots
        out["keyframes"] = {str(k): str(p) for k, p in sorted(self.keyframes.items())}
        out["deflicker"] = float(self.deflicker)
        return out

    @classmethod
    def from_project(cls, project: Any) -> TemporalSettings:
        """A project's settings for a render (strict: a value that cannot be read is an error)."""
        settings: TemporalSettings = project.temporal_settings(strict=True)
        return settings

    @classmethod
    def from_shots(cls, shots: ShotList, keyframes: Mapping[int, str], deflicker: float,
                   detected: bool = True) -> TemporalSettings:
        """The review app's state: its live shot list, keyframe stills and strength."""
        return cls(tuple(int(c) for c in shots.cuts), {int(k): str(p) for k, p in keyframes.items()},
                   float(deflicker), int(shots.n_frames), bool(detected))

    # ---- uses ------------------------------------------------------------------------------
    def shot_list(self, n_frames: int) -> ShotList | None:
        """The stored shot list when it was found for a film of n_frames, else None."""
        if self.n_frames is None or self.n_frames != int(n_frames):
            return None
        return ShotList(int(n_frames), self.cuts or ())

    def problems_of(self, name: str) -> list[str]:
        return [msg for f, msg in self.problems if f == name]

    def merged(self, deflicker: float | None = None, refs: Mapping[int, Any] | None = None
               ) -> TemporalSettings:
        """Command-line overrides: a strength, and stills added to (or replacing) keyframes."""
        keys = dict(self.keyframes)
        keys.update({int(k): str(v) for k, v in (refs or {}).items()})
        return dataclasses.replace(self, keyframes=keys,
                                   deflicker=self.deflicker if deflicker is None
                                   else float(deflicker))
