"""TLS for the HTTP listeners, with the certificate renewed without a restart.

Browsers give a camera only to a secure context, so guests need HTTPS (docs/deploy.md).
The certificate and key come from files named in the settings. The server holds one
`ssl.SSLContext` for its whole life (`Certificates.context`); every handshake passes its SNI
hook, which hands the connection the newest good context. `Certificates.check()` looks at
the two files (inode, size, modification time: a renewal that swaps a symlink counts) and,
when they changed, loads them into a new context: the next handshake gets the new
certificate, connections already open keep theirs. A pair that does not load (half copied,
a key that does not match) leaves the last good one serving, with a warning; it is tried
again when the files change again. `Certificates.run()` checks every few seconds.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime
import logging
import os
import ssl
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509

log = logging.getLogger(__name__)

POLL_S = 5.0          # how often the files are looked at
EXPIRY_WARNING_DAYS = 14

Signature = tuple[tuple[int, int, int] | None, ...]  # per file: (inode, size, mtime ns)


class TlsError(Exception):
    """The certificate or key cannot be used; the message names the files and says why."""


@dataclass(frozen=True, slots=True)
class TlsFiles:
    cert: Path  # PEM: the server's certificate, then the chain
    key: Path   # PEM: its private key, unencrypted (readable by showctl only)


def load_context(files: TlsFiles) -> ssl.SSLContext:
    """A server context with this pair: TLS 1.2 or newer, Python's default ciphers."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    for path in (files.cert, files.key):
        try:
            path.open("rb").close()
        except OSError as exc:
            raise TlsError(f"{path}: cannot read: {exc.strerror}") from None
    try:
        context.load_cert_chain(files.cert, files.key)
    except (OSError, ssl.SSLError, ValueError) as exc:
        raise TlsError(f"{files.cert} with {files.key}: {_why(exc)}") from None
    return context


def _why(exc: BaseException) -> str:
    if isinstance(exc, ssl.SSLError) and "KEY_VALUES_MISMATCH" in str(exc):
        return "the key does not belong to the certificate"
    return f"not a PEM certificate and key: {exc}"


def signature(files: TlsFiles) -> Signature:
    out: list[tuple[int, int, int] | None] = []
    for path in (files.cert, files.key):
        try:
            st = os.stat(path)
        except OSError:
            out.append(None)
            continue
        out.append((st.st_ino, st.st_size, st.st_mtime_ns))
    return tuple(out)


def describe(path: Path) -> tuple[str, datetime.datetime] | None:
    """(serial in hex, expiry) of the first certificate in a PEM file, or None."""
    try:
        cert = x509.load_pem_x509_certificate(path.read_bytes())
    except (OSError, ValueError):
        return None
    return format(cert.serial_number, "x"), cert.not_valid_after_utc


class Certificates:
    """The listeners' TLS: one context to serve with, the newest good pair behind it.
    Raises TlsError at construction: the controller does not start with a broken pair."""

    def __init__(self, files: TlsFiles, *, poll_s: float = POLL_S) -> None:
        self.files = files
        self.poll_s = poll_s
        self._seen = signature(files)
        self.current = load_context(files)
        self.context = self.current  # what the server holds; its hook picks `current`
        self.context.sni_callback = self._pick
        self.serial: str | None = None
        self.error: str | None = None  # the last pair that did not load, and why
        self.reloads = 0
        self._loaded()

    def _pick(self, connection: ssl.SSLObject | ssl.SSLSocket, _name: str | None,
              context: ssl.SSLContext) -> None:
        current = self.current
        if current is not context:
            connection.context = current

    def check(self) -> bool:
        """Load the files again if they changed; True when a new pair is serving."""
        now = signature(self.files)
        if now == self._seen:
            return False
        self._seen = now
        try:
            context = load_context(self.files)
        except TlsError as exc:
            self.error = str(exc)
            log.warning("TLS: the new certificate is not used (the previous one still "
                        "serves): %s", exc)
            return False
        self.current = context
        self.error = None
        self.reloads += 1
        self._loaded()
        return True

    def _loaded(self) -> None:
        about = describe(self.files.cert)
        if about is None:
            return
        self.serial, expires = about
        days = (expires - datetime.datetime.now(datetime.UTC)).total_seconds() / 86400
        log.info("TLS: serving certificate %s from %s, valid until %s", self.serial,
                 self.files.cert, expires.isoformat(timespec="minutes"))
        if days < EXPIRY_WARNING_DAYS:
            log.warning("TLS: the certificate %s expires in %.1f days: renew it (it is "
                        "taken without a restart)", self.serial, days)

    async def run(self) -> None:
        """Check the files every `poll_s` seconds, off the event loop, until cancelled."""
        while True:
            await asyncio.sleep(self.poll_s)
            with contextlib.suppress(OSError):
                await asyncio.to_thread(self.check)
