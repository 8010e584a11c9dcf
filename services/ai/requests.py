"""Answering generation requests from Kafka: `ai.requested` in, `ai.responded` out, same correlation id.

A request that can never be read is dead-lettered. A generation that fails for a reason the caller
should know (a refused prompt, the provider's error) is answered with `outcome: "error"`; anything
unexpected is retried by the consumer policy, then dead-lettered. The answer's `event_id` is derived
from the request's, so a request delivered twice is answered with the same id (callers dedupe on it).
"""

from __future__ import annotations

from pydantic import ValidationError

from cdpkit.consumer import Consumed, Handler, PoisonMessage
from cdpkit.errors import CdpError
from cdpkit.kafka import Publisher, encode, standard_headers
from schemas.ai import AiRequested, AiResponded, AiResponse, GenerationError, ai_key
from schemas.envelope import utcnow
from schemas.topics import AI_RESPONSES
from services.ai.handlers import Deps, Origin, generate_campaign, generate_segment


async def answer(request: AiRequested, deps: Deps) -> AiResponse:
    """The response to one request: the draft, or the error the caller should see."""
    ask = request.payload
    origin = Origin(request.workspace_id, source="kafka", correlation_id=ask.correlation_id)
    base = {"correlation_id": ask.correlation_id, "kind": ask.kind}
    try:
        if ask.kind == "segment":
            return AiResponse(**base, outcome="ok", segment=await generate_segment(ask.prompt, origin, deps))
        draft = await generate_campaign(ask.prompt, ask.segment_id, origin, deps)
        return AiResponse(**base, outcome="ok", campaign=draft)
    except CdpError as error:
        failure = GenerationError(code=error.code, message=error.message, details=error.details)
        return AiResponse(**base, outcome="error", error=failure)


def request_handler(deps: Deps, publisher: Publisher) -> Handler:
    """The consumer's handler: parse, answer, publish the answer (acknowledged) before the offset moves."""

    async def handle(message: Consumed) -> str:
        try:
            request = AiRequested.model_validate_json(message.value)
        except ValidationError as error:
            raise PoisonMessage(f"not a valid ai.requested: {error}") from error
        response = await answer(request, deps)
        event = AiResponded(
            event_id=f"ai.responded:{request.event_id}",
            workspace_id=request.workspace_id,
            occurred_at=utcnow(),
            payload=response,
        )
        await publisher.publish(
            AI_RESPONSES.name,
            ai_key(request.workspace_id, request.payload.correlation_id),
            encode(event),
            standard_headers(event.type, event.event_id),
        )
        return response.outcome

    return handle
