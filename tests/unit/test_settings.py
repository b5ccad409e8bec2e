"""Settings: the config file, environment overrides, and no public secrets in production."""

from __future__ import annotations

from pathlib import Path

import pytest

from callcenter.service import create_app
from callcenter.settings import InsecureSettings, Settings


def test_environment_overrides_nested_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CALLCENTER_SIMULATOR__ENABLED", "false")
    monkeypatch.setenv(
        "CALLCENTER_PBX",
        '[{"name": "site-a", "host": "10.0.0.5", "port": 5038, "secret": "s3cret-a"},'
        ' {"name": "site-b", "host": "10.0.0.6", "secret": "s3cret-b"}]',
    )
    settings = Settings()
    assert settings.simulator.enabled is False
    assert [(p.name, p.host) for p in settings.pbx] == [
        ("site-a", "10.0.0.5"),
        ("site-b", "10.0.0.6"),
    ]
    assert "s3cret-a" not in repr(settings), "secrets never show in logs or reprs"


def test_the_shipped_config_file_is_the_embedded_demo() -> None:
    settings = Settings()
    assert settings.demo and settings.simulator.enabled
    assert settings.database_url.startswith("sqlite+aiosqlite:///")
    assert Path("config/callcenter.toml").is_file()


def test_outside_demo_mode_the_public_session_secret_is_refused() -> None:
    settings = Settings(demo=False, pbx=[{"secret": "a-real-ami-secret"}])
    with pytest.raises(InsecureSettings, match="session_secret"):
        create_app(settings)


def test_outside_demo_mode_the_public_ami_secret_is_refused() -> None:
    settings = Settings(demo=False, session_secret="a-long-random-production-secret")
    with pytest.raises(InsecureSettings, match="pbx pbx1"):
        create_app(settings)
