"""DivX/Xvid "packed B-frames" (MPEG-4 Part 2, mostly in AVI): unpacked before decoding.

Video for Windows wanted one picture out per packet in, so these encoders store a B-frame inside
the packet of the anchor (I/P) it depends on, and put an empty "N-VOP" in the slot where the
anchor is shown:   slot K: [P(K+1) + B(K)]   slot K+1: [N-VOP]   (or more B slots between).
FFmpeg's decoder unpacks this only while it decodes from the start; after a seek its output
goes wrong (pictures are dropped), and the timestamps it puts on frames are shuffled either way.
So each VOP becomes its own packet here, stamped with the slot it is shown in (the AVI slot is
the packet's dts), and the N-VOPs are dropped: the decoder then sees an ordinary B-frame stream
with true timestamps, and frame-exact seeking works as for any other film.
"""
from __future__ import annotations

from collections.abc import Iterable, Iterator

import av

_VOP = b"\x00\x00\x01\xb6"
_B = 2              # vop_coding_type
_N_VOP_MAX = 8      # an N-VOP is a VOP header alone: start code and about two bytes


def _vops(data: bytes) -> list[int]:
    starts, k = [], data.find(_VOP)
    while k >= 0:
        starts.append(k)
        k = data.find(_VOP, k + 4)
    return starts


def _kind(data: bytes, start: int) -> int:
    return data[start + 4] >> 6 if start + 4 < len(data) else -1


def _packet(data: bytes, pts: int, like: av.Packet, key: bool) -> av.Packet:
    p = av.Packet(data)
    p.pts = p.dts = pts
    p.time_base = like.time_base
    p.stream = like.stream
    if key:
        p.is_keyframe = True
    return p


def unpack(packets: Iterable[av.Packet]) -> Iterator[av.Packet]:
    """Packets of a packed stream (demux order) -> one VOP per packet with its display slot as
    pts, in decode order. The empty end-of-stream packet is passed on last."""
    # (anchor bytes, keyframe, its template packet) waiting for its slot
    held: tuple[bytes, bool, av.Packet] | None = None
    bs: list[tuple[bytes, int]] = []  # B-VOPs (bytes, slot) that decode after the held anchor
    last_slot = -1

    def release(slot: int) -> list[av.Packet]:
        nonlocal held, bs
        out: list[av.Packet] = []
        if held is not None:
            data, key, like = held
            out.append(_packet(data, slot, like, key))
            out += [_packet(b, s, like, False) for b, s in bs]
        held, bs = None, []
        return out

    for pkt in packets:
        if pkt.size == 0:
            yield from release(last_slot + 1)
            yield pkt
            continue
        if pkt.is_corrupt:
            continue
        slot = pkt.dts if pkt.dts is not None else pkt.pts
        if slot is None:
            yield pkt
            continue
        last_slot = max(last_slot, slot)
        data = bytes(pkt)
        starts = _vops(data)
        if len(starts) >= 2:                       # anchor + packed B (+ more Bs): hold it
            yield from release(slot)               # (a missing N-VOP: show the old one here)
            held = (data[:starts[1]], pkt.is_keyframe, pkt)
            bs = [(data[starts[1]:], slot)]
            continue
        vop_len = len(data) - starts[0] if starts else len(data)
        if held is not None:
            if starts and _kind(data, starts[0]) == _B:
                bs.append((data, slot))           # a further B of the held anchor
                continue
            if vop_len <= _N_VOP_MAX:             # the anchor's own slot
                yield from release(slot)
                continue
            yield from release(bs[-1][1] + 1 if bs else slot)
        if vop_len <= _N_VOP_MAX and starts and _kind(data, starts[0]) != _B:
            continue                               # a dropped-frame placeholder: nothing to decode
        yield _packet(data, slot, pkt, pkt.is_keyframe)
    yield from release(last_slot + 1)
