"""Controller settings: config/show.yaml, overridden by SHOWCTL_* environment variables.

Secrets (OBS password, tokens) come from the environment or from files named in the
config (`*_file`), never from the repository; the shipped config/show.yaml holds none.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import yaml

from .guests.iceservers import parse_ice_servers
from .show.diagnostics import did_you_mean
from .show.durations import DurationError, parse_duration


class ConfigError(ValueError):
    """A setting that cannot be used; the message names it and says why."""


@dataclass(frozen=True, slots=True)
class Settings:
    obs_url: str = "ws://127.0.0.1:4455"
    obs_password: str | None = None
    studio_mode_preview: bool = True
    http_host: str = "127.0.0.1"
    http_port: int = 8080
    director_token: str | None = None
    producer_token: str | None = None
    viewer_token: str | None = None
    state_dir: Path = Path("state")
    mode: str = "rehearsal"
    armed: bool = True
    min_take_interval_ms: int = 500
    take_lead_ms: int | None = None  # None: use the measured OBS take latency
    osc_enabled: bool = False        # OSC input (control surfaces); no auth: trusted hosts only
    osc_host: str = "127.0.0.1"
    osc_port: int = 9000
    metrics_public: bool = False     # /metrics without a token (only on a trusted network)
    overlays_delay_ms: int = 0       # broadcast delay: the countdown reaches zero this much later
    guest_secret: str | None = None  # signs guest invites; None: STATE_DIR/guest-secret (0600)
    guest_invite_ttl_ms: int = 7 * 86_400_000  # how long an invite link works
    guest_ice_hosts: str = ""        # comma-separated addresses WebRTC offers; "": every one
    guest_ice_servers: str = ""      # comma-separated STUN/TURN URLs; "": none (no STUN)
    turn_username: str | None = None  # for the TURN servers among them
    turn_credential: str | None = None
    guest_joins_per_minute: int = 30  # WHIP joins accepted per minute (all guests together)
    guest_joins_per_address: int = 12  # ... from one address (0: no limit, e.g. behind a proxy)
    guest_joins_per_guest: int = 8   # ... for one guest
    guest_media_gap_ms: int = 400    # a live guest sending nothing this long: slate at once
    guest_av_offsets: tuple[tuple[str, int], ...] = ()  # (guest, ms): + delays sound, - picture
    mixer_enabled: bool = True       # the program mixer (guests into one MPEG-TS feed for OBS)
    mixer_host: str = "127.0.0.1"    # where the program feed is sent (UDP; OBS's media source)
    mixer_port: int = 5004
    mixer_width: int = 1280
    mixer_height: int = 720
    mixer_fps: int = 30
    mixer_stale_after_ms: int = 1000  # a guest without a new frame this long: the slate
    mixer_keyframe_every_ms: int = 250  # feed keyframe interval: OBS's source, (re)opened,
    #                                     shows nothing before the first keyframe
    # standby controller on etcd (docs/redundancy.md); no endpoints: one machine, as ever
    cluster_endpoints: tuple[str, ...] = ()  # etcd members' client URLs
    cluster_name: str = ""           # this controller's name in the election (main, backup)
    cluster_url: str = ""            # this controller's URL, as the pages reach it
    cluster_peer_url: str = ""       # the other controller's URL
    cluster_lease_ttl_s: int = 1     # the leader's lease: a takeover comes 1-1.5 TTL after
    cluster_secret: str | None = None  # the two controllers' shared secret (peer calls)
    source: str = "defaults"


# config file key (section.key) -> (Settings field, kind)
_KEYS: dict[str, tuple[str, str]] = {
    "obs.url": ("obs_url", "url"),
    "obs.password_file": ("obs_password", "secret_file"),
    "obs.studio_mode_preview": ("studio_mode_preview", "bool"),
    "http.host": ("http_host", "str"),
    "http.port": ("http_port", "port"),
    "auth.director_token_file": ("director_token", "secret_file"),
    "auth.producer_token_file": ("producer_token", "secret_file"),
    "auth.viewer_token_file": ("viewer_token", "secret_file"),
    "state_dir": ("state_dir", "path"),
    "show.mode": ("mode", "mode"),
    "show.armed": ("armed", "bool"),
    "show.min_take_interval": ("min_take_interval_ms", "duration"),
    "show.take_lead": ("take_lead_ms", "lead"),
    "osc.enabled": ("osc_enabled", "bool"),
    "osc.host": ("osc_host", "str"),
    "osc.port": ("osc_port", "port"),
    "metrics.public": ("metrics_public", "bool"),
    "overlays.delay": ("overlays_delay_ms", "duration"),
    "guests.invite_ttl": ("guest_invite_ttl_ms", "duration"),
    "guests.ice_hosts": ("guest_ice_hosts", "str"),
    "guests.ice_servers": ("guest_ice_servers", "str"),
    "guests.joins_per_minute": ("guest_joins_per_minute", "port"),
    "guests.joins_per_address": ("guest_joins_per_address", "count0"),
    "guests.joins_per_guest": ("guest_joins_per_guest", "count0"),
    "guests.media_gap": ("guest_media_gap_ms", "duration"),
    "guests.av_offsets": ("guest_av_offsets", "av_offsets"),
    "mixer.enabled": ("mixer_enabled", "bool"),
    "mixer.host": ("mixer_host", "str"),
    "mixer.port": ("mixer_port", "port"),
    "mixer.width": ("mixer_width", "count"),
    "mixer.height": ("mixer_height", "count"),
    "mixer.fps": ("mixer_fps", "count"),
    "mixer.stale_after": ("mixer_stale_after_ms", "duration"),
    "mixer.keyframe_every": ("mixer_keyframe_every_ms", "duration"),
    "cluster.endpoints": ("cluster_endpoints", "endpoints"),
    "cluster.name": ("cluster_name", "str"),
    "cluster.url": ("cluster_url", "http_url"),
    "cluster.peer_url": ("cluster_peer_url", "http_url"),
    "cluster.lease_ttl": ("cluster_lease_ttl_s", "ttl"),
    "cluster.secret_file": ("cluster_secret", "secret_file"),
}
# environment variable -> (Settings field, kind)
_ENV: dict[str, tuple[str, str]] = {
    "SHOWCTL_OBS_URL": ("obs_url", "url"),
    "SHOWCTL_OBS_PASSWORD": ("obs_password", "secret"),
    "SHOWCTL_OBS_PASSWORD_FILE": ("obs_password", "secret_file"),
    "SHOWCTL_HTTP_HOST": ("http_host", "str"),
    "SHOWCTL_HTTP_PORT": ("http_port", "port"),
    "SHOWCTL_DIRECTOR_TOKEN": ("director_token", "secret"),
    "SHOWCTL_DIRECTOR_TOKEN_FILE": ("director_token", "secret_file"),
    "SHOWCTL_PRODUCER_TOKEN": ("producer_token", "secret"),
    "SHOWCTL_PRODUCER_TOKEN_FILE": ("producer_token", "secret_file"),
    "SHOWCTL_VIEWER_TOKEN": ("viewer_token", "secret"),
    "SHOWCTL_VIEWER_TOKEN_FILE": ("viewer_token", "secret_file"),
    "SHOWCTL_STATE_DIR": ("state_dir", "path"),
    "SHOWCTL_MODE": ("mode", "mode"),
    "SHOWCTL_OSC_ENABLED": ("osc_enabled", "bool"),
    "SHOWCTL_OSC_HOST": ("osc_host", "str"),
    "SHOWCTL_OSC_PORT": ("osc_port", "port"),
    "SHOWCTL_METRICS_PUBLIC": ("metrics_public", "bool"),
    "SHOWCTL_OVERLAYS_DELAY": ("overlays_delay_ms", "duration"),
    "SHOWCTL_GUEST_SECRET": ("guest_secret", "secret"),
    "SHOWCTL_GUEST_INVITE_TTL": ("guest_invite_ttl_ms", "duration"),
    "SHOWCTL_ICE_HOSTS": ("guest_ice_hosts", "str"),
    "SHOWCTL_ICE_SERVERS": ("guest_ice_servers", "str"),
    "SHOWCTL_TURN_USERNAME": ("turn_username", "secret"),
    "SHOWCTL_TURN_CREDENTIAL": ("turn_credential", "secret"),
    "SHOWCTL_TURN_CREDENTIAL_FILE": ("turn_credential", "secret_file"),
    "SHOWCTL_GUEST_AV_OFFSETS": ("guest_av_offsets", "av_offsets"),
    "SHOWCTL_MIXER_ENABLED": ("mixer_enabled", "bool"),
    "SHOWCTL_MIXER_PORT": ("mixer_port", "port"),
    "SHOWCTL_GUEST_JOINS_PER_ADDRESS": ("guest_joins_per_address", "count0"),
    "SHOWCTL_GUEST_JOINS_PER_GUEST": ("guest_joins_per_guest", "count0"),
    "SHOWCTL_GUEST_MEDIA_GAP": ("guest_media_gap_ms", "duration"),
    "SHOWCTL_MIXER_KEYFRAME_EVERY": ("mixer_keyframe_every_ms", "duration"),
    "SHOWCTL_CLUSTER_ENDPOINTS": ("cluster_endpoints", "endpoints"),
    "SHOWCTL_CLUSTER_NAME": ("cluster_name", "str"),
    "SHOWCTL_CLUSTER_URL": ("cluster_url", "http_url"),
    "SHOWCTL_CLUSTER_PEER_URL": ("cluster_peer_url", "http_url"),
    "SHOWCTL_CLUSTER_LEASE_TTL": ("cluster_lease_ttl_s", "ttl"),
    "SHOWCTL_CLUSTER_SECRET": ("cluster_secret", "secret"),
    "SHOWCTL_CLUSTER_SECRET_FILE": ("cluster_secret", "secret_file"),
}


def _flatten(data: Any, prefix: str = "") -> dict[str, Any]:
    if not isinstance(data, dict):
        raise ConfigError(f"{prefix or 'config'}: expected a mapping of settings")
    out: dict[str, Any] = {}
    for key, value in data.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict) and name not in _KEYS:
            out.update(_flatten(value, name + "."))
        else:
            out[name] = value
    return out


MAX_AV_OFFSET_MS = 500  # control.guests.avsync.MAX_OFFSET_MS (config does not import adapters)


def _av_offsets(name: str, value: Any) -> tuple[tuple[str, int], ...]:
    """{guest: ms} in YAML, or "guest=ms,guest=ms" in the environment; ms may end in "ms"."""
    if isinstance(value, dict):
        pairs = [(str(k), v) for k, v in value.items()]
    else:
        text = "" if value is None else str(value)
        pairs = []
        for item in filter(None, (i.strip() for i in text.split(","))):
            guest, eq, ms = item.partition("=")
            if not eq or not guest.strip():
                raise ConfigError(f"{name}: expected GUEST=MS[,GUEST=MS...], got {item!r}")
            pairs.append((guest.strip(), ms))
    out = []
    for guest, ms in pairs:
        raw = str(ms).strip().removesuffix("ms").strip()
        try:
            number = int(raw)
        except ValueError:
            raise ConfigError(f"{name}: {guest}: expected whole milliseconds (e.g. 120 or "
                              f"-40ms), got {ms!r}") from None
        if abs(number) > MAX_AV_OFFSET_MS:
            raise ConfigError(f"{name}: {guest}: {number} ms is outside "
                              f"-{MAX_AV_OFFSET_MS}..{MAX_AV_OFFSET_MS}")
        out.append((guest, number))
    return tuple(out)


def _http_url(name: str, value: Any) -> str:
    text = "" if value is None else str(value).strip().rstrip("/")
    if text and not text.startswith(("http://", "https://")):
        raise ConfigError(f"{name}: expected http://HOST:PORT, got {text!r}")
    return text


def _cluster_value(name: str, kind: str, value: Any) -> Any:
    """The cluster's kinds: etcd endpoints (a YAML list, or comma-separated), a URL, a
    lease TTL in whole seconds (etcd's unit)."""
    if kind == "endpoints":
        items = value if isinstance(value, list) else str(value or "").split(",")
        return tuple(u for u in (_http_url(name, i) for i in items) if u)
    if kind == "http_url":
        return _http_url(name, value)
    try:
        ms = parse_duration(str(value).strip())
    except DurationError as exc:
        raise ConfigError(f"{name}: {exc}") from None
    if ms < 1000 or ms % 1000:
        raise ConfigError(f"{name}: a lease TTL is whole seconds, at least 1s; got {value!r}")
    return ms // 1000


def _check_cluster(settings: Settings) -> None:
    if not settings.cluster_endpoints:
        return
    missing = [key for key, field in (("cluster.name", "cluster_name"),
                                      ("cluster.url", "cluster_url"),
                                      ("cluster.peer_url", "cluster_peer_url"))
               if not getattr(settings, field)]
    if missing:
        raise ConfigError(f"cluster.endpoints is set, so {', '.join(missing)} must be too "
                          "(docs/redundancy.md)")


def _convert(name: str, kind: str, value: Any, base: Path) -> Any:
    if kind == "av_offsets":
        return _av_offsets(name, value)
    if kind in ("endpoints", "http_url", "ttl"):
        return _cluster_value(name, kind, value)
    text = "" if value is None else str(value).strip()
    if kind == "secret":
        return text or None
    if kind == "str":
        return text
    if kind == "secret_file":
        if not text:
            return None
        path = (base / text) if not Path(text).is_absolute() else Path(text)
        try:
            return path.read_text("utf-8").strip() or None
        except OSError as exc:
            raise ConfigError(f"{name}: cannot read {path}: {exc.strerror}") from None
    if kind == "url":
        if not text.startswith(("ws://", "wss://")):
            raise ConfigError(f"{name}: expected ws://HOST:PORT, got {text!r}")
        return text
    if kind == "port":
        if not text.isdigit() or not 0 < int(text) < 65536:
            raise ConfigError(f"{name}: expected a port number, got {text!r}")
        return int(text)
    if kind == "count":
        if not text.isdigit() or int(text) <= 0:
            raise ConfigError(f"{name}: expected a positive whole number, got {text!r}")
        return int(text)
    if kind == "count0":  # a limit where 0 means none
        if not text.isdigit():
            raise ConfigError(f"{name}: expected a whole number (0: no limit), got {text!r}")
        return int(text)
    if kind == "bool":
        if isinstance(value, bool):
            return value
        if text.lower() in ("true", "yes", "1", "on"):
            return True
        if text.lower() in ("false", "no", "0", "off"):
            return False
        raise ConfigError(f"{name}: expected true or false, got {text!r}")
    if kind == "path":
        return Path(text) if Path(text).is_absolute() else base / text
    if kind == "mode":
        if text not in ("rehearsal", "live"):
            raise ConfigError(f"{name}: expected rehearsal or live, got {text!r}")
        return text
    if kind in ("duration", "lead"):
        if kind == "lead" and text in ("", "auto"):
            return None
        try:
            return parse_duration(text)
        except DurationError as exc:
            raise ConfigError(f"{name}: {exc}") from None
    raise AssertionError(kind)


def load_settings(path: Path | None = None, env: Mapping[str, str] | None = None) -> Settings:
    """Defaults, then the config file (if any), then the environment."""
    env = os.environ if env is None else env
    values: dict[str, Any] = {}
    source = "defaults"
    base = Path.cwd()
    if path is not None:
        try:
            data = yaml.safe_load(path.read_text("utf-8")) or {}
        except OSError as exc:
            raise ConfigError(f"{path}: cannot read: {exc.strerror}") from None
        except yaml.YAMLError as exc:
            raise ConfigError(f"{path}: not valid YAML: {exc}") from None
        for key, value in _flatten(data).items():
            if key not in _KEYS:
                raise ConfigError(f"{path}: unknown setting {key!r}{did_you_mean(key, _KEYS)}")
            fname, kind = _KEYS[key]
            values[fname] = _convert(f"{path}: {key}", kind, value, base)
        source = str(path)
    for var, (fname, kind) in _ENV.items():
        if var in env:
            values[fname] = _convert(var, kind, env[var], base)
    settings = replace(Settings(), source=source, **values)
    _check_cluster(settings)
    try:
        parse_ice_servers(settings.guest_ice_servers, settings.turn_username,
                          settings.turn_credential)
    except ValueError as exc:
        raise ConfigError(f"guests.ice_servers (SHOWCTL_ICE_SERVERS): {exc}") from None
    return settings
