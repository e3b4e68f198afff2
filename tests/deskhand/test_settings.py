"""The one settings object: typed, read from the environment, failing with named values."""

from __future__ import annotations

import pytest

from deskhand.cli import main
from deskhand.settings import SettingsError, load_settings


def test_lists_and_numbers_are_parsed(monkeypatch) -> None:
    monkeypatch.setenv("ALLOWED_CHANNELS", "C1, C2")
    monkeypatch.setenv("MAX_BATCH", "8")
    settings = load_settings(_env_file=None)
    assert settings.allowed_channels == ["C1", "C2"] and settings.max_batch == 8


def test_bad_values_are_named_and_secrets_are_not_echoed(monkeypatch) -> None:
    monkeypatch.setenv("MAX_BATCH", "lots")
    monkeypatch.setenv("SLASH_COMMAND", "ask")
    with pytest.raises(SettingsError) as excinfo:
        load_settings(_env_file=None)
    message = str(excinfo.value)
    assert "MAX_BATCH" in message and "SLASH_COMMAND" in message and "'lots'" in message


def test_the_cli_reports_bad_settings_without_a_traceback(monkeypatch, capsys) -> None:
    monkeypatch.setenv("TEMPERATURE", "hot")
    assert main(["chat"]) == 2
    err = capsys.readouterr().err
    assert "TEMPERATURE" in err and "Traceback" not in err
