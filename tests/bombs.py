"""Compression bombs for tests: files a few MB on disk that decompress to gigabytes, made in
bounded memory (the repeated piece is compressed a block at a time, never held whole)."""

from __future__ import annotations

import zlib

_BLOCK = 1024 * 1024


def gzip_bomb(repeat: int, fill: bytes = b"a", *, prefix: bytes = b"", suffix: bytes = b"") -> bytes:
    """A gzip file of ``prefix``, ``fill`` repeated ``repeat`` times, then ``suffix``."""
    compressor = zlib.compressobj(9, zlib.DEFLATED, 31)  # wbits 31: a gzip header and trailer
    per_block = max(1, _BLOCK // len(fill))  # whole copies only: a line is never cut between blocks
    parts = [compressor.compress(prefix)]
    left = repeat
    while left > 0:
        count = min(left, per_block)
        parts.append(compressor.compress(fill * count))
        left -= count
    parts.append(compressor.compress(suffix))
    parts.append(compressor.flush())
    return b"".join(parts)
