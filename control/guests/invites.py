"""Guest invite tokens: signed (HMAC-SHA256), bound to one guest id, with an expiry and the
guest's invite generation (control.guests.bindings: revoking bumps it).

    token = make_token(secret, "zhu-dingzhen", expires=now + 86400, generation=0)
    check_token(secret, token, "zhu-dingzhen", now)   # its generation; InviteError(401 | 403)

A token is ``base64url(guest "\\n" expires "\\n" generation) "." base64url(hmac)`` (tokens
made before generations, without the third field, are generation 0). Pure functions, except
``load_secret`` (environment, or a 0600 file in the state directory made on first use).
The secret never lives in the repository.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
import secrets
from collections.abc import Mapping
from pathlib import Path
from urllib.parse import quote

SECRET_ENV = "SHOWCTL_GUEST_SECRET"
SECRET_FILE = "guest-secret"
DEFAULT_TTL_S = 86400


class InviteError(Exception):
    """Why a token is refused: ``status`` 401 (not a valid token) or 403 (another guest's)."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _mac(secret: bytes, payload: bytes) -> bytes:
    return hmac.new(secret, b"showctl-guest-invite\n" + payload, hashlib.sha256).digest()


def make_token(secret: bytes, guest: str, expires: int, generation: int = 0) -> str:
    """A token for ``guest`` valid until ``expires`` (Unix seconds) while the guest's invite
    generation is ``generation``."""
    if not guest or "\n" in guest:
        raise ValueError(f"not a guest id: {guest!r}")
    if generation < 0:
        raise ValueError(f"not an invite generation: {generation!r}")
    payload = f"{guest}\n{int(expires)}\n{int(generation)}".encode()
    return f"{_b64(payload)}.{_b64(_mac(secret, payload))}"


def token_claims(secret: bytes, token: str, now: float) -> tuple[str, int]:
    """(guest, generation) of a genuine, unexpired token; InviteError(401) otherwise."""
    try:
        head, _, sig = token.partition(".")
        payload, mac = _unb64(head), _unb64(sig)
        fields = payload.decode("utf-8").split("\n")
        if len(fields) == 2:  # made before generations
            fields.append("0")
        if len(fields) != 3:
            raise ValueError("fields")
        guest, expires, generation = fields[0], int(fields[1]), int(fields[2])
        if generation < 0:
            raise ValueError("generation")
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise InviteError(401, "the invite token is not valid") from None
    if not guest or not hmac.compare_digest(mac, _mac(secret, payload)):
        raise InviteError(401, "the invite token is not valid")
    if now >= expires:
        raise InviteError(401, "the invite has expired: ask the producer for a new link")
    return guest, generation


def token_guest(secret: bytes, token: str, now: float) -> str:
    """The guest a genuine, unexpired token is for; InviteError(401) otherwise."""
    return token_claims(secret, token, now)[0]


def check_token(secret: bytes, token: str | None, guest: str, now: float) -> int:
    """The token's generation if it is a genuine, unexpired invite for ``guest``: else
    InviteError 401 (missing, tampered, expired) or 403 (a valid invite for another guest).
    Whether that generation is still the guest's is control.guests.bindings' question."""
    if not token:
        raise InviteError(401, "an invite token is required (?t=TOKEN or Authorization: "
                          "Bearer TOKEN)")
    owner, generation = token_claims(secret, token, now)
    if owner != guest:
        raise InviteError(403, "this invite is for another guest")
    return generation


def invite_link(base: str, guest: str, token: str) -> str:
    """The guest's link under `base` (`https://HOST[:PORT]`, as guests reach the server:
    the wiring's public_base_url)."""
    return f"{base.rstrip('/')}/guest/{quote(guest, safe='')}?t={token}"


def invite_url(host: str, port: int, guest: str, token: str, *, scheme: str = "http") -> str:
    """The link on a listening address (tests, the drill: loopback)."""
    shown = f"[{host}]" if ":" in host else host
    return invite_link(f"{scheme}://{shown}:{port}", guest, token)


def load_secret(state_dir: Path, env: Mapping[str, str] | None = None) -> bytes:
    """The server's invite secret: ``SHOWCTL_GUEST_SECRET``, else ``STATE_DIR/guest-secret``
    (created with mode 0600 on first use)."""
    env = os.environ if env is None else env
    text = (env.get(SECRET_ENV) or "").strip()
    if text:
        return text.encode()
    path = state_dir / SECRET_FILE
    try:
        return path.read_text("utf-8").strip().encode()
    except FileNotFoundError:
        pass
    state_dir.mkdir(parents=True, exist_ok=True)
    value = secrets.token_urlsafe(32)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # made meanwhile by another process
        return path.read_text("utf-8").strip().encode()
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(value + "\n")
    return value.encode()
