"""The provider registry, as data.

Each provider is an OpenAI-compatible endpoint. Settings for a provider (base URL, model,
key) follow the config precedence in ``config.py``: ``<NAME>_BASE_URL``,
``<NAME>_DEFAULT_MODEL`` and ``<NAME>_API_KEY`` in the environment, or
``<name>.base_url`` / ``<name>.model`` / ``<name>.api_key`` in ``config.toml``.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Provider:
    name: str
    label: str
    base_url: str | None
    default_model: str | None
    needs_key: bool = True
    key_url: str | None = None  # where a user gets a key

    @property
    def env_prefix(self) -> str:
        return self.name.upper()

    @property
    def key_env(self) -> str:
        return f"{self.env_prefix}_API_KEY"

    @property
    def model_env(self) -> str:
        return f"{self.env_prefix}_DEFAULT_MODEL"

    @property
    def base_url_env(self) -> str:
        return f"{self.env_prefix}_BASE_URL"


PROVIDERS: dict[str, Provider] = {
    p.name: p
    for p in (
        Provider(
            "openrouter",
            "OpenRouter",
            "https://openrouter.ai/api/v1",
            "openai/gpt-oss-20b:free",
            key_url="https://openrouter.ai/keys",
        ),
        Provider(
            "groq",
            "Groq",
            "https://api.groq.com/openai/v1",
            "llama-3.3-70b-versatile",
            key_url="https://console.groq.com/keys",
        ),
        Provider(
            "gemini",
            "Gemini",
            "https://generativelanguage.googleapis.com/v1beta/openai/",
            "gemini-2.5-flash",
            key_url="https://aistudio.google.com/apikey",
        ),
        Provider(
            "openai",
            "OpenAI",
            "https://api.openai.com/v1",
            "gpt-4o",
            key_url="https://platform.openai.com/api-keys",
        ),
        Provider("ollama", "Ollama", "http://localhost:11434/v1", "llama3.2", needs_key=False),
        # Any OpenAI-compatible server: base URL and model come from --base-url / --model,
        # CUSTOM_BASE_URL / CUSTOM_DEFAULT_MODEL or custom.base_url / custom.model.
        Provider("custom", "OpenAI-compatible server", None, None, needs_key=False),
    )
}

DEFAULT_PROVIDER = "openrouter"


def get_provider(name: str) -> Provider:
    """Look a provider up by name; unknown names raise a UsageError naming the choices."""
    from .errors import UsageError

    try:
        return PROVIDERS[name.lower()]
    except KeyError:
        import difflib

        close = difflib.get_close_matches(name.lower(), PROVIDERS, n=1)
        hint = f"Did you mean '{close[0]}'? " if close else ""
        raise UsageError(
            f"Unknown provider '{name}'.",
            hint=f"{hint}Choose one of: {', '.join(PROVIDERS)}.",
        ) from None
