"""Turning raw Kafka messages into typed events for handlers; unreadable ones are poison."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TypeVar

from pydantic import BaseModel, ValidationError

from cdpkit.consumer import Consumed, Handler, PoisonMessage

E = TypeVar("E", bound=BaseModel)


def typed_handler(model: type[E], handle: Callable[[E], Awaitable[str]]) -> Handler:
    """A consumer handler that parses the message with the contract's model, then calls `handle`."""

    async def handler(message: Consumed) -> str:
        try:
            event = model.model_validate_json(message.value)
        except ValidationError as error:
            raise PoisonMessage(f"not a valid {model.__name__}: {error}") from error
        return await handle(event)

    return handler
