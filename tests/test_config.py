"""config.py: data locations, settings precedence, validation, the config file and masking."""

from __future__ import annotations

import os
import stat
import sys
from pathlib import Path

import pytest

from todo_cli import config
from todo_cli.config import (
    SETTINGS,
    Paths,
    get_paths,
    get_setting,
    load_settings,
    mask_secret,
    read_config_file,
    set_value,
    unset_value,
)
from todo_cli.errors import ConfigError, ExitCode, ProviderError, UsageError
from todo_cli.providers import PROVIDERS

posix_only = pytest.mark.skipif(os.name != "posix", reason="file modes are POSIX-only")

KEY = "sk-or-v1-0e6" + "a1b2c3d4" * 6 + "e5f6"  # 64 chars, fake


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def write_config(home: Path, text: str) -> Path:
    path = home / "config" / "config.toml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


# --------------------------------------------------------------------------- paths


def test_todo_home_puts_everything_under_it(todo_home: Path) -> None:
    paths = get_paths()
    assert paths == Paths(
        todo_home / "config", todo_home / "data", todo_home / "cache", todo_home / "state"
    )
    assert paths.config_file == todo_home / "config" / "config.toml"
    assert paths.db_file == todo_home / "data" / "todo.db"
    assert paths.history_file == todo_home / "state" / "history"


def test_relative_todo_home_is_made_absolute(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TODO_HOME", "rel-home")
    assert get_paths().config_dir == Path.cwd() / "rel-home" / "config"


def test_todo_home_from_dotenv(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("TODO_HOME")
    Path(".env").write_text(f"TODO_HOME={tmp_path / 'from-dotenv'}\n")
    assert get_paths().data_dir == tmp_path / "from-dotenv" / "data"
    assert "TODO_HOME" not in os.environ


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="XDG layout is Linux's")
def test_default_paths_follow_platformdirs(monkeypatch: pytest.MonkeyPatch, tmp_path: Path):
    monkeypatch.delenv("TODO_HOME")
    for kind in ("CONFIG", "DATA", "CACHE", "STATE"):
        monkeypatch.setenv(f"XDG_{kind}_HOME", str(tmp_path / kind.lower()))
    paths = get_paths()
    assert paths.config_file == tmp_path / "config" / "todo-cli" / "config.toml"
    assert paths.db_file == tmp_path / "data" / "todo-cli" / "todo.db"
    assert paths.cache_dir == tmp_path / "cache" / "todo-cli"
    assert paths.history_file == tmp_path / "state" / "todo-cli" / "history"


@posix_only
def test_ensure_creates_private_dirs(todo_home: Path) -> None:
    todo_home.rmdir()
    old = os.umask(0o022)
    try:
        paths = get_paths().ensure()
    finally:
        os.umask(old)
    assert mode(todo_home) == 0o700
    for directory in (paths.config_dir, paths.data_dir, paths.cache_dir, paths.state_dir):
        assert directory.is_dir()
        assert mode(directory) == 0o700
    assert paths.ensure() is paths  # idempotent


# --------------------------------------------------------------------------- registry


def test_registry_covers_every_provider() -> None:
    for name, provider in PROVIDERS.items():
        assert SETTINGS[f"{name}.api_key"].secret
        assert SETTINGS[f"{name}.api_key"].env == provider.key_env
        assert SETTINGS[f"{name}.model"].env == f"{name.upper()}_DEFAULT_MODEL"
        assert SETTINGS[f"{name}.base_url"].default == provider.base_url
    assert SETTINGS["provider"].env == "LLM_PROVIDER"
    assert SETTINGS["openrouter.fallback_models"].type == "list"
    assert all(s.help for s in SETTINGS.values())


@pytest.mark.parametrize(
    ("typo", "expected"),
    [
        ("openrouter.apikey", "openrouter.api_key"),
        ("groq.modle", "groq.model"),
        ("show-reasoning", "show_reasoning"),
        ("apikey", "openrouter.api_key"),
        ("timezon", "timezone"),
    ],
)
def test_unknown_key_names_the_nearest(typo: str, expected: str) -> None:
    with pytest.raises(UsageError) as info:
        get_setting(typo)
    assert info.value.message == f"Unknown setting '{typo}'. Did you mean '{expected}'?"
    assert info.value.exit_code == ExitCode.USAGE


def test_unknown_key_without_a_near_one() -> None:
    with pytest.raises(UsageError) as info:
        get_setting("zzz")
    assert info.value.message == "Unknown setting 'zzz'."
    assert "todo config show" in info.value.hint


# --------------------------------------------------------------------------- precedence


def test_defaults() -> None:
    s = load_settings()
    assert s.provider == "openrouter"
    assert s.source("provider") == "default"
    assert s.show_reasoning is False
    assert s.get("models.cache_ttl_hours") == 24.0
    assert s.get("openrouter.model") == PROVIDERS["openrouter"].default_model
    assert s.get("openrouter.fallback_models") == []
    assert s.get("groq.api_key") is None
    assert len(s.items()) == len(SETTINGS)


LAYERS = ["default", "config", ".env", "env", "flag"]


@pytest.mark.parametrize("top", LAYERS)
def test_precedence_each_layer_wins_over_the_ones_below(
    top: str, todo_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Fill every layer up to `top` with a different model; the highest one wins."""
    upto = LAYERS[: LAYERS.index(top) + 1]
    overrides = None
    if "config" in upto:
        write_config(todo_home, '[groq]\nmodel = "from-config"\n')
    if ".env" in upto:
        Path(".env").write_text("GROQ_DEFAULT_MODEL=from-dotenv\n")
    if "env" in upto:
        monkeypatch.setenv("GROQ_DEFAULT_MODEL", "from-env")
    if "flag" in upto:
        overrides = {"groq.model": "from-flag"}
    s = load_settings(overrides)
    expected = {
        "default": PROVIDERS["groq"].default_model,
        "config": "from-config",
        ".env": "from-dotenv",
        "env": "from-env",
        "flag": "from-flag",
    }[top]
    assert s.get("groq.model") == expected
    assert s.source("groq.model") == top


def test_dotenv_never_overrides_or_mutates_the_real_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("OPENROUTER_API_KEY", "real-env-key-0123456789")
    Path(".env").write_text(
        "OPENROUTER_API_KEY=dotenv-key-0123456789\nLLM_PROVIDER=groq\nGROQ_API_KEY=gsk_dotenv\n"
    )
    s = load_settings()
    assert s.get("openrouter.api_key") == "real-env-key-0123456789"
    assert s.source("openrouter.api_key") == "env"
    assert s.provider == "groq"
    assert s.source("provider") == ".env"
    assert s.provider_config().key_source == ".env"
    assert "LLM_PROVIDER" not in os.environ
    assert "GROQ_API_KEY" not in os.environ


def test_empty_values_count_as_unset(monkeypatch: pytest.MonkeyPatch, todo_home: Path) -> None:
    write_config(todo_home, 'provider = "gemini"\n')
    monkeypatch.setenv("LLM_PROVIDER", "")
    Path(".env").write_text("LLM_PROVIDER=\n")
    s = load_settings({"provider": None})
    assert (s.provider, s.source("provider")) == ("gemini", "config")


def test_overrides_reject_unknown_keys() -> None:
    with pytest.raises(UsageError, match="Did you mean 'groq.model'"):
        load_settings({"groq.modle": "x"})


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("true", True), ("YES", True), ("1", True), ("on", True)]
    + [("false", False), ("no", False), ("0", False), ("Off", False)],
)
def test_bool_words(raw: str, expected: bool) -> None:
    assert load_settings({"show_reasoning": raw}).show_reasoning is expected


def test_types_from_each_layer(todo_home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write_config(
        todo_home,
        "show_reasoning = true\n[models]\ncache_ttl_hours = 6\n"
        '[openrouter]\nfallback_models = ["a/b:free", "c/d"]\n',
    )
    s = load_settings()
    assert s.show_reasoning is True
    assert s.get("models.cache_ttl_hours") == 6.0
    assert s.get("openrouter.fallback_models") == ["a/b:free", "c/d"]
    s = load_settings({"openrouter.fallback_models": "x, y ,,z", "models.cache_ttl_hours": "1.5"})
    assert s.get("openrouter.fallback_models") == ["x", "y", "z"]
    assert s.get("models.cache_ttl_hours") == 1.5


def test_invalid_env_value_names_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LLM_PROVIDER", "grok")
    s = load_settings()  # loading works, so `todo config show` can still help
    with pytest.raises(ConfigError) as info:
        s.provider  # noqa: B018
    assert "LLM_PROVIDER" in str(info.value)
    assert "did you mean 'groq'" in str(info.value)


def test_invalid_flag_value_is_a_usage_error() -> None:
    with pytest.raises(UsageError, match="show_reasoning"):
        load_settings({"show_reasoning": "perhaps"}).get("show_reasoning")


def test_invalid_file_value_names_the_file(todo_home: Path) -> None:
    write_config(todo_home, '[models]\ncache_ttl_hours = "soon"\n')
    with pytest.raises(ConfigError) as info:
        load_settings().get("models.cache_ttl_hours")
    assert "config.toml" in info.value.message
    assert "models.cache_ttl_hours" in info.value.message


def test_unknown_keys_in_the_file_are_reported_not_fatal(todo_home: Path) -> None:
    write_config(todo_home, 'provider = "groq"\nfoo = 1\n[openrouter]\napikey = "x"\n')
    s = load_settings()
    assert s.provider == "groq"
    assert s.unknown_file_keys == ["foo", "openrouter.apikey"]


def test_timezone(todo_home: Path) -> None:
    from zoneinfo import ZoneInfo

    assert load_settings({"timezone": "Asia/Tokyo"}).tz == ZoneInfo("Asia/Tokyo")
    assert load_settings().tz is not None  # the system's zone
    with pytest.raises(UsageError, match="unknown time zone 'Mars/Olympus'"):
        set_value("timezone", "Mars/Olympus")
    with pytest.raises(UsageError):
        set_value("timezone", "../../etc/passwd")


# --------------------------------------------------------------------------- providers


def test_provider_config_resolves_registry_defaults_and_keys(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("GROQ_API_KEY", "gsk_test_key_0123456789")
    s = load_settings({"provider": "groq"})
    pc = s.provider_config()
    assert pc.provider is PROVIDERS["groq"]
    assert pc.base_url == PROVIDERS["groq"].base_url
    assert pc.model == PROVIDERS["groq"].default_model
    assert (pc.api_key, pc.key_source) == ("gsk_test_key_0123456789", "env")
    assert pc.require_key() == "gsk_test_key_0123456789"
    assert "gsk_test_key" not in repr(pc)  # keys stay out of reprs and tracebacks
    assert s.provider_config("openrouter").api_key is None


def test_require_key_says_how_to_fix_it() -> None:
    with pytest.raises(ProviderError) as info:
        load_settings().provider_config("openrouter").require_key()
    assert info.value.message == "No API key for OpenRouter."
    assert info.value.hint == (
        "Set OPENROUTER_API_KEY or run `todo config set openrouter.api_key` "
        "(free key: https://openrouter.ai/keys)."
    )
    with pytest.raises(ProviderError, match="GEMINI_API_KEY.*todo config set gemini.api_key"):
        load_settings().provider_config("gemini").require_key()


def test_keyless_providers_get_a_placeholder() -> None:
    assert load_settings().provider_config("ollama").require_key() == "not-needed"
    pc = load_settings({"custom.base_url": "http://127.0.0.1:1/v1"}).provider_config("custom")
    assert pc.base_url == "http://127.0.0.1:1/v1"
    assert pc.model is None


# --------------------------------------------------------------------------- the file


@posix_only
def test_set_value_creates_a_0600_file(todo_home: Path) -> None:
    old = os.umask(0)  # even a permissive umask must not widen the mode
    try:
        path = set_value("openrouter.api_key", KEY)
    finally:
        os.umask(old)
    assert path == todo_home / "config" / "config.toml"
    assert mode(path) == 0o600
    assert mode(path.parent) == 0o700
    assert read_config_file(path) == {"openrouter": {"api_key": KEY}}
    assert load_settings().source("openrouter.api_key") == "config"


@posix_only
def test_set_value_tightens_an_existing_0644_file(todo_home: Path) -> None:
    path = write_config(todo_home, '# my settings\nprovider = "groq"\n')
    path.chmod(0o644)
    set_value("groq.api_key", "gsk_abcdefghijklmnopqrstuvwxyz")
    assert mode(path) == 0o600
    assert read_config_file(path) == {
        "provider": "groq",
        "groq": {"api_key": "gsk_abcdefghijklmnopqrstuvwxyz"},
    }


@posix_only
def test_write_is_atomic(todo_home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The new content goes to a 0600 temp file in the same directory, then is renamed."""
    path = write_config(todo_home, 'provider = "groq"\n')
    seen: list[tuple[Path, int, str]] = []
    real_replace = os.replace

    def spy(src: str | Path, dst: str | Path) -> None:
        src = Path(src)
        seen.append((src, mode(src), Path(dst).read_text()))
        real_replace(src, dst)

    monkeypatch.setattr(config.os, "replace", spy)
    set_value("openrouter.api_key", KEY)
    ((tmp, tmp_mode, old_text),) = seen
    assert tmp.parent == path.parent
    assert tmp_mode == 0o600
    assert old_text == 'provider = "groq"\n'  # untouched until the rename
    assert not [p.name for p in path.parent.iterdir() if p.name.endswith(".tmp")]


def test_failed_write_leaves_the_old_file(todo_home: Path, monkeypatch: pytest.MonkeyPatch):
    path = write_config(todo_home, 'provider = "groq"\n')

    def broken(src: str | Path, dst: str | Path) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(config.os, "replace", broken)
    with pytest.raises(OSError):
        set_value("provider", "gemini")
    assert path.read_text() == 'provider = "groq"\n'
    assert not [p.name for p in path.parent.iterdir() if p.name.endswith(".tmp")]


def test_concurrent_sets_lose_nothing(todo_home: Path) -> None:
    """Read-modify-write is locked: writers of different keys never undo each other."""
    import threading

    keys = ["groq.model", "gemini.model", "openai.model", "ollama.model"]

    def writer(key: str) -> None:
        for i in range(15):
            set_value(key, f"m{i}")

    threads = [threading.Thread(target=writer, args=(key,)) for key in keys]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    s = load_settings()
    assert [s.get(key) for key in keys] == ["m14"] * 4


def test_set_validates_before_writing(todo_home: Path) -> None:
    with pytest.raises(UsageError, match="unknown provider 'grok'.*did you mean 'groq'"):
        set_value("provider", "grok")
    with pytest.raises(UsageError, match="expected a number"):
        set_value("models.cache_ttl_hours", "a day")
    with pytest.raises(UsageError, match="Did you mean 'openrouter.api_key'"):
        set_value("openrouter.apikey", KEY)
    with pytest.raises(UsageError, match="expected an http"):
        set_value("custom.base_url", "localhost:1234/v1")
    assert not (todo_home / "config" / "config.toml").exists()


def test_set_stores_typed_values(todo_home: Path) -> None:
    set_value("show_reasoning", "on")
    set_value("models.cache_ttl_hours", "12")
    set_value("openrouter.fallback_models", "a/b:free, c/d")
    set_value("provider", "Gemini")
    assert read_config_file(todo_home / "config" / "config.toml") == {
        "show_reasoning": True,
        "provider": "gemini",
        "models": {"cache_ttl_hours": 12.0},
        "openrouter": {"fallback_models": ["a/b:free", "c/d"]},
    }


def test_unset_removes_the_key_and_empty_tables(todo_home: Path) -> None:
    set_value("groq.model", "m1")
    set_value("provider", "groq")
    assert unset_value("groq.model") is True
    assert unset_value("groq.model") is False
    assert read_config_file(todo_home / "config" / "config.toml") == {"provider": "groq"}


CORRUPT = 'provider = "groq"\n\nshow_reasoning true\n'


def test_corrupt_file_error_names_file_and_line(todo_home: Path) -> None:
    path = write_config(todo_home, CORRUPT)
    with pytest.raises(ConfigError) as info:
        load_settings()
    err = info.value
    assert err.exit_code == ExitCode.ERROR
    assert str(path) in err.message or "~" in err.message
    assert " line 3: " in err.message
    assert "\n" not in str(err)
    assert "Fix or remove it" in err.hint
    with pytest.raises(ConfigError, match="line 3"):
        set_value("provider", "gemini")
    with pytest.raises(ConfigError, match="line 3"):
        unset_value("provider")
    assert path.read_text() == CORRUPT


def test_binary_garbage_is_a_config_error(todo_home: Path) -> None:
    path = todo_home / "config" / "config.toml"
    path.parent.mkdir()
    path.write_bytes(b'provider = "groq"\n\xff\xfe\x00junk')
    with pytest.raises(ConfigError, match="line 2: not valid UTF-8"):
        load_settings()


def test_display_path_shortens_home() -> None:
    assert config.display_path(Path.home() / ".config" / "x") == "~/.config/x".replace("/", os.sep)


# --------------------------------------------------------------------------- masking


def test_mask_secret() -> None:
    assert mask_secret(KEY) == "sk-or-v1-0e6…(64 chars)"
    assert KEY[12:] not in mask_secret(KEY)
    assert mask_secret("short-secret") == "…(12 chars)"
    assert mask_secret("gsk_" + "x" * 52).startswith("gsk_")
    assert mask_secret("") == ""
