"""Checked reads of values from a parsed project document.

A project file is user-editable text (and may be damaged): every value the app computes with is
read through these helpers, which raise ValueError naming the field, so the loader can turn any
bad value into one ProjectError line instead of an IndexError, OverflowError or a NaN that makes
every later save fail. Open sections (unknown keys, "temporal", "view") are kept as parsed: the
strict JSON reader (project_io.loads_json) already guarantees they can be written back.
"""
from __future__ import annotations

import math
from collections.abc import Container
from typing import Any

MAX_FRAME = 2 ** 31 - 1          # frame numbers, in/out points
MAX_SIDE = 32768                 # frame width/height
MAX_CHROMA = 512.0               # |a|, |b| in LAB units (real colours stay within about 128)


def as_int(v: Any, what: str, lo: int = 0, hi: int = MAX_FRAME) -> int:
    """An integer in [lo, hi]; integral floats (3.0) are accepted, bools are not."""
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        raise ValueError(f"{what} is not a number ({_short(v)})")
    n: int | float = v
    if isinstance(n, float):
        if not math.isfinite(n) or n != int(n):
            raise ValueError(f"{what} is not a whole number ({_short(n)})")
        n = int(n)
    if not lo <= n <= hi:
        raise ValueError(f"{what} {n} is outside {lo}..{hi}")
    return n


def as_opt_int(v: Any, what: str, lo: int = 0, hi: int = MAX_FRAME) -> int | None:
    return None if v is None else as_int(v, what, lo, hi)


def as_float(v: Any, what: str, lo: float, hi: float) -> float:
    """A finite number in [lo, hi] (NaN and Infinity are refused, never clamped)."""
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        raise ValueError(f"{what} is not a number ({_short(v)})")
    try:
        f = float(v)
    except OverflowError:
        raise ValueError(f"{what} is out of range") from None
    if not math.isfinite(f):
        raise ValueError(f"{what} is not a finite number ({_short(v)})")
    if not lo <= f <= hi:
        raise ValueError(f"{what} {f:g} is outside {lo:g}..{hi:g}")
    return f


def as_bool(v: Any, what: str) -> bool:
    if isinstance(v, bool):
        return v
    if isinstance(v, int) and v in (0, 1):
        return bool(v)
    raise ValueError(f"{what} is not true/false ({_short(v)})")


def as_dict(v: Any, what: str, none_ok: bool = False) -> dict[str, Any]:
    if v is None and none_ok:
        return {}
    if not isinstance(v, dict):
        raise ValueError(f"{what} is not an object ({_short(v)})")
    return dict(v)


def as_list(v: Any, what: str, n: int | None = None) -> list[Any]:
    if not isinstance(v, list):
        raise ValueError(f"{what} is not a list ({_short(v)})")
    if n is not None and len(v) != n:
        raise ValueError(f"{what} has {len(v)} values, expected {n}")
    return list(v)


def as_text(v: Any, what: str) -> str:
    """A string; numbers are accepted as their text (hand-edited ids), nothing else is."""
    if isinstance(v, str):
        if "\x00" in v:
            raise ValueError(f"{what} holds a NUL character")
        return v
    if isinstance(v, int) and not isinstance(v, bool):
        return str(v)
    raise ValueError(f"{what} is not text ({_short(v)})")


def as_frame_key(k: str) -> int:
    """A frame number used as an object key ("7")."""
    if not (isinstance(k, str) and k.isascii() and k.isdigit() and len(k) <= 10):
        raise ValueError(f"frame key {_short(k)} is not a frame number")
    return as_int(int(k), "frame key")


def as_path_text(v: Any, what: str) -> str | None:
    return None if v is None else as_text(v, what)


def _short(v: Any) -> str:
    text = repr(v) if not isinstance(v, (dict, list)) else type(v).__name__
    return text if len(text) <= 40 else text[:37] + "..."


def lifetime_fields(d: dict[str, Any], kinds: Container[str]) -> tuple[str, int, int | None]:
    """(kind, start, end) popped from a lifetime's dict (Lifetime.from_dict keeps the rest)."""
    kind = d.pop("kind")
    if not isinstance(kind, str) or kind not in kinds:
        raise ValueError(f"unknown lifetime kind {_short(kind)}")
    start = as_int(d.pop("start"), "lifetime start")
    end = as_opt_int(d.pop("end", None), "lifetime end")
    if kind == "range" and end is not None and end < start:
        start, end = end, start          # as Lifetime.range orders them
    return kind, start, end


def correction_fields(d: dict[str, Any]) -> dict[str, Any]:
    """Correction keyword arguments popped from a correction's dict (the rest is kept as
    extra): a one-value chroma or a NaN opacity is refused here, not at the first composite."""
    name = as_text(d.pop("name", "Correction"), "correction name")
    what = f"correction '{name[:40]}'"
    chroma = as_list(d.pop("chroma"), f"chroma of {what}", 2)
    return dict(
        id=as_text(d.pop("id"), f"id of {what}"), name=name,
        chroma=tuple(as_float(v, f"chroma of {what}", -MAX_CHROMA, MAX_CHROMA) for v in chroma),
        opacity=as_float(d.pop("opacity", 1.0), f"opacity of {what}", 0.0, 1.0),
        visible=as_bool(d.pop("visible", True), f"visible of {what}"))
