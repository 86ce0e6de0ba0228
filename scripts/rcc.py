"""Read Qt resource files (`.rcc`, magic `qres`): list entries and return their bytes.

Layout (Qt's rcc, versions 1-3): a 20-byte header (magic, version, tree/data/names offsets,
then 4 flag bytes from version 3), a tree of fixed-size nodes (14 bytes, 22 from version 2 with
an 8-byte modification time), names as length + hash + UTF-16BE, and data blocks prefixed by a
4-byte big-endian size. Compressed entries are zlib with a 4-byte big-endian length prefix
(flag 1) or a zstd frame (flag 4).
"""
from __future__ import annotations

import struct
import zlib
from collections.abc import Iterator
from pathlib import Path

COMPRESSED, DIRECTORY, COMPRESSED_ZSTD = 1, 2, 4


class RccError(ValueError):
    pass


def _u16(b, o): return struct.unpack_from(">H", b, o)[0]
def _u32(b, o): return struct.unpack_from(">I", b, o)[0]


def entries(path: str | Path) -> Iterator[tuple[str, bytes]]:
    """Yield (resource path, uncompressed bytes) for every file in an rcc archive."""
    b = Path(path).read_bytes()
    if b[:4] != b"qres":
        raise RccError(f"{path}: not a Qt resource file (no 'qres' magic)")
    version, tree, data, names = struct.unpack_from(">IIII", b, 4)
    node = 22 if version >= 2 else 14

    def name(off: int) -> str:
        n = _u16(b, names + off)
        return b[names + off + 6: names + off + 6 + 2 * n].decode("utf-16-be")

    def walk(idx: int, prefix: str) -> Iterator[tuple[str, bytes]]:
        o = tree + idx * node
        nm, flags = _u32(b, o), _u16(b, o + 4)
        here = prefix + "/" + name(nm) if idx else ""
        if flags & DIRECTORY:
            count, first = _u32(b, o + 6), _u32(b, o + 10)
            for k in range(count):
                yield from walk(first + k, here)
            return
        doff = data + _u32(b, o + 10)
        size = _u32(b, doff)
        blob = b[doff + 4: doff + 4 + size]
        if flags & COMPRESSED:
            blob = zlib.decompress(blob[4:])
        elif flags & COMPRESSED_ZSTD:
            import zstandard  # only needed for zstd-packed archives

            blob = zstandard.ZstdDecompressor().decompress(blob, max_output_size=1 << 30)
        yield here, blob

    yield from walk(0, "")
