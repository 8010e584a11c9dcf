"""The ai service's errors, each with a stable code, in the one error format."""

from __future__ import annotations

from cdpkit.errors import CdpError


class PromptRefused(CdpError):
    """The prompt could not be turned into any condition (the planner), so no draft is made."""

    status, code = 400, "prompt_not_understood"


class InvalidModelOutput(CdpError):
    """The model's answer was still not valid after its repair round."""

    status, code = 502, "ai_invalid_output"


class ProviderFailed(CdpError):
    """The model provider refused the call or answered with an error."""

    status, code = 502, "ai_provider_error"


class ProviderTimeout(CdpError):
    status, code = 504, "ai_timeout"


class ProviderRateLimited(CdpError):
    """The provider still answered 429 after the retries."""

    status, code = 503, "ai_rate_limited"
