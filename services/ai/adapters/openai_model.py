"""A chat model behind any OpenAI-compatible endpoint, through the official `openai` SDK.

Structured output: the request carries the answer's JSON Schema (`response_format: json_schema`). The
SDK retries connection errors, 429 and 5xx itself (`max_retries`, honouring `Retry-After`) within the
timeout; what still fails becomes one of the service's errors with a clear message.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import openai

from services.ai.errors import ProviderFailed, ProviderRateLimited, ProviderTimeout


@dataclass(frozen=True)
class Completion:
    """The model's text and the tokens the provider counted."""

    text: str
    prompt_tokens: int | None
    completion_tokens: int | None


class OpenAIModel:
    """One configured model; `complete` sends messages and returns its answer."""

    provider = "openai"

    def __init__(self, api_key: str, base_url: str, model: str, timeout_s: float, max_retries: int) -> None:
        self.model = model
        self.base_url = base_url
        self._client = openai.AsyncOpenAI(
            api_key=api_key, base_url=base_url, timeout=timeout_s, max_retries=max_retries
        )

    async def complete(self, messages: list[dict[str, str]], name: str, schema: dict[str, Any]) -> Completion:
        """The model's answer to the messages, asked to match `schema`."""
        request: dict[str, Any] = {
            "model": self.model,
            "messages": messages,
            "response_format": {
                "type": "json_schema",
                "json_schema": {"name": name, "schema": schema, "strict": False},
            },
            "temperature": 0.2,
        }
        try:
            answer = await self._client.chat.completions.create(**request)
        except openai.APITimeoutError as error:
            raise ProviderTimeout(f"the model at {self.base_url} did not answer in time") from error
        except openai.RateLimitError as error:
            raise ProviderRateLimited(
                "the model provider is rate limiting this key (429) after retries; try again later",
                details={"provider_message": _message(error)},
            ) from error
        except openai.APIStatusError as error:
            raise ProviderFailed(
                f"the model provider answered HTTP {error.status_code}",
                details={"provider_message": _message(error)},
            ) from error
        except openai.APIConnectionError as error:
            raise ProviderFailed(f"the model provider at {self.base_url} is unreachable") from error
        if not answer.choices or answer.choices[0].message.content is None:
            raise ProviderFailed("the model returned no content")
        usage = answer.usage
        return Completion(
            answer.choices[0].message.content,
            usage.prompt_tokens if usage else None,
            usage.completion_tokens if usage else None,
        )

    async def close(self) -> None:
        await self._client.close()


def _message(error: openai.APIStatusError) -> str:
    return str(error.message)[:500]
