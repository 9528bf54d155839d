"""Controller settings: config/show.yaml, overridden by SHOWCTL_* environment variables.

Secrets (OBS password, tokens) come from the environment or from files named in the
config (`*_file`), never from the repository; the shipped config/show.yaml holds none.
"""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import yaml

from .guests.iceservers import parse_ice_servers
from .networks import parse_networks
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
    allowed_hosts: str = "localhost"  # comma-separated Host names served (address literals
    #                                   always are; "*": any): against DNS rebinding
    login_failures_per_address: int = 10  # wrong tokens before an address backs off (0: no limit)
    max_body_seconds: float = 10.0   # a request body not read in full this long: 408
    log_file: str = ""               # the audit log also goes to this file ("": stderr only)
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
    osc_allow: str = "127.0.0.0/8,::1"  # source addresses/networks OSC is read from
    metrics_public: bool = False     # /metrics without a token (only on a trusted network)
    overlays_delay_ms: int = 0       # broadcast delay: the countdown reaches zero this much later
    guest_secret: str | None = None  # signs guest invites; None: STATE_DIR/guest-secret (0600)
    guest_invite_ttl_ms: int = 86_400_000  # how long an invite link works (24 h)
    guest_ice_hosts: str = ""        # comma-separated addresses WebRTC offers; "": every one
    guest_ice_servers: str = ""      # comma-separated STUN/TURN URLs; "": none (no STUN)
    turn_username: str | None = None  # for the TURN servers among them
    turn_credential: str | None = None
    turn_secret: str | None = None   # coturn's static-auth-secret: per-guest TURN credentials
    guest_turn_ttl_ms: int = 12 * 3_600_000  # how long those credentials work
    guest_joins_per_minute: int = 30  # WHIP joins accepted per minute (all guests together)
    guest_iso_max_mb: int = 8192     # each guest's ISO recordings on disk, MiB (docs/guests.md)
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
    tls_cert_file: Path | None = None  # HTTPS on every listener (with tls_key_file);
    tls_key_file: Path | None = None   # renewed files are taken without a restart
    trusted_proxies: str = ""        # addresses/networks whose X-Forwarded-*/Forwarded count
    hsts_max_age_ms: int = 365 * 86_400_000  # Strict-Transport-Security over HTTPS (0: none)
    door_host: str = "127.0.0.1"     # the guests-only door: the guest page, its socket, WHIP
    door_port: int | None = None     # None: no door
    guest_public_url: str = ""       # the base of invite links, as guests reach it; "": derived
    mixer_transport: str = "udp"     # udp (loopback only) or srt (passphrase, AES)
    mixer_srt_passphrase: str | None = None  # SRT: 10-79 characters, from env or a file
    mixer_srt_latency_ms: int = 120  # SRT receive latency both ends agree on
    mixer_allow_plain_udp: bool = False  # udp to a non-loopback host: refused unless true
    prompter_token: str | None = None  # drives the prompter's scroll (docs/stage.md)
    presenter_warning_ms: int = 60_000  # presenter clock amber with this much left ...
    presenter_danger_ms: int = 15_000   # ... red (a segment's warning:/danger: wins)
    # standby controller on etcd (docs/redundancy.md); no endpoints: one machine, as ever
    cluster_endpoints: tuple[str, ...] = ()  # etcd members' client URLs
    cluster_name: str = ""           # this controller's name in the election (main, backup)
    cluster_url: str = ""            # this controller's URL, as the pages reach it
    cluster_peer_url: str = ""       # the other controller's URL
    cluster_lease_ttl_s: int = 1     # the leader's lease: a takeover comes 1-1.5 TTL after
    cluster_secret: str | None = None  # the two controllers' shared secret (peer calls)
    # an SFU in front of the mixer (docs/scaling.md#janus); off: guests connect to showctl
    guest_sfu: str = "off"           # off | janus
    janus_url: str = "http://127.0.0.1:8088/janus"  # Janus's HTTP API (keep it private)
    janus_room: int = 1234           # the VideoRoom showctl makes for the guests
    janus_admin_key: str | None = None  # the VideoRoom plugin's admin_key (from env/a file)
    janus_room_secret: str | None = None  # the room's secret; None: from the admin key
    janus_forward_host: str = "127.0.0.1"  # where Janus sends the guests' RTP (this machine)
    source: str = "defaults"


# config file key (section.key) -> (Settings field, kind)
_KEYS: dict[str, tuple[str, str]] = {
    "obs.url": ("obs_url", "url"),
    "obs.password_file": ("obs_password", "secret_file"),
    "obs.studio_mode_preview": ("studio_mode_preview", "bool"),
    "http.host": ("http_host", "str"),
    "http.port": ("http_port", "port"),
    "http.allowed_hosts": ("allowed_hosts", "str"),
    "http.max_body_time": ("max_body_seconds", "seconds"),
    "auth.failures_per_address": ("login_failures_per_address", "count0"),
    "log.file": ("log_file", "str"),
    "auth.director_token_file": ("director_token", "token_file"),
    "auth.producer_token_file": ("producer_token", "token_file"),
    "auth.viewer_token_file": ("viewer_token", "token_file"),
    "state_dir": ("state_dir", "path"),
    "show.mode": ("mode", "mode"),
    "show.armed": ("armed", "bool"),
    "show.min_take_interval": ("min_take_interval_ms", "duration"),
    "show.take_lead": ("take_lead_ms", "lead"),
    "osc.enabled": ("osc_enabled", "bool"),
    "osc.host": ("osc_host", "str"),
    "osc.port": ("osc_port", "port"),
    "osc.allow": ("osc_allow", "str"),
    "metrics.public": ("metrics_public", "bool"),
    "overlays.delay": ("overlays_delay_ms", "duration"),
    "guests.invite_ttl": ("guest_invite_ttl_ms", "duration"),
    "guests.ice_hosts": ("guest_ice_hosts", "str"),
    "guests.ice_servers": ("guest_ice_servers", "str"),
    "guests.turn_secret_file": ("turn_secret", "secret_file"),
    "guests.turn_ttl": ("guest_turn_ttl_ms", "duration"),
    "guests.joins_per_minute": ("guest_joins_per_minute", "port"),
    "guests.joins_per_address": ("guest_joins_per_address", "count0"),
    "guests.joins_per_guest": ("guest_joins_per_guest", "count0"),
    "guests.media_gap": ("guest_media_gap_ms", "duration"),
    "guests.av_offsets": ("guest_av_offsets", "av_offsets"),
    "guests.iso_max_mb": ("guest_iso_max_mb", "count"),
    "mixer.enabled": ("mixer_enabled", "bool"),
    "mixer.host": ("mixer_host", "str"),
    "mixer.port": ("mixer_port", "port"),
    "mixer.width": ("mixer_width", "count"),
    "mixer.height": ("mixer_height", "count"),
    "mixer.fps": ("mixer_fps", "count"),
    "mixer.stale_after": ("mixer_stale_after_ms", "duration"),
    "mixer.keyframe_every": ("mixer_keyframe_every_ms", "duration"),
    "tls.cert_file": ("tls_cert_file", "file"),
    "tls.key_file": ("tls_key_file", "file"),
    "http.trusted_proxies": ("trusted_proxies", "str"),
    "http.hsts_max_age": ("hsts_max_age_ms", "duration"),
    "door.host": ("door_host", "str"),
    "door.port": ("door_port", "port_or_off"),
    "guests.public_url": ("guest_public_url", "base_url"),
    "mixer.transport": ("mixer_transport", "transport"),
    "mixer.srt_passphrase_file": ("mixer_srt_passphrase", "secret_file"),
    "mixer.srt_latency": ("mixer_srt_latency_ms", "duration"),
    "mixer.allow_plain_udp": ("mixer_allow_plain_udp", "bool"),
    "auth.prompter_token_file": ("prompter_token", "token_file"),
    "presenter.warning": ("presenter_warning_ms", "duration"),
    "presenter.danger": ("presenter_danger_ms", "duration"),
    "cluster.endpoints": ("cluster_endpoints", "endpoints"),
    "cluster.name": ("cluster_name", "str"),
    "cluster.url": ("cluster_url", "http_url"),
    "cluster.peer_url": ("cluster_peer_url", "http_url"),
    "cluster.lease_ttl": ("cluster_lease_ttl_s", "ttl"),
    "cluster.secret_file": ("cluster_secret", "secret_file"),
    "guests.sfu": ("guest_sfu", "sfu"),
    "janus.url": ("janus_url", "http_url"),
    "janus.room": ("janus_room", "count"),
    "janus.admin_key_file": ("janus_admin_key", "secret_file"),
    "janus.room_secret_file": ("janus_room_secret", "secret_file"),
    "janus.forward_host": ("janus_forward_host", "str"),
}
# environment variable -> (Settings field, kind)
_ENV: dict[str, tuple[str, str]] = {
    "SHOWCTL_OBS_URL": ("obs_url", "url"),
    "SHOWCTL_OBS_PASSWORD": ("obs_password", "secret"),
    "SHOWCTL_OBS_PASSWORD_FILE": ("obs_password", "secret_file"),
    "SHOWCTL_HTTP_HOST": ("http_host", "str"),
    "SHOWCTL_HTTP_PORT": ("http_port", "port"),
    "SHOWCTL_ALLOWED_HOSTS": ("allowed_hosts", "str"),
    "SHOWCTL_LOGIN_FAILURES_PER_ADDRESS": ("login_failures_per_address", "count0"),
    "SHOWCTL_LOG_FILE": ("log_file", "str"),
    "SHOWCTL_DIRECTOR_TOKEN": ("director_token", "token"),
    "SHOWCTL_DIRECTOR_TOKEN_FILE": ("director_token", "token_file"),
    "SHOWCTL_PRODUCER_TOKEN": ("producer_token", "token"),
    "SHOWCTL_PRODUCER_TOKEN_FILE": ("producer_token", "token_file"),
    "SHOWCTL_VIEWER_TOKEN": ("viewer_token", "token"),
    "SHOWCTL_VIEWER_TOKEN_FILE": ("viewer_token", "token_file"),
    "SHOWCTL_STATE_DIR": ("state_dir", "path"),
    "SHOWCTL_MODE": ("mode", "mode"),
    "SHOWCTL_OSC_ENABLED": ("osc_enabled", "bool"),
    "SHOWCTL_OSC_HOST": ("osc_host", "str"),
    "SHOWCTL_OSC_PORT": ("osc_port", "port"),
    "SHOWCTL_OSC_ALLOW": ("osc_allow", "str"),
    "SHOWCTL_METRICS_PUBLIC": ("metrics_public", "bool"),
    "SHOWCTL_OVERLAYS_DELAY": ("overlays_delay_ms", "duration"),
    "SHOWCTL_GUEST_SECRET": ("guest_secret", "secret"),
    "SHOWCTL_GUEST_INVITE_TTL": ("guest_invite_ttl_ms", "duration"),
    "SHOWCTL_ICE_HOSTS": ("guest_ice_hosts", "str"),
    "SHOWCTL_ICE_SERVERS": ("guest_ice_servers", "str"),
    "SHOWCTL_TURN_USERNAME": ("turn_username", "secret"),
    "SHOWCTL_TURN_CREDENTIAL": ("turn_credential", "secret"),
    "SHOWCTL_TURN_CREDENTIAL_FILE": ("turn_credential", "secret_file"),
    "SHOWCTL_TURN_SECRET": ("turn_secret", "secret"),
    "SHOWCTL_TURN_SECRET_FILE": ("turn_secret", "secret_file"),
    "SHOWCTL_GUEST_TURN_TTL": ("guest_turn_ttl_ms", "duration"),
    "SHOWCTL_GUEST_AV_OFFSETS": ("guest_av_offsets", "av_offsets"),
    "SHOWCTL_GUEST_ISO_MAX_MB": ("guest_iso_max_mb", "count"),
    "SHOWCTL_MIXER_ENABLED": ("mixer_enabled", "bool"),
    "SHOWCTL_MIXER_PORT": ("mixer_port", "port"),
    "SHOWCTL_GUEST_JOINS_PER_ADDRESS": ("guest_joins_per_address", "count0"),
    "SHOWCTL_GUEST_JOINS_PER_GUEST": ("guest_joins_per_guest", "count0"),
    "SHOWCTL_GUEST_MEDIA_GAP": ("guest_media_gap_ms", "duration"),
    "SHOWCTL_MIXER_KEYFRAME_EVERY": ("mixer_keyframe_every_ms", "duration"),
    "SHOWCTL_TLS_CERT_FILE": ("tls_cert_file", "file"),
    "SHOWCTL_TLS_KEY_FILE": ("tls_key_file", "file"),
    "SHOWCTL_TRUSTED_PROXIES": ("trusted_proxies", "str"),
    "SHOWCTL_HSTS_MAX_AGE": ("hsts_max_age_ms", "duration"),
    "SHOWCTL_DOOR_HOST": ("door_host", "str"),
    "SHOWCTL_DOOR_PORT": ("door_port", "port_or_off"),
    "SHOWCTL_GUEST_PUBLIC_URL": ("guest_public_url", "base_url"),
    "SHOWCTL_MIXER_HOST": ("mixer_host", "str"),
    "SHOWCTL_MIXER_TRANSPORT": ("mixer_transport", "transport"),
    "SHOWCTL_MIXER_SRT_PASSPHRASE": ("mixer_srt_passphrase", "secret"),
    "SHOWCTL_MIXER_SRT_PASSPHRASE_FILE": ("mixer_srt_passphrase", "secret_file"),
    "SHOWCTL_MIXER_SRT_LATENCY": ("mixer_srt_latency_ms", "duration"),
    "SHOWCTL_MIXER_ALLOW_PLAIN_UDP": ("mixer_allow_plain_udp", "bool"),
    "SHOWCTL_PROMPTER_TOKEN": ("prompter_token", "token"),
    "SHOWCTL_PROMPTER_TOKEN_FILE": ("prompter_token", "token_file"),
    "SHOWCTL_PRESENTER_WARNING": ("presenter_warning_ms", "duration"),
    "SHOWCTL_PRESENTER_DANGER": ("presenter_danger_ms", "duration"),
    "SHOWCTL_CLUSTER_ENDPOINTS": ("cluster_endpoints", "endpoints"),
    "SHOWCTL_CLUSTER_NAME": ("cluster_name", "str"),
    "SHOWCTL_CLUSTER_URL": ("cluster_url", "http_url"),
    "SHOWCTL_CLUSTER_PEER_URL": ("cluster_peer_url", "http_url"),
    "SHOWCTL_CLUSTER_LEASE_TTL": ("cluster_lease_ttl_s", "ttl"),
    "SHOWCTL_CLUSTER_SECRET": ("cluster_secret", "secret"),
    "SHOWCTL_CLUSTER_SECRET_FILE": ("cluster_secret", "secret_file"),
    "SHOWCTL_GUEST_SFU": ("guest_sfu", "sfu"),
    "SHOWCTL_JANUS_URL": ("janus_url", "http_url"),
    "SHOWCTL_JANUS_ROOM": ("janus_room", "count"),
    "SHOWCTL_JANUS_ADMIN_KEY": ("janus_admin_key", "secret"),
    "SHOWCTL_JANUS_ADMIN_KEY_FILE": ("janus_admin_key", "secret_file"),
    "SHOWCTL_JANUS_ROOM_SECRET_FILE": ("janus_room_secret", "secret_file"),
    "SHOWCTL_JANUS_FORWARD_HOST": ("janus_forward_host", "str"),
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


MIN_TOKEN_LENGTH = 24  # control.web.auth.MIN_TOKEN_LENGTH (config does not import adapters)
MAKE_TOKEN = "python3 -c 'import secrets; print(secrets.token_urlsafe(24))'"


def _token(name: str, token: str | None) -> str | None:
    """A role's token: refused at start when short enough to guess (about 128 bits when
    random), so a weak token never reaches the API."""
    if token is not None and len(token) < MIN_TOKEN_LENGTH:
        raise ConfigError(f"{name}: the token is {len(token)} characters long; at least "
                          f"{MIN_TOKEN_LENGTH} are needed (make one: {MAKE_TOKEN})")
    return token


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
    """One setting's value (YAML or environment text) as its field's type; ConfigError
    naming the setting otherwise."""
    if kind == "av_offsets":
        return _av_offsets(name, value)
    if kind in ("token", "token_file"):
        return _token(name, _convert(name, kind.replace("token", "secret"), value, base))
    if kind in ("endpoints", "http_url", "ttl"):
        return _cluster_value(name, kind, value)
    text = "" if value is None else str(value).strip()
    if kind == "secret":
        return text or None
    if kind == "str":
        # (a YAML list is allowed where a comma-separated list is: osc.allow, allowed_hosts)
        return ",".join(map(str, value)) if isinstance(value, list) else text
    if kind == "secret_file":
        return _secret_file(name, text, base)
    if kind == "bool":
        return value if isinstance(value, bool) else _bool(name, text)
    if kind == "path":
        return Path(text) if Path(text).is_absolute() else base / text
    if kind in ("file", "port_or_off", "base_url"):
        return _convert_listener(name, kind, text, base)
    if kind == "url":
        if not text.startswith(("ws://", "wss://")):
            raise ConfigError(f"{name}: expected ws://HOST:PORT, got {text!r}")
        return text
    if kind in CHOICES:
        if text not in CHOICES[kind]:
            raise ConfigError(f"{name}: expected {' or '.join(CHOICES[kind])}, got {text!r}")
        return text
    if kind in ("port", "count", "count0"):
        return _number(name, kind, text)
    if kind in ("seconds", "duration", "lead"):
        return _time(name, kind, text)
    raise AssertionError(kind)


CHOICES = {"transport": ("udp", "srt"), "mode": ("rehearsal", "live"), "sfu": ("off", "janus")}


def _secret_file(name: str, text: str, base: Path) -> str | None:
    if not text:
        return None
    path = (base / text) if not Path(text).is_absolute() else Path(text)
    try:
        return path.read_text("utf-8").strip() or None
    except OSError as exc:
        raise ConfigError(f"{name}: cannot read {path}: {exc.strerror}") from None


def _bool(name: str, text: str) -> bool:
    if text.lower() in ("true", "yes", "1", "on"):
        return True
    if text.lower() in ("false", "no", "0", "off"):
        return False
    raise ConfigError(f"{name}: expected true or false, got {text!r}")


def _number(name: str, kind: str, text: str) -> int:
    if kind == "port" and not (text.isdigit() and 0 < int(text) < 65536):
        raise ConfigError(f"{name}: expected a port number, got {text!r}")
    if kind == "count" and not (text.isdigit() and int(text) > 0):
        raise ConfigError(f"{name}: expected a positive whole number, got {text!r}")
    if kind == "count0" and not text.isdigit():  # a limit where 0 means none
        raise ConfigError(f"{name}: expected a whole number (0: no limit), got {text!r}")
    return int(text)


def _time(name: str, kind: str, text: str) -> float | int | None:
    """`seconds`: a duration in (fractional) seconds, above zero; `duration`: milliseconds;
    `lead`: milliseconds, or None for "" / "auto" (measured)."""
    if kind == "lead" and text in ("", "auto"):
        return None
    try:
        ms = parse_duration(text)
    except DurationError as exc:
        raise ConfigError(f"{name}: {exc}") from None
    if kind != "seconds":
        return ms
    if ms <= 0:
        raise ConfigError(f"{name}: expected a time above zero, got {text!r}")
    return ms / 1000


def _convert_listener(name: str, kind: str, text: str, base: Path) -> Any:
    """The listeners' settings: a file (TLS; "" none), a port or off, a public base URL."""
    if kind == "file":
        return None if not text else Path(text) if Path(text).is_absolute() else base / text
    if kind == "port_or_off":
        if text.lower() in ("", "off", "0", "none"):
            return None
        return _convert(name, "port", text, base)
    url = urlsplit(text)
    if text and (url.scheme not in ("http", "https") or not url.hostname
                 or url.path not in ("", "/") or url.query or url.fragment):
        raise ConfigError(f"{name}: expected https://HOST[:PORT] (no path), got {text!r}")
    return text.rstrip("/")


def _check_listeners(settings: Settings) -> None:
    """What no single setting can say wrong: the TLS pair, the proxies, the door's port."""
    if (settings.tls_cert_file is None) != (settings.tls_key_file is None):
        raise ConfigError("tls.cert_file and tls.key_file (SHOWCTL_TLS_CERT_FILE, "
                          "SHOWCTL_TLS_KEY_FILE) go together: set both, or neither")

    try:
        parse_networks(settings.trusted_proxies)
    except ValueError as exc:
        raise ConfigError(f"http.trusted_proxies (SHOWCTL_TRUSTED_PROXIES): {exc}") from None
    if settings.door_port is not None and (settings.door_host, settings.door_port) == (
            settings.http_host, settings.http_port):
        raise ConfigError(f"door.port: {settings.door_port} is the console's own port "
                          "(http.port): the door is a second listener")


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
        parse_networks(settings.osc_allow)
    except ValueError as exc:
        raise ConfigError(f"osc.allow (SHOWCTL_OSC_ALLOW): {exc}") from None
    try:
        parse_ice_servers(settings.guest_ice_servers, settings.turn_username,
                          settings.turn_credential, rest=settings.turn_secret is not None)
    except ValueError as exc:
        raise ConfigError(f"guests.ice_servers (SHOWCTL_ICE_SERVERS): {exc}") from None
    _check_listeners(settings)
    _check_feed(settings)
    _check_sfu(settings)
    return settings


def _check_sfu(s: Settings) -> None:
    """Janus in front: the VideoRoom's admin key is needed (rooms and RTP forwarders are
    locked with it, so a stranger on Janus's API can neither make rooms nor copy a guest's
    media elsewhere)."""
    if s.guest_sfu == "janus" and not s.janus_admin_key:
        raise ConfigError("guests.sfu is janus, so the VideoRoom's admin key is needed: "
                          "janus.admin_key_file (SHOWCTL_JANUS_ADMIN_KEY[_FILE]), the "
                          "admin_key of Janus's janus.plugin.videoroom.jcfg "
                          "(docs/scaling.md#janus)")


SRT_PASSPHRASE_CHARS = frozenset(
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.~")


def _is_loopback(host: str) -> bool:
    if host.strip().lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip().strip("[]")).is_loopback
    except ValueError:
        return False  # a name: it may resolve anywhere


def _check_feed(s: Settings) -> None:
    """The program feed: plain UDP only on loopback (anyone who reaches the port puts
    pictures on air) unless allowed on purpose; SRT only with a usable passphrase."""
    if not s.mixer_enabled:
        return
    if s.mixer_transport == "udp":
        if not _is_loopback(s.mixer_host) and not s.mixer_allow_plain_udp:
            raise ConfigError(
                f"mixer.host: {s.mixer_host!r} is not loopback, and the program feed would go "
                "there as plain UDP: anyone who can reach that port could put pictures into "
                "the guest scenes. Use mixer.transport: srt with a passphrase "
                "(SHOWCTL_MIXER_TRANSPORT=srt, SHOWCTL_MIXER_SRT_PASSPHRASE[_FILE]), or set "
                "mixer.allow_plain_udp: true for a network only OBS and showctl are on")
        return
    phrase = s.mixer_srt_passphrase
    where = "mixer.srt_passphrase_file (SHOWCTL_MIXER_SRT_PASSPHRASE[_FILE])"
    if not phrase:
        raise ConfigError(f"mixer.transport is srt but no passphrase is set: {where}; make "
                          "one with: python3 -c 'import secrets; "
                          "print(secrets.token_urlsafe(24))'")
    if not 10 <= len(phrase) <= 79:
        raise ConfigError(f"{where}: SRT needs a passphrase of 10 to 79 characters, this one "
                          f"has {len(phrase)}")
    if not set(phrase) <= SRT_PASSPHRASE_CHARS:
        raise ConfigError(f"{where}: use only letters, digits and - _ . ~ (it goes into "
                          "OBS's media source URL); secrets.token_urlsafe makes such")
    if not 20 <= s.mixer_srt_latency_ms <= 8000:
        raise ConfigError(f"mixer.srt_latency: expected 20ms to 8s, got "
                          f"{s.mixer_srt_latency_ms} ms")
