"""A lean HTTP/1.1 client for the gateway's upstreams: pooled keep-alive connections, streaming both ways.

Why not a general-purpose client: forwarding through httpx cost the gateway about 2 ms of CPU per
request, most of its budget. This client parses with httptools (the parser uvicorn uses) and does
only what a reverse proxy between our own services needs: plain HTTP/1.1 to a host and port we
configure, bodies of known length or chunked, no redirects, no cookies, no TLS.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import AsyncIterator
from typing import cast
from urllib.parse import urlsplit

import httptools

Headers = list[tuple[bytes, bytes]]
Body = bytes | AsyncIterator[bytes] | None
# uvicorn closes an idle keep-alive connection after 5 s; never reuse one that old.
KEEPALIVE_S = 4.0
# Stop reading from the upstream while this much answer waits for a slow client.
MAX_BUFFERED = 1024 * 1024


class UpstreamError(Exception):
    """The upstream could not be reached or did not answer properly."""


class UpstreamTimeout(UpstreamError):
    """The upstream did not answer within its timeout."""


class _Connection(asyncio.Protocol):
    """One keep-alive connection: writes a request, parses the answer as it arrives."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.parser = httptools.HttpResponseParser(self)
        self.closed = False
        self.idle_since = time.monotonic()
        self._writable = asyncio.Event()
        self._writable.set()
        self._reset()

    def _reset(self) -> None:
        self.status = 0
        self.headers: Headers = []
        self.chunks: deque[bytes] = deque()
        self.buffered = 0
        self.complete = False
        self.keep_alive = False
        self.error: UpstreamError | None = None
        self.answered = False  # any byte of the answer seen
        self._waiter: asyncio.Future[None] | None = None
        self._head: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    # asyncio.Protocol
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # uvloop's are not subclasses

    def data_received(self, data: bytes) -> None:
        self.answered = True
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserError:
            self._fail(UpstreamError("the upstream sent a malformed answer"))
            self.close()

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        self._writable.set()
        if not self.complete:
            self._fail(UpstreamError("the upstream closed the connection"))

    def pause_writing(self) -> None:
        self._writable.clear()

    def resume_writing(self) -> None:
        self._writable.set()

    # httptools callbacks
    def on_header(self, name: bytes, value: bytes) -> None:
        self.headers.append((name.lower(), value))

    def on_headers_complete(self) -> None:
        self.status = self.parser.get_status_code()
        if not self._head.done():
            self._head.set_result(None)

    def on_body(self, body: bytes) -> None:
        self.chunks.append(body)
        self.buffered += len(body)
        if self.buffered > MAX_BUFFERED and self.transport is not None:
            self.transport.pause_reading()
        self._wake()

    def on_message_complete(self) -> None:
        self.complete = True
        self.keep_alive = self.parser.should_keep_alive()  # asked later, the parser says False
        self._wake()

    # used by the pool and the response
    def _fail(self, error: UpstreamError) -> None:
        if self.error is None:
            self.error = error
        if not self._head.done():
            self._head.set_exception(error)
            self._head.exception()  # marks it retrieved: whoever awaits it still gets the error
        self._wake()

    def _wake(self) -> None:
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_result(None)

    def reusable(self) -> bool:
        return not self.closed and self.complete and self.keep_alive

    def close(self) -> None:
        self.closed = True
        if self.transport is not None:
            self.transport.close()

    async def send(self, head: bytes, body: Body, chunked: bool) -> None:
        assert self.transport is not None
        if body is None or isinstance(body, bytes):
            self.transport.write(head + body if body else head)
            return
        self.transport.write(head)
        async for piece in body:
            if self.closed:
                return  # the upstream answered early and hung up: its answer is what counts
            if piece:
                self.transport.write(b"%x\r\n%b\r\n" % (len(piece), piece) if chunked else piece)
            if not self._writable.is_set():
                await self._writable.wait()
        if chunked and not self.closed:
            self.transport.write(b"0\r\n\r\n")

    async def head(self, limit_s: float) -> None:
        timer = asyncio.get_running_loop().call_later(limit_s, self._timed_out, "did not answer in time")
        try:
            await self._head
        finally:
            timer.cancel()

    async def next_chunks(self, limit_s: float) -> list[bytes] | None:
        """The body bytes that arrived since the last call; None once the answer is complete."""
        while not self.chunks:
            if self.complete:
                return None
            if self.error is not None:
                raise self.error
            self._waiter = asyncio.get_running_loop().create_future()
            timer = asyncio.get_running_loop().call_later(
                limit_s, self._timed_out, "stopped sending its answer"
            )
            try:
                await self._waiter
            finally:
                timer.cancel()
        pieces = list(self.chunks)
        self.chunks.clear()
        if self.buffered > MAX_BUFFERED and self.transport is not None and not self.closed:
            self.transport.resume_reading()
        self.buffered = 0
        return pieces

    def _timed_out(self, what: str) -> None:
        self._fail(UpstreamTimeout(f"the upstream {what}"))
        self.close()


class UpstreamResponse:
    """An answer whose head has arrived; read or stream its body, then it goes back to the pool."""

    def __init__(self, pool: UpstreamPool, connection: _Connection) -> None:
        self.pool = pool
        self.connection = connection
        self.status = connection.status
        self.headers = connection.headers
        self._released = False

    @property
    def complete(self) -> bool:
        """The whole body has arrived (though not necessarily been taken yet)."""
        return self.connection.complete

    async def next_chunks(self) -> list[bytes] | None:
        """The body pieces that arrived since the last call; None once all were taken."""
        return await self.connection.next_chunks(self.pool.timeout)

    async def read(self) -> bytes:
        """The whole body; the connection goes back to the pool."""
        try:
            body = bytearray()
            while (pieces := await self.next_chunks()) is not None:
                for piece in pieces:
                    body += piece
            return bytes(body)
        finally:
            self.release()

    def release(self) -> None:
        if not self._released:
            self._released = True
            self.pool.release(self.connection)


class UpstreamPool:
    """Keep-alive connections to one upstream (http://host:port), at most `max_connections` at once."""

    def __init__(
        self, url: str, *, timeout: float, connect_timeout: float = 2.0, max_connections: int = 200
    ) -> None:
        parts = urlsplit(url)
        if parts.scheme != "http" or not parts.hostname:
            raise ValueError(f"upstream URL must be http://host:port, not {url!r}")
        self.host, self.port = parts.hostname, parts.port or 80
        self.host_header = parts.netloc.encode()
        self.timeout = timeout
        self.connect_timeout = connect_timeout
        self._slots = asyncio.Semaphore(max_connections)
        self._idle: list[_Connection] = []

    async def request(
        self, method: str, target: str, headers: Headers, body: Body = None, length: int | None = None
    ) -> UpstreamResponse:
        """Send a request; the answer once its head arrived. `length` is the streamed body's, if known."""
        await self._slots.acquire()
        try:
            return await self._request(method, target, headers, body, length)
        except BaseException:
            self._slots.release()
            raise

    async def _request(
        self, method: str, target: str, headers: Headers, body: Body, length: int | None
    ) -> UpstreamResponse:
        chunked = body is not None and not isinstance(body, bytes) and length is None
        lines = [b"%b %b HTTP/1.1\r\nhost: %b\r\n" % (method.encode(), target.encode(), self.host_header)]
        lines += [b"%b: %b\r\n" % (name, value) for name, value in headers]
        if isinstance(body, bytes):
            lines.append(b"content-length: %d\r\n" % len(body))
        elif length is not None:
            lines.append(b"content-length: %d\r\n" % length)
        elif body is not None:
            lines.append(b"transfer-encoding: chunked\r\n")
        lines.append(b"\r\n")
        head = b"".join(lines)
        # A kept-alive connection may have been closed by the upstream meanwhile: a request whose
        # body can be sent again is retried once on a new connection if nothing was answered.
        replayable = body is None or isinstance(body, bytes)
        for attempt in (1, 2):
            connection, reused = await self._connection()
            try:
                await connection.send(head, body, chunked)
                await connection.head(self.timeout)
            except UpstreamTimeout:
                raise
            except UpstreamError:
                connection.close()
                if reused and replayable and not connection.answered and attempt == 1:
                    continue
                raise
            return UpstreamResponse(self, connection)
        raise AssertionError("unreachable")

    async def _connection(self) -> tuple[_Connection, bool]:
        now = time.monotonic()
        while self._idle:
            connection = self._idle.pop()
            if not connection.closed and now - connection.idle_since < KEEPALIVE_S:
                connection._reset()
                return connection, True
            connection.close()
        loop = asyncio.get_running_loop()
        try:
            _, connection = await asyncio.wait_for(
                loop.create_connection(_Connection, self.host, self.port), self.connect_timeout
            )
        except TimeoutError:
            raise UpstreamTimeout("could not connect to the upstream in time") from None
        except OSError as error:
            raise UpstreamError(f"could not connect to the upstream: {error}") from error
        return connection, False

    def release(self, connection: _Connection) -> None:
        self._slots.release()
        if connection.reusable():
            connection.idle_since = time.monotonic()
            self._idle.append(connection)
        else:
            connection.close()

    async def get(self, path: str, limit_s: float) -> tuple[int, bytes]:
        """A whole GET answer: status and body (for cold paths: OpenAPI documents, readiness)."""
        async with asyncio.timeout(limit_s):
            response = await self.request("GET", path, [])
            return response.status, await response.read()

    def close(self) -> None:
        for connection in self._idle:
            connection.close()
        self._idle.clear()
