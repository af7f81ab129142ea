"""The state of an interactive chat session: what slash commands read and change.

``ChatState`` holds the settings, the provider and model in use, the conversation (the
agent's ``ChatSession`` once the first turn made one, or the one to continue), the
session's token and cost totals and the reasoning switch. The prompt, the turns and the
slash commands all work on it; ``Session`` names what slash commands use of a running
session besides it (console, store, questions), so ``slash.py`` needs nothing from
``repl.py``.

Standard library only at import time.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any, Protocol

from .errors import TodoError

if TYPE_CHECKING:
    from .events import TurnEnd


class SessionTotals:
    """Tokens and cost of this session, for the toolbar and /usage."""

    def __init__(self) -> None:
        self.turns = 0
        self.input_tokens = 0
        self.output_tokens = 0
        self.cost: float | None = None  # None until a provider reports one
        self.models: dict[str, int] = {}

    def add(self, end: TurnEnd) -> None:
        self.turns += 1
        self.input_tokens += end.usage.input_tokens or 0
        self.output_tokens += end.usage.output_tokens or 0
        if end.usage.cost is not None:
            self.cost = (self.cost or 0.0) + end.usage.cost
        if end.model:
            self.models[end.model] = self.models.get(end.model, 0) + 1


def format_tokens(n: int) -> str:
    """1234 -> "1.2k", 999 -> "999"."""
    if n >= 1_000_000:
        return f"{n / 1_000_000:.1f}M"
    if n >= 1000:
        return f"{n / 1000:.1f}k"
    return str(n)


def format_cost(cost: float) -> str:
    """USD with enough digits for small amounts: $0.0012, $1.25."""
    if cost == 0:
        return "$0"
    if cost < 0.01:
        return f"${cost:.4f}"
    return f"${cost:.2f}"


class ChatState:
    """Provider, model, conversation and totals of one interactive session.

    ``provider_flag`` and ``list_flag`` are the command line's (they win over settings each
    time settings are re-read); ``settings`` may be given (tests), else they are loaded.
    """

    def __init__(
        self,
        *,
        provider: str | None = None,
        model: str | None = None,
        base_url: str | None = None,
        conversation_id: str | None = None,
        continue_latest: bool = False,
        settings: Any = None,
        list_name: str | None = None,
    ) -> None:
        self.provider_flag = provider
        self.list_flag = list_name
        self.base_url = base_url
        self.pending_conversation = conversation_id
        self.continue_latest = continue_latest
        self.settings = settings if settings is not None else self.load_settings()
        self.show_reasoning = bool(self.settings.show_reasoning)
        self.provider = provider or self.settings.provider
        self.model_choice = model
        self.chat: Any = None  # the agent's ChatSession, created for the first turn
        self.totals = SessionTotals()
        # Changes made here (slash commands, agent turns) carry this id in the journal, so
        # /undo can tell this session's changes from other terminals' and ask for those.
        self.session_id = os.urandom(6).hex()
        self.model_id_cache: dict[str, list[str]] = {}

    # -- settings ---------------------------------------------------------------------

    def load_settings(self) -> Any:
        from .config import load_settings

        return load_settings({"provider": self.provider_flag, "list": self.list_flag})

    def reload_settings(self) -> None:
        """Re-read settings (after a key or setting was stored)."""
        self.settings = self.load_settings()

    # -- provider, model, conversation ------------------------------------------------

    @property
    def provider_name(self) -> str:
        if self.chat is not None:
            return str(self.chat.provider_name)
        return self.provider

    @property
    def model(self) -> str | None:
        if self.chat is not None:
            return str(self.chat.model)
        if self.model_choice:
            return self.model_choice
        try:
            return self.settings.provider_config(self.provider).model
        except TodoError:
            return None

    @property
    def conversation_label(self) -> str:
        if self.chat is not None and getattr(self.chat, "conversation_id", None):
            return str(self.chat.conversation_id)
        if self.pending_conversation:
            return self.pending_conversation
        if self.continue_latest:
            return "latest"
        return "new"

    def provider_config(self, name: str | None = None) -> Any:
        return self.settings.provider_config(name or self.provider_name)

    def has_key(self) -> bool:
        """True when the current provider has a key or needs none."""
        try:
            cfg = self.provider_config()
        except TodoError:
            return False
        return bool(cfg.api_key) or not cfg.provider.needs_key

    def key_hint(self) -> str:
        """How to get and set a key for the current provider."""
        cfg = self.provider_config()
        p = cfg.provider
        lines = [f"No API key for {p.label}."]
        if p.key_url:
            free = " (free)" if p.name == "openrouter" else ""
            lines.append(f"Get one{free} at {p.key_url}, then type /key to paste it here,")
        else:
            lines.append("Type /key to paste one,")
        lines.append(f"or set {p.key_env} / run `todo config set {p.name}.api_key`.")
        return " ".join(lines)

    def key_changed(self) -> None:
        """A key was stored: the next turn builds its client with it."""
        if self.chat is not None:
            from .conversations import get_conversation

            conversation = getattr(self.chat, "conversation_id", None)
            stored = conversation and get_conversation(conversation) is not None
            self.pending_conversation = conversation if stored else None
            self.provider = str(self.chat.provider_name)
            self.model_choice = str(self.chat.model)
            self.chat = None

    def model_ids(self) -> list[str]:
        """Model ids of the current provider from the cached catalog (no network)."""
        name = self.provider_name
        if name not in self.model_id_cache:
            ids: list[str] = []
            try:
                from .catalog import cached_catalog

                catalog = cached_catalog(self.settings, provider=name, base_url=self.base_url)
                if catalog is not None:
                    ids = sorted(m.id for m in catalog.models)
            except Exception:
                pass
            self.model_id_cache[name] = ids
        return self.model_id_cache[name]

    def set_model(self, model: str) -> None:
        self.model_choice = model
        if self.chat is not None:
            self.chat.set_model(model)

    def set_provider(self, name: str) -> None:
        from .providers import get_provider

        provider = get_provider(name)  # UsageError for unknown names
        self.provider = provider.name
        self.model_choice = None
        self.base_url = None  # a --base-url belonged to the previous provider
        if self.chat is not None:
            self.chat.set_provider(provider.name)

    def new_conversation(self) -> str | None:
        self.pending_conversation = None
        self.continue_latest = False
        if self.chat is not None:
            return str(self.chat.new_conversation())
        return None

    def resume(self, conversation_id: str) -> None:
        if self.chat is not None:
            self.chat.resume(conversation_id)
        else:
            self.pending_conversation = conversation_id
            self.continue_latest = False


class Session(Protocol):
    """What slash commands use of a running session (``repl.Repl`` is one)."""

    state: ChatState
    settings: Any
    show_reasoning: bool

    @property
    def totals(self) -> SessionTotals: ...
    @property
    def session_id(self) -> str: ...
    @property
    def console(self) -> Any: ...
    @property
    def store(self) -> Any: ...
    @property
    def provider_name(self) -> str: ...
    @property
    def model(self) -> str | None: ...
    @property
    def conversation_label(self) -> str: ...

    def provider_config(self, name: str | None = None) -> Any: ...
    def has_key(self) -> bool: ...
    def key_hint(self) -> str: ...
    def key_changed(self) -> None: ...
    def reload_settings(self) -> None: ...
    def model_ids(self) -> list[str]: ...
    def set_model(self, model: str) -> None: ...
    def set_provider(self, name: str) -> None: ...
    def new_conversation(self) -> str | None: ...
    def resume(self, conversation_id: str) -> None: ...
    def refresh_stats(self) -> None: ...
    def print_resumed(self, conversation_id: str) -> None: ...
    async def ask(self, message: str, *, password: bool = False) -> str: ...
