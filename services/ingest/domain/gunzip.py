"""Gzip data fed in pieces, decompressed in bounded pieces. Pure: no I/O.

An upload may be a gzip file (`orders.csv.gz`) or a body sent with `Content-Encoding: gzip`; either
way the bytes arrive in arbitrary pieces and are never held whole. Output comes in pieces of at
most `PIECE` bytes, and its total is bounded, so a small "zip bomb" cannot fill the memory.
Concatenated members (what `cat a.gz b.gz` makes) are read as one stream, as `gunzip` does.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterator

MAGIC = b"\x1f\x8b"
PIECE = 1024 * 1024
_GZIP = 16 + zlib.MAX_WBITS  # a gzip header and trailer, not a bare deflate stream


class GzipError(ValueError):
    """The data is not gzip, or it ends before its last member does."""


class TooLarge(ValueError):
    """The decompressed data is over the limit."""


class Gunzip:
    def __init__(self, max_output: int) -> None:
        self.max_output = max_output
        self.output = 0  # bytes decompressed so far
        self._stream = zlib.decompressobj(_GZIP)
        self._fed = False

    def feed(self, data: bytes) -> Iterator[bytes]:
        """The decompressed bytes `data` completes, in pieces of at most `PIECE` bytes."""
        while data:
            if self._stream.eof:  # the previous member ended: another one starts here
                self._stream = zlib.decompressobj(_GZIP)
            self._fed = True
            try:
                piece = self._stream.decompress(data, PIECE)
            except zlib.error as error:
                raise GzipError(f"the gzip data is corrupt ({error})") from error
            data = self._stream.unused_data if self._stream.eof else self._stream.unconsumed_tail
            if piece:
                self.output += len(piece)
                if self.output > self.max_output:
                    raise TooLarge(f"the decompressed data is over {self.max_output} bytes")
                yield piece

    def close(self) -> bytes:
        """The last decompressed bytes; refuses the data if its last member did not end."""
        try:
            rest = self._stream.flush() if not self._stream.eof else b""
        except zlib.error as error:
            raise GzipError(f"the gzip data is corrupt ({error})") from error
        self.output += len(rest)
        if self.output > self.max_output:
            raise TooLarge(f"the decompressed data is over {self.max_output} bytes")
        if self._fed and not self._stream.eof:
            raise GzipError("the gzip data ends before its end: the file is cut")
        return rest


def gunzip(data: bytes, max_output: int) -> bytes:
    """`data` decompressed whole, refused (`TooLarge`) as soon as it passes `max_output` bytes."""
    stream = Gunzip(max_output)
    return b"".join([*stream.feed(data), stream.close()])
