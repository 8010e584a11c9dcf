"""Ingest's Redis client: redis-py, with commands packed by hiredis (C) rather than in Python.

redis-py's asyncio connection packs a command in Python, re-joining its buffer after each
argument, and hands the socket a list of pieces: for a dedupe script call with hundreds of keys
that came to ~15 % of ingest's CPU (py-spy). hiredis, already installed for parsing replies,
packs the same bytes in one C call.
"""

from __future__ import annotations

from typing import Any

import hiredis
from redis.asyncio import Connection, Redis


class HiredisPackedConnection(Connection):
    def pack_command(self, *args: Any) -> list[bytes]:
        # As redis-py does, a command name given with its subcommand ("SCRIPT LOAD") is split.
        if isinstance(args[0], str) and " " in args[0]:
            args = (*args[0].split(), *args[1:])
        return [hiredis.pack_command(args)]


def connect(url: str) -> Redis:
    """A client for `url` whose TCP connections pack commands with hiredis."""
    redis = Redis.from_url(url)
    if redis.connection_pool.connection_class is Connection:  # not a TLS or Unix-socket one
        redis.connection_pool.connection_class = HiredisPackedConnection
    return redis
