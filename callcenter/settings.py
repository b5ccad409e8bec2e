"""Service settings: ``config/callcenter.toml`` overlaid by ``CALLCENTER_*`` variables.

Nothing is read at import time: ``load_settings()`` is called by the CLI and the
result is passed down (``create_app(settings)``), so tests build their own.
Nested values come from the environment with ``__``:
``CALLCENTER_SIMULATOR__ENABLED=false``.
"""

from __future__ import annotations

import os
import re
from decimal import Decimal
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, Field, SecretStr, field_validator, model_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from screenpop.external import ExternalCrmSettings

DEFAULT_CONFIG_FILE = Path("config/callcenter.toml")
DEMO_SESSION_SECRET = "demo-only-session-secret-change-me"
DEMO_AMI_SECRET = "callcenter-secret"
PBX_NAME = r"^[A-Za-z0-9_-]{1,32}$"
#: a PJSIP endpoint's name as it goes into a dial string (``PJSIP/<x>@<endpoint>``)
TRUNK_NAME = r"^[A-Za-z0-9_.-]{1,64}$"


class PbxSettings(BaseModel):
    """One Asterisk server reached over AMI (one ``[[pbx]]`` table).

    The trunks say how an offer reaches an agent who is not a phone of this PBX
    while a caller waits here (``callcenter.orchestration.dialing``); without
    them such an agent cannot be offered this PBX's calls."""

    name: str = Field(default="pbx1", pattern=PBX_NAME)
    host: str = "127.0.0.1"
    port: int = Field(default=5038, ge=1, le=65535)
    username: str = "callcenter"
    secret: SecretStr = SecretStr(DEMO_AMI_SECRET)
    ping_interval_s: float = Field(default=5.0, gt=0)
    #: AMI over TLS (Asterisk's ``tlsenable``, usually port 5039), for an Asterisk
    #: reached across a network that is not trusted: the secret and every call's
    #: numbers are encrypted, and Asterisk's certificate must be valid for ``host``
    #: and signed by ``tls_ca_file`` (None: the system's CAs).
    tls: bool = False
    tls_ca_file: Path | None = None
    #: This PBX's PJSIP endpoint towards the public network: a home or partner
    #: agent whose dial string is a phone number is rung through it
    #: (``PJSIP/<+number>@<outbound_trunk>``). None: no outside numbers from here.
    outbound_trunk: str | None = Field(default=None, pattern=TRUNK_NAME)
    #: This PBX's PJSIP endpoints towards other sites, by the other site's
    #: ``[[pbx]]`` name: an agent whose phone is on that PBX is rung through it
    #: (``PJSIP/<extension>@<trunk>``). One way only: the other PBX names its own.
    site_trunks: dict[str, str] = Field(default_factory=dict)

    @field_validator("site_trunks")
    @classmethod
    def _site_trunk_names(cls, trunks: dict[str, str]) -> dict[str, str]:
        for site, trunk in trunks.items():
            if not re.match(PBX_NAME, site):
                raise ValueError(f"site_trunks: {site!r} is not a PBX name")
            if not re.match(TRUNK_NAME, trunk):
                raise ValueError(
                    f"site_trunks.{site}: {trunk!r} is not a PJSIP endpoint name "
                    "(letters, digits, '.', '-', '_')"
                )
        return trunks


class DialingSettings(BaseModel):
    """How offers reach agents (the ``[dialing]`` table)."""

    #: Ask an outside number (a home or partner agent's phone, through the
    #: outbound trunk) to press 1 before it is connected: a voicemail that picks
    #: up is then not taken for the agent, and the offer fails ``unconfirmed``.
    confirm_external: bool = True


#: The scenario ``make run`` plays, when the checkout has it.
DEFAULT_SCENARIO = Path("config/scenarios/demo.toml")


def _default_scenario() -> Path | None:
    return DEFAULT_SCENARIO if DEFAULT_SCENARIO.is_file() else None


class SimulatorSettings(BaseModel):
    """The built-in PBX simulator that stands in for Asterisk in the embedded default.

    What traffic it plays comes from a scenario file (``callcenter.pbxsim.scenario``).
    The older one-number fields below still work: each one that is set explicitly
    (in the config file, the environment or code) overrides the scenario's figure,
    with its old meaning; without a scenario file they describe the whole load.
    """

    enabled: bool = True
    #: The traffic scenario (TOML): arrivals per queue, patience, talk, phones, wrap-up.
    scenario: Path | None = Field(default_factory=_default_scenario)
    #: Overrides the scenario's ``time_scale`` (0.1 plays it ten times faster).
    time_scale: float | None = Field(default=None, gt=0, le=100)
    #: Seconds between simulated inbound calls (mean of an exponential distribution).
    call_interval_s: float = Field(default=3.0, gt=0)
    #: Simulated callers hang up if not answered after this long (mean, seconds).
    patience_s: float = Field(default=90.0, gt=0)
    #: Conversation length (mean, seconds).
    talk_time_s: float = Field(default=60.0, gt=0)
    #: How long a simulated agent phone rings before it answers (seconds).
    answer_delay_s: float = Field(default=2.0, ge=0)
    #: How long the softphone of an agent meant for a person rings before it
    #: auto-answers (long enough to read the pop while it rings).
    person_answer_delay_s: float = Field(default=4.0, ge=0)
    #: Whether simulated customers call in by themselves.
    callers: bool = True
    #: Whether simulated agents press Ready by themselves; the rest wait for a person.
    auto_agents: bool = True
    #: Overrides the scenario's seed (same seed, same calls).
    seed: int | None = None

    @field_validator("scenario")
    @classmethod
    def _scenario_exists(cls, path: Path | None) -> Path | None:
        if path is not None and not path.is_file():
            raise ValueError(f"no scenario file at {path}")
        return path


class RecordingSettings(BaseModel):
    """Where call recordings are written, kept and how (the ``[recordings]`` table).

    Asterisk's MixMonitor writes one file per recorded agent leg into its monitor
    directory; the service reads those files from ``spool_dir`` (with a real
    Asterisk, that directory mounted; with the simulator, it writes there), joins
    a call's legs into one recording and keeps it under ``store_dir``.
    """

    #: where the PBX's MixMonitor files appear, as this service sees them: with
    #: a real Asterisk, its /var/spool/asterisk/monitor (the dialplan's path)
    #: shared with this host
    spool_dir: Path = Path("data/recordings/spool")
    #: where kept recordings live, laid out by date (YYYY/MM/DD/<call>.wav)
    store_dir: Path = Path("data/recordings/store")
    #: base64 of 32 random bytes: when set, recordings are encrypted at rest
    #: (AES-256-GCM) as soon as they are complete
    encryption_key: SecretStr | None = None
    #: how often the retention job looks for recordings past their queue's retention
    retention_interval_s: float = Field(default=3600.0, gt=0, le=7 * 86400)
    #: how long a finished leg's file may take to appear before the call's
    #: recording is kept without it (and the gap logged)
    file_wait_s: float = Field(default=10.0, gt=0, le=600)

    @field_validator("encryption_key")
    @classmethod
    def _key_is_32_bytes(cls, key: SecretStr | None) -> SecretStr | None:
        import base64
        import binascii

        if key is None or not key.get_secret_value():
            return None
        try:
            raw = base64.b64decode(key.get_secret_value(), validate=True)
        except binascii.Error:
            raise ValueError("must be base64 (32 random bytes)") from None
        if len(raw) != 32:
            raise ValueError(f"must be 32 bytes once decoded, not {len(raw)}")
        return key


class ReportSettings(BaseModel):
    """How the reports and the wallboard count (the ``[reports]`` table).

    The definitions these feed are written in ``docs/reports.md``.
    """

    #: the center's IANA time zone: "today", hours and days are local to it
    timezone: str = "UTC"
    #: the sliding window of the real-time figures
    window_minutes: float = Field(default=30.0, gt=0, le=24 * 60)
    #: callers who hung up within this many seconds are short abandons
    short_abandon_s: float = Field(default=5.0, ge=0, le=600)
    #: leave short abandons out of the abandon rate and SL2 (a misdial is not a lost customer)
    exclude_short_abandons: bool = True
    #: which service level the wallboard shows: "sl" (answered within the threshold
    #: / answered, Asterisk's) or "sl2" (answered within / answered + abandoned)
    wallboard_service_level: Literal["sl", "sl2"] = "sl"
    #: a contact is resolved at first contact when the customer does not come back
    #: within this many days, on any channel
    fcr_days: int = Field(default=7, ge=1, le=90)
    #: a valuable customer is dormant after this many days with no contact
    dormant_days: int = Field(default=365, ge=1, le=3650)
    #: lifetime value from which a customer counts as valuable
    dormant_min_lifetime_value: Decimal = Field(default=Decimal("5000"), ge=0)

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, name: str) -> str:
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        try:
            ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(
                f"unknown time zone {name!r} (an IANA name, e.g. Europe/Paris)"
            ) from None
        return name


def check_advertise_url(url: str) -> str:
    """An ``http(s)://host:port`` other nodes can send requests to, without a
    path, a query or credentials (they would go along with every command)."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError("advertise_url must be http:// or https:// with a host")
    if parts.username or parts.password:
        raise ValueError("advertise_url must not hold credentials")
    if parts.path not in ("", "/") or parts.query or parts.fragment:
        raise ValueError("advertise_url must not have a path, query or fragment")
    return url.rstrip("/")


class FanoutSettings(BaseModel):
    """How hub messages are shared between API nodes when ``redis_url`` is set
    (the ``[fanout]`` table; ``callcenter.web.hub_fanout`` says how)."""

    #: the one pub/sub channel every node of this call center publishes to (pub/sub
    #: ignores the database number: two call centers on one Redis need two channels)
    channel: str = Field(default="callcenter:hub", min_length=1, max_length=200)
    #: this node's name in logs and envelopes; None: the host name
    node: str | None = Field(default=None, max_length=100)
    #: messages waiting to be published before new ones are dropped (and counted)
    max_pending: int = Field(default=10_000, ge=1, le=1_000_000)
    #: a message not published within this long is dropped: a late pop is worse than none
    max_delay_s: float = Field(default=5.0, gt=0, le=300)
    #: how often a node tells the others which pages it serves (also sent at
    #: each change); a node silent three times as long is taken as gone
    presence_interval_s: float = Field(default=5.0, gt=0, le=300)


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="CALLCENTER_", env_nested_delimiter="__", extra="ignore"
    )

    database_url: str = "sqlite+aiosqlite:///./callcenter.db"
    #: How long start-up waits for the database to answer (a container started
    #: beside it, a failover in progress) before it gives up, retrying with backoff.
    database_wait_s: float = Field(default=60.0, ge=0, le=3600)
    #: Where each new call's arrival is kept on local disk until its record is
    #: written (``callcenter.arrival_journal``), in a directory per database;
    #: the next start writes what a crash left there.
    journal_dir: Path = Path("data/journal")
    #: Hot standby (``callcenter.leadership``): several nodes on one PostgreSQL
    #: database, one acts on calls (the advisory lock's holder), the others wait
    #: to take over. Off: this node acts at once, alone.
    ha_enabled: bool = False
    #: How often a standby tries for the lock, and the leader checks it still has it.
    ha_poll_s: float = Field(default=1.0, gt=0, le=60)
    #: With ``ha_enabled`` and ``redis_url``: the URL other nodes reach this one's
    #: HTTP at (``http://10.0.0.5:8000``). The leader publishes it; the other nodes
    #: then serve agents' and supervisors' pages too, sending their commands to
    #: it (``callcenter.web.forwarding``). None: a node that does not lead answers
    #: 503 and the load balancer must send clients to the leader.
    advertise_url: str | None = None
    http_host: str = "127.0.0.1"
    http_port: int = Field(default=8000, ge=1, le=65535)
    #: Demo mode seeds demo users with known passwords; never on in production.
    demo: bool = True
    session_secret: SecretStr = SecretStr(DEMO_SESSION_SECRET)
    #: Origins allowed to open the websockets (besides the page's own host).
    allowed_origins: list[str] = Field(default_factory=list)
    #: Region used to read caller numbers that are not in E.164 form.
    default_region: str = "US"
    #: How often the service looks for a newly published routing-rules version.
    rules_poll_s: float = Field(default=5.0, gt=0, le=3600)
    #: How long after a callback whose customer did not answer it is tried again.
    callback_retry_s: float = Field(default=300.0, gt=0, le=86400)
    #: How long an agent may be without an open desktop (a closed laptop, a
    #: crashed browser) before they are made Not Ready; a reload takes seconds.
    desktop_grace_s: float = Field(default=60.0, gt=0, le=3600)
    pbx: list[PbxSettings] = Field(default_factory=lambda: [PbxSettings()])
    dialing: DialingSettings = Field(default_factory=DialingSettings)
    simulator: SimulatorSettings = Field(default_factory=SimulatorSettings)
    recordings: RecordingSettings = Field(default_factory=RecordingSettings)
    #: the external HTTP CRM the pop asks first (none by default: local CRM only)
    crm: ExternalCrmSettings = Field(default_factory=ExternalCrmSettings)
    reports: ReportSettings = Field(default_factory=ReportSettings)
    #: Several API/websocket nodes: each publishes what its hub delivers to this
    #: Redis, and delivers what the others publish (``redis://[:password@]host:6379/0``).
    #: None: in-process only, one node. A secret: it may hold a password.
    redis_url: SecretStr | None = None
    fanout: FanoutSettings = Field(default_factory=FanoutSettings)
    log_level: str = "INFO"
    #: JSON lines for a log collector; None (the default): JSON when stderr is
    #: not a terminal (a container, a service manager), console lines when it is.
    log_json: bool | None = None

    @field_validator("redis_url")
    @classmethod
    def _blank_redis_is_none(cls, url: SecretStr | None) -> SecretStr | None:
        """``CALLCENTER_REDIS_URL=`` (set but empty) means no Redis."""
        return url if url is not None and url.get_secret_value().strip() else None

    @field_validator("advertise_url")
    @classmethod
    def _advertise_url_usable(cls, url: str | None) -> str | None:
        return check_advertise_url(url) if url else None

    @model_validator(mode="after")
    def _sites_known(self) -> Settings:
        """Each PBX once; a site trunk leads to another configured PBX."""
        names = [pbx.name for pbx in self.pbx]
        for name in names:
            if names.count(name) > 1:
                raise ValueError(f"pbx: the name {name!r} is used twice")
        for pbx in self.pbx:
            for site in pbx.site_trunks:
                if site == pbx.name:
                    raise ValueError(f"pbx {pbx.name}: site_trunks: a trunk to itself")
                if site not in names:
                    raise ValueError(f"pbx {pbx.name}: site_trunks: no [[pbx]] named {site!r}")
        return self

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        path = _config_file()
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings]
        if path is not None:
            sources.append(TomlConfigSettingsSource(settings_cls, toml_file=path))
        return tuple(sources)


def _config_file() -> Path | None:
    named = os.environ.get("CALLCENTER_CONFIG")
    if named:
        path = Path(named)
        if not path.is_file():
            raise FileNotFoundError(f"CALLCENTER_CONFIG names a missing file: {path}")
        return path
    return DEFAULT_CONFIG_FILE if DEFAULT_CONFIG_FILE.is_file() else None


class InsecureSettings(ValueError):
    """A public demo default was left in place outside demo mode."""


def refuse_demo_secrets(settings: Settings) -> None:
    """Outside demo mode, the secrets shipped for the demo are public knowledge:
    refuse to start with them rather than run an open call center."""
    if settings.demo:
        return
    if settings.session_secret.get_secret_value() == DEMO_SESSION_SECRET:
        raise InsecureSettings(
            "session_secret: set CALLCENTER_SESSION_SECRET (the default is public)"
        )
    for pbx in settings.pbx:
        if pbx.secret.get_secret_value() == DEMO_AMI_SECRET:
            raise InsecureSettings(f"pbx {pbx.name}: set its AMI secret (the default is public)")


def load_settings(**overrides: Any) -> Settings:
    """Settings from the config file and environment; keyword overrides win."""
    return Settings(**overrides)
