"""The gateway's upstream client against a real local HTTP server: keep-alive, streaming, failures."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

import httptools
import pytest

from gateway.adapters.upstream_http import UpstreamError, UpstreamPool, UpstreamTimeout


@dataclass
class Received:
    method: bytes = b""
    url: bytes = b""
    headers: dict[bytes, bytes] = field(default_factory=dict)
    body: bytes = b""
    complete: bool = False

    def on_url(self, url: bytes) -> None:
        self.url += url

    def on_header(self, name: bytes, value: bytes) -> None:
        self.headers[name.lower()] = value

    def on_body(self, body: bytes) -> None:
        self.body += body

    def on_message_complete(self) -> None:
        self.complete = True


# Answers a request: gets what was received and the writer; returns whether to keep the connection.
Answer = Callable[[Received, asyncio.StreamWriter], Awaitable[bool]]


@asynccontextmanager
async def server(answer: Answer) -> AsyncIterator[tuple[str, list[int]]]:
    """An HTTP/1.1 server on a free port; yields its URL and the count of connections it accepted."""
    connections = [0]

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        connections[0] += 1
        try:
            while True:
                received = Received()
                parser = httptools.HttpRequestParser(received)
                while not received.complete:
                    data = await reader.read(65536)
                    if not data:
                        return
                    parser.feed_data(data)
                received.method = parser.get_method()
                if not await answer(received, writer):
                    return
        finally:
            writer.close()

    listening = await asyncio.start_server(handle, "127.0.0.1", 0)
    port = listening.sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}", connections
    finally:
        listening.close()


async def echo(received: Received, writer: asyncio.StreamWriter) -> bool:
    body = b"%b %b %d" % (received.method, received.url, len(received.body))
    writer.write(
        b"HTTP/1.1 200 OK\r\ncontent-length: %d\r\nx-seen: %b\r\n\r\n%b"
        % (len(body), received.headers.get(b"x-test", b"-"), body)
    )
    await writer.drain()
    return True


async def test_requests_reuse_one_kept_alive_connection() -> None:
    async with server(echo) as (url, connections):
        pool = UpstreamPool(url, timeout=5)
        answers = []
        for _ in range(3):
            response = await pool.request("GET", "/a?b=1", [(b"x-test", b"yes")])
            answers.append((response.status, dict(response.headers)[b"x-seen"], await response.read()))
        pool.close()
    assert answers == [(200, b"yes", b"GET /a?b=1 0")] * 3
    assert connections[0] == 1


async def test_a_streamed_body_of_unknown_length_goes_chunked() -> None:
    async def pieces() -> AsyncIterator[bytes]:
        for piece in (b"a" * 70_000, b"", b"b" * 5):
            yield piece

    async with server(echo) as (url, _):
        pool = UpstreamPool(url, timeout=5)
        response = await pool.request("POST", "/upload", [], pieces())
        body = await response.read()
        pool.close()
    assert body == b"POST /upload 70005"


async def test_a_chunked_answer_arrives_whole_and_in_order() -> None:
    async def chunked(received: Received, writer: asyncio.StreamWriter) -> bool:
        writer.write(b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n")
        for piece in (b"one,", b"two,", b"three"):
            writer.write(b"%x\r\n%b\r\n" % (len(piece), piece))
            await writer.drain()
            await asyncio.sleep(0.01)
        writer.write(b"0\r\n\r\n")
        return True

    async with server(chunked) as (url, _):
        pool = UpstreamPool(url, timeout=5)
        response = await pool.request("GET", "/", [])
        assert not response.complete
        body = await response.read()
        pool.close()
    assert body == b"one,two,three"


async def test_a_connection_the_upstream_dropped_while_idle_is_replaced_transparently() -> None:
    async def answer_once(received: Received, writer: asyncio.StreamWriter) -> bool:
        await echo(received, writer)
        return False  # hangs up without saying so, as a keep-alive timeout does

    async with server(answer_once) as (url, connections):
        pool = UpstreamPool(url, timeout=5)
        first = await (await pool.request("GET", "/1", [])).read()
        await asyncio.sleep(0.05)  # the server's close reaches us... or not yet: both must work
        second = await (await pool.request("POST", "/2", [], b"xyz")).read()
        pool.close()
    assert (first, second) == (b"GET /1 0", b"POST /2 3")
    assert connections[0] == 2


async def test_an_upstream_that_does_not_answer_in_time_is_a_timeout() -> None:
    async def silent(received: Received, writer: asyncio.StreamWriter) -> bool:
        await asyncio.sleep(5)
        return False

    async with server(silent) as (url, _):
        pool = UpstreamPool(url, timeout=0.2)
        with pytest.raises(UpstreamTimeout):
            await pool.request("GET", "/", [])
        pool.close()


async def test_an_upstream_that_is_down_is_an_error_not_a_hang() -> None:
    async with server(echo) as (url, _):
        pass  # closed: nothing listens on its port any more
    pool = UpstreamPool(url, timeout=5)
    with pytest.raises(UpstreamError):
        await pool.request("GET", "/", [])


async def test_connections_are_capped_and_freed_when_answers_are_read() -> None:
    async with server(echo) as (url, connections):
        pool = UpstreamPool(url, timeout=5, max_connections=2)
        first = await pool.request("GET", "/1", [])
        second = await pool.request("GET", "/2", [])
        third = asyncio.ensure_future(pool.request("GET", "/3", []))
        await asyncio.sleep(0.05)
        assert not third.done()  # waits for a free connection
        await first.read()
        assert await (await third).read() == b"GET /3 0"
        await second.read()
        pool.close()
    assert connections[0] == 2
