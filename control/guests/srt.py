"""An SRT caller that sends MPEG-TS: libsrt 1.5 through ctypes, for the program feed.

PyAV's bundled libavformat has no ``srt`` protocol (its protocol list has udp, rtp, srtp,
tcp, tls, ... but not srt), while Debian's libsrt1.5 (the library OBS's libavformat59
links) is on every machine that runs OBS. So the feed's encoder writes its MPEG-TS into
this object (PyAV custom I/O) and it sends it as SRT live-mode messages of at most 7 TS
packets (1316 bytes), encrypted with the passphrase (AES, ``pbkeylen`` bytes of key).

Every call blocks for at most a bound: a connect for ``connect_timeout_ms``, a send for
``send_timeout_ms``. Any failure is a ``LinkError``; the feed drops the connection and
opens a new one (control.guests.feed). Use one object from one thread.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import socket
import struct
import threading

PAYLOAD = 1316  # 7 x 188-byte TS packets: SRT's live-mode default payload
_SNDSYN, _SNDTIMEO, _LATENCY, _PASSPHRASE, _PBKEYLEN, _CONNTIMEO, _TRANSTYPE = (
    1, 13, 23, 26, 27, 36, 50)  # SRT_SOCKOPT (srt.h, libsrt 1.5)
_LIVE = 0  # SRTT_LIVE
_LIBRARIES = ("libsrt-gnutls.so.1.5", "libsrt-openssl.so.1.5", "libsrt.so.1.5")

_lib: ctypes.CDLL | None = None
_lib_lock = threading.Lock()


class LinkError(OSError):
    """The stream could not be opened, or a write failed (OBS gone, SRT peer lost)."""


def library() -> ctypes.CDLL:
    """libsrt, loaded and started once (``srt_startup``); ``LinkError`` if missing."""
    global _lib
    with _lib_lock:
        if _lib is not None:
            return _lib
        names = [*_LIBRARIES, ctypes.util.find_library("srt-gnutls"),
                 ctypes.util.find_library("srt")]
        for name in filter(None, names):
            try:
                lib = ctypes.CDLL(name)
            except OSError:
                continue
            lib.srt_getlasterror_str.restype = ctypes.c_char_p
            lib.srt_rejectreason_str.restype = ctypes.c_char_p
            lib.srt_sendmsg2.argtypes = (ctypes.c_int, ctypes.c_char_p, ctypes.c_int,
                                         ctypes.c_void_p)
            if lib.srt_startup() < 0:
                raise LinkError(f"srt_startup failed: {_error(lib)}")
            _lib = lib
            return lib
        raise LinkError("libsrt 1.5 is not installed (Debian: libsrt1.5-gnutls)")


def _error(lib: ctypes.CDLL) -> str:
    return (lib.srt_getlasterror_str() or b"unknown error").decode(errors="replace")


def _sockaddr(host: str, port: int) -> bytes:
    """struct sockaddr_in / sockaddr_in6 for the first address ``host`` resolves to."""
    try:
        family, _, _, _, addr = socket.getaddrinfo(host, port, type=socket.SOCK_DGRAM)[0]
    except socket.gaierror as exc:
        raise LinkError(f"cannot resolve {host!r}: {exc.strerror}") from None
    packed = socket.inet_pton(family, addr[0])
    if family == socket.AF_INET:
        return struct.pack("=H", family) + struct.pack("!H", port) + packed + bytes(8)
    return (struct.pack("=H", family) + struct.pack("!HI", port, addr[2]) + packed
            + struct.pack("=I", addr[3]))


class SrtSender:
    """A connected SRT live-mode caller; ``write`` takes MPEG-TS bytes (whole TS packets)."""

    def __init__(self, host: str, port: int, *, passphrase: str, latency_ms: int,
                 pbkeylen: int = 16, connect_timeout_ms: int = 1000,
                 send_timeout_ms: int = 1000) -> None:
        self.lib = lib = library()
        self.where = f"srt://{host}:{port}"
        self.sock: int | None = lib.srt_create_socket()
        if self.sock is None or self.sock < 0:
            raise LinkError(f"{self.where}: cannot create an SRT socket: {_error(lib)}")
        try:
            key = passphrase.encode()
            self._set(_TRANSTYPE, _LIVE)
            self._set(_SNDSYN, 1)
            self._set(_SNDTIMEO, send_timeout_ms)
            self._set(_CONNTIMEO, connect_timeout_ms)
            self._set(_LATENCY, latency_ms)
            self._set(_PBKEYLEN, pbkeylen)
            if lib.srt_setsockflag(self.sock, _PASSPHRASE, key, len(key)) < 0:
                raise LinkError(f"{self.where}: the passphrase is refused: {_error(lib)}")
            addr = _sockaddr(host, port)
            if lib.srt_connect(self.sock, addr, len(addr)) < 0:
                reason = lib.srt_getrejectreason(self.sock)
                why = (lib.srt_rejectreason_str(reason) or b"").decode(errors="replace")
                raise LinkError(f"{self.where}: cannot connect: {_error(lib)} ({why})")
        except BaseException:
            self.close()
            raise
        self.bytes = 0

    def _set(self, option: int, value: int) -> None:
        number = ctypes.c_int(value)
        if self.lib.srt_setsockflag(self.sock, option, ctypes.byref(number), 4) < 0:
            raise LinkError(f"{self.where}: SRT option {option}={value}: {_error(self.lib)}")

    def write(self, data: bytes) -> int:
        """Send ``data`` as messages of at most ``PAYLOAD`` bytes (PyAV's custom I/O)."""
        if self.sock is None:
            raise LinkError(f"{self.where}: closed")
        view = memoryview(data)
        for start in range(0, len(view), PAYLOAD):
            chunk = bytes(view[start:start + PAYLOAD])
            if self.lib.srt_sendmsg2(self.sock, chunk, len(chunk), None) < 0:
                raise LinkError(f"{self.where}: {_error(self.lib)}")
        self.bytes += len(data)
        return len(data)

    def close(self) -> None:
        sock, self.sock = self.sock, None
        if sock is not None and sock >= 0:
            self.lib.srt_close(sock)
