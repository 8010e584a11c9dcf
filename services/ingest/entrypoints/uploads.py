"""An uploaded file read as it arrives: a raw `text/csv` body, or the file part of a multipart form.

`await request.form()` would spool the whole file first; python-multipart's streaming parser hands
over the file part's bytes chunk by chunk instead, and the other parts are ignored.
"""

from __future__ import annotations

import posixpath
from collections.abc import AsyncIterator

from python_multipart import MultipartParser
from python_multipart.exceptions import MultipartParseError
from python_multipart.multipart import parse_options_header
from starlette.requests import ClientDisconnect, Request

from cdpkit.errors import CdpError, InvalidInput, PayloadTooLarge
from services.ingest.domain.gunzip import MAGIC, Gunzip, GzipError, TooLarge
from services.ingest.imports import UploadInterrupted

RAW_TYPES = ("text/csv", "application/csv", "text/plain", "application/octet-stream")


class UnsupportedMediaType(CdpError):
    status, code = 415, "unsupported_media_type"


def clean_filename(name: str | None) -> str | None:
    """The file's base name, storable and at most 255 characters (clients may send a whole path)."""
    if not name:
        return None
    base = posixpath.basename(name.replace("\\", "/")).replace("\x00", "")
    base = base.encode("utf-8", "replace").decode("utf-8")[:255]
    return base or None


class _FilePart:
    """Feeds a multipart body to the streaming parser and keeps only the first file part's bytes."""

    def __init__(self, boundary: bytes) -> None:
        self.filename: str | None = None
        self.out: list[bytes] = []
        self._headers: dict[bytes, bytes] = {}
        self._field = self._value = b""
        self._in_file = self._file_done = False
        self.ended = False  # the closing boundary was seen
        self._parser = MultipartParser(
            boundary,
            callbacks={
                "on_part_begin": self._headers.clear,
                "on_header_field": self._on_field,
                "on_header_value": self._on_value,
                "on_header_end": self._on_header_end,
                "on_headers_finished": self._on_headers_finished,
                "on_part_data": self._on_data,
                "on_part_end": self._on_part_end,
                "on_end": self._on_end,
            },
        )

    def write(self, chunk: bytes) -> list[bytes]:
        try:
            self._parser.write(chunk)
        except MultipartParseError as error:
            raise InvalidInput(f"the multipart body is malformed: {error}") from error
        out, self.out = self.out, []
        return out

    def _on_field(self, data: bytes, start: int, end: int) -> None:
        self._field += data[start:end]

    def _on_value(self, data: bytes, start: int, end: int) -> None:
        self._value += data[start:end]

    def _on_header_end(self) -> None:
        self._headers[self._field.strip().lower()] = self._value.strip()
        self._field = self._value = b""

    def _on_headers_finished(self) -> None:
        _, options = parse_options_header(self._headers.get(b"content-disposition", b""))
        if b"filename" in options and not self._file_done:
            self._in_file = True
            self.filename = clean_filename(options[b"filename"].decode("utf-8", "replace")) or "upload.csv"

    def _on_data(self, data: bytes, start: int, end: int) -> None:
        if self._in_file:
            self.out.append(data[start:end])

    def _on_part_end(self) -> None:
        if self._in_file:
            self._in_file, self._file_done = False, True

    def _on_end(self) -> None:
        self.ended = True


class Upload:
    """The file of a request: `start()` reads until its name is known, then iterate its bytes.

    A gzip file (`orders.csv.gz`, told by its first bytes) and a body sent with
    `Content-Encoding: gzip` are decompressed as they stream; `max_bytes` bounds both what arrives
    and what it decompresses to.
    """

    def __init__(self, request: Request, max_bytes: int, filename: str | None) -> None:
        self.request = request
        self.max_bytes = max_bytes
        self.filename = clean_filename(filename)
        self._received = 0
        self._stream = request.stream()
        self._part: _FilePart | None = None
        self._first: list[bytes] = []
        content_type, options = parse_options_header(request.headers.get("content-type", ""))
        if content_type == b"multipart/form-data":
            boundary = options.get(b"boundary")
            if not boundary:
                raise InvalidInput("a multipart/form-data body needs a boundary")
            self._part = _FilePart(boundary)
        elif content_type.decode("latin-1") not in RAW_TYPES:
            raise UnsupportedMediaType(
                "upload the file as text/csv, or as the file field of multipart/form-data",
                details={"accepted": [*RAW_TYPES, "multipart/form-data"]},
            )
        encoding = request.headers.get("content-encoding", "identity").strip().lower()
        if encoding not in ("identity", "gzip"):
            raise UnsupportedMediaType(
                f"content-encoding {encoding!r} is not supported; send the body as is, or gzip it",
                details={"accepted_encodings": ["identity", "gzip"]},
            )
        raw = self._raw()
        self._body = self._gunzip(raw) if encoding == "gzip" else raw

    async def start(self) -> None:
        """For a multipart body, read until the file part begins (its name is the job's filename)."""
        part = self._part
        if part is None:
            return
        while part.filename is None:
            chunk = await anext(self._body, None)
            if chunk is None:
                raise InvalidInput("the multipart body has no file part")
            self._first += part.write(chunk)
        self.filename = self.filename or part.filename

    async def chunks(self) -> AsyncIterator[bytes]:
        """The file's bytes as they arrive, decompressed if the file is gzip."""
        file = self._file()
        head = b""
        async for chunk in file:
            head += chunk
            if len(head) >= len(MAGIC):
                break

        async def whole() -> AsyncIterator[bytes]:
            if head:
                yield head
            async for chunk in file:
                yield chunk

        async for chunk in self._gunzip(whole()) if head.startswith(MAGIC) else whole():
            yield chunk

    async def drain(self) -> None:
        """Read and drop the rest of the body, so the answer is not sent while the client still sends."""
        try:
            while await self._next_raw() is not None:
                pass
        except (CdpError, UploadInterrupted):
            pass

    async def _file(self) -> AsyncIterator[bytes]:
        """The file's bytes as sent: the body, or the file part of a multipart body."""
        for chunk in self._first:
            yield chunk
        self._first = []
        async for body in self._body:
            if self._part is None:
                yield body
            else:
                for chunk in self._part.write(body):
                    yield chunk
        if self._part is not None and not self._part.ended:
            raise InvalidInput("the multipart body ends before its closing boundary: the upload is cut")

    async def _gunzip(self, source: AsyncIterator[bytes]) -> AsyncIterator[bytes]:
        gunzip = Gunzip(self.max_bytes)
        try:
            async for data in source:
                for piece in gunzip.feed(data):
                    yield piece
            last = gunzip.close()
        except GzipError as error:
            raise InvalidInput(f"the file is not valid gzip: {error}") from error
        except TooLarge as error:
            raise PayloadTooLarge(
                f"the file is over the {self.max_bytes} byte import limit once decompressed",
                details={"limit_bytes": self.max_bytes},
            ) from error
        if last:
            yield last

    async def _raw(self) -> AsyncIterator[bytes]:
        while (chunk := await self._next_raw()) is not None:
            yield chunk

    async def _next_raw(self) -> bytes | None:
        try:
            chunk = await self._stream.__anext__()
        except StopAsyncIteration:
            return None
        except ClientDisconnect as error:
            raise UploadInterrupted() from error
        self._received += len(chunk)
        if self._received > self.max_bytes:
            raise PayloadTooLarge(
                f"the file is over the {self.max_bytes} byte import limit",
                details={"limit_bytes": self.max_bytes},
            )
        return chunk
