"""Settings of the ai service."""

from __future__ import annotations

from pydantic import AliasChoices, Field, SecretStr

from cdpkit.settings import ServiceSettings

GEMINI_OPENAI_URL = "https://generativelanguage.googleapis.com/v1beta/openai/"


class Settings(ServiceSettings):
    service_name: str = "ai"
    http_port: int = 8005

    # Any OpenAI-compatible endpoint; without a key the deterministic planner answers.
    openai_api_key: SecretStr | None = Field(
        default=None, validation_alias=AliasChoices("OPENAI_API_KEY", "AI_API_KEY")
    )
    openai_base_url: str = Field(
        default=GEMINI_OPENAI_URL, validation_alias=AliasChoices("OPENAI_BASE_URL", "AI_BASE_URL")
    )
    openai_model: str = Field(
        default="gemini-2.5-flash", validation_alias=AliasChoices("OPENAI_MODEL", "AI_MODEL")
    )
    ai_timeout_s: float = Field(default=30.0, gt=0)
    ai_max_retries: int = Field(default=2, ge=0, le=10)

    segmentation_url: str = "http://127.0.0.1:8003"
    catalog_url: str = "http://127.0.0.1:8006"
    ai_platform_timeout_s: float = Field(default=5.0, gt=0)
    ai_knowledge_ttl_s: float = Field(default=60.0, ge=0)
    ai_max_products: int = Field(default=2000, ge=0)
    # A model call may take minutes with its retries: few requests per poll keep the consumer in its group.
    ai_request_batch_size: int = Field(default=1, ge=1)
