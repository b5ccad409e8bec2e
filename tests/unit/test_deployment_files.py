"""The deployment an operator starts with `docker compose up`, read as compose
reads it: every service healthy before callcenter starts, configs read-only,
and every secret from .env, refused loudly when missing (and listed in
.env.example so nobody has to guess it)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

from callcenter.settings import RecordingSettings, Settings

ROOT = Path(__file__).resolve().parents[2]
REQUIRED = re.compile(r"\$\{(?P<name>[A-Z_]+):\?[^}]+\}")


def _compose() -> dict[str, Any]:
    document = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    assert isinstance(document, dict)
    return document


def test_callcenter_starts_only_once_every_service_it_needs_is_healthy() -> None:
    services = _compose()["services"]
    assert set(services) >= {"asterisk", "postgres", "redis", "callcenter"}
    for name, service in services.items():
        assert "healthcheck" in service, f"{name} has no healthcheck"
    depends = services["callcenter"]["depends_on"]
    assert {name: d["condition"] for name, d in depends.items()} == {
        "asterisk": "service_healthy",
        "postgres": "service_healthy",
        "redis": "service_healthy",
    }


def test_configs_are_mounted_read_only() -> None:
    asterisk = _compose()["services"]["asterisk"]
    config_mounts = [v for v in asterisk["volumes"] if v.startswith("./config/")]
    assert config_mounts and all(v.endswith(":ro") for v in config_mounts)


def test_every_secret_comes_from_env_fails_loudly_and_is_in_the_example() -> None:
    text = (ROOT / "docker-compose.yml").read_text()
    required = {m["name"] for m in REQUIRED.finditer(text)}
    assert {"POSTGRES_PASSWORD", "CALLCENTER_SESSION_SECRET", "AMI_SECRET"} <= required
    example = (ROOT / ".env.example").read_text()
    listed = {line.split("=", 1)[0] for line in example.splitlines() if "=" in line}
    assert required <= listed, f"missing from .env.example: {sorted(required - listed)}"
    assert all(line.endswith("=") for line in example.splitlines() if "=" in line), (
        "the example holds no secret values"
    )


def test_the_production_service_runs_on_postgresql_outside_demo_mode() -> None:
    env = _compose()["services"]["callcenter"]["environment"]
    assert env["CALLCENTER_DEMO"] == "false"
    assert env["CALLCENTER_SIMULATOR__ENABLED"] == "false"
    assert env["CALLCENTER_DATABASE_URL"].startswith("postgresql+asyncpg://")


def test_asterisk_gets_the_ami_secret_from_env_not_from_the_shipped_file() -> None:
    asterisk = _compose()["services"]["asterisk"]
    script = " ".join(asterisk["entrypoint"])
    assert "${AMI_SECRET}" in script and "manager.conf" in script
    assert "exec asterisk -f" in script


def test_the_service_reads_asterisks_recordings_and_keeps_its_data_across_containers() -> None:
    """Recordings are joined from the files MixMonitor writes; kept recordings
    and the arrival journal (what a crash left unwritten) must outlive a
    recreated container."""
    services = _compose()["services"]
    callcenter = services["callcenter"]
    spool = callcenter["environment"]["CALLCENTER_RECORDINGS__SPOOL_DIR"]
    assert f"recordings:{spool}" in callcenter["volumes"]
    assert "recordings:/var/spool/asterisk/monitor" in services["asterisk"]["volumes"]
    assert spool == "/var/spool/asterisk/monitor"
    # the defaults are relative: to the image's working directory
    (workdir,) = re.findall(r"^WORKDIR (\S+)$", (ROOT / "Dockerfile").read_text(), re.M)
    kept = [v.split(":")[1] for v in callcenter["volumes"] if not v.startswith("recordings:")]
    defaults = (
        Settings.model_fields["journal_dir"].default,
        RecordingSettings.model_fields["store_dir"].default,
    )
    for path in defaults:
        assert not path.is_absolute()
        assert any(f"{workdir}/{path}".startswith(f"{k}/") for k in kept), path
