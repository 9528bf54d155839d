"""HTTPS on the controller's listeners: the certificate from files, renewed without a
restart (a new connection sees the new certificate's serial, an open one keeps its own), a
broken pair never replacing a good one. A CA of the test's own (control/web/certs.py)."""

from __future__ import annotations

import asyncio
import os
import ssl
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiohttp import web
from cryptography import x509
from helpers import until

from control.web.certs import Issued, issue, make_ca, write_private
from control.web.tls import Certificates, TlsError, TlsFiles, load_context


def _install(folder: Path, pair: Issued) -> TlsFiles:
    """Put a pair in place as a renewal does: each file replaced in one rename."""
    files = TlsFiles(folder / "cert.pem", folder / "key.pem")
    write_private(files.cert, pair.cert_pem)
    write_private(files.key, pair.key_pem)
    return files


def _serial(pair: Issued) -> int:
    return pair.cert.serial_number


@pytest.fixture
def ca() -> Issued:
    return make_ca("test CA")


async def _server(context: ssl.SSLContext) -> tuple[web.AppRunner, int]:
    app = web.Application()

    async def hello(_request: web.Request) -> web.Response:
        return web.Response(text="hello")

    app.router.add_get("/", hello)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0, ssl_context=context)
    await site.start()
    return runner, site._server.sockets[0].getsockname()[1]


@pytest.fixture
async def served(tmp_path: Path, ca: Issued) -> AsyncIterator[tuple[Certificates, int, Issued]]:
    first = issue(ca, ["127.0.0.1", "localhost"])
    certs = Certificates(_install(tmp_path, first), poll_s=0.05)
    runner, port = await _server(certs.context)
    try:
        yield certs, port, first
    finally:
        await runner.cleanup()


async def _connect(port: int, ca: Issued) -> tuple[int, asyncio.StreamWriter]:
    """A new TLS connection that trusts only the test's CA: the serial the server showed."""
    client = ssl.create_default_context(cadata=ca.cert_pem.decode())
    reader, writer = await asyncio.open_connection("127.0.0.1", port, ssl=client,
                                                   server_hostname="127.0.0.1")
    der = writer.get_extra_info("ssl_object").getpeercert(binary_form=True)
    writer.write(b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
    await writer.drain()
    assert (await reader.readline()).startswith(b"HTTP/1.1 200")
    return x509.load_der_x509_certificate(der).serial_number, writer


async def test_a_renewed_certificate_serves_new_connections_without_a_restart(
        served: tuple[Certificates, int, Issued], ca: Issued, tmp_path: Path) -> None:
    certs, port, first = served
    serial, old = await _connect(port, ca)
    assert serial == _serial(first)
    assert certs.serial == format(serial, "x")

    second = issue(ca, ["127.0.0.1", "localhost"])
    _install(tmp_path, second)
    task = asyncio.create_task(certs.run())  # the watcher notices by itself
    try:
        await until(lambda: certs.reloads == 1, 10, "the new pair loaded")
    finally:
        task.cancel()
    serial, new = await _connect(port, ca)
    assert serial == _serial(second) != _serial(first)
    # the connection opened before the renewal is still up, on its own certificate
    der = old.get_extra_info("ssl_object").getpeercert(binary_form=True)
    assert x509.load_der_x509_certificate(der).serial_number == _serial(first)
    old.write(b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
    await old.drain()
    for writer in (old, new):
        writer.close()


async def test_a_broken_pair_leaves_the_good_one_serving(
        served: tuple[Certificates, int, Issued], ca: Issued, tmp_path: Path) -> None:
    certs, port, first = served
    second, third = issue(ca, ["127.0.0.1"]), issue(ca, ["127.0.0.1"])
    # half a renewal: the new certificate is there, its key not yet
    write_private(tmp_path / "cert.pem", second.cert_pem)
    assert not certs.check()
    assert certs.error is not None and "does not belong" in certs.error
    assert not certs.check()  # the same files again: not tried (nor logged) again
    serial, writer = await _connect(port, ca)
    assert serial == _serial(first)
    writer.close()
    # the key arrives: the pair loads
    write_private(tmp_path / "key.pem", second.key_pem)
    assert certs.check() and certs.error is None
    serial, writer = await _connect(port, ca)
    assert serial == _serial(second)
    writer.close()
    # garbage in place of the certificate: the last good pair keeps serving
    write_private(tmp_path / "cert.pem", b"not a certificate\n")
    assert not certs.check() and "not a PEM" in (certs.error or "")
    os.remove(tmp_path / "key.pem")
    assert not certs.check() and "cannot read" in (certs.error or "")
    serial, writer = await _connect(port, ca)
    assert serial == _serial(second)
    writer.close()
    _install(tmp_path, third)
    assert certs.check()
    serial, writer = await _connect(port, ca)
    assert serial == _serial(third)
    writer.close()


def test_a_bad_pair_at_start_is_a_clear_error(tmp_path: Path, ca: Issued) -> None:
    one, other = issue(ca, ["127.0.0.1"]), issue(ca, ["127.0.0.1"])
    write_private(tmp_path / "cert.pem", one.cert_pem)
    write_private(tmp_path / "key.pem", other.key_pem)
    files = TlsFiles(tmp_path / "cert.pem", tmp_path / "key.pem")
    with pytest.raises(TlsError, match="the key does not belong to the certificate"):
        Certificates(files)
    with pytest.raises(TlsError, match="cannot read"):
        load_context(TlsFiles(tmp_path / "missing.pem", tmp_path / "key.pem"))


async def test_plain_http_to_the_tls_port_gets_no_page(
        served: tuple[Certificates, int, Issued]) -> None:
    _, port, _ = served
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
    await writer.drain()
    answer = await asyncio.wait_for(reader.read(4096), 10)
    assert b"hello" not in answer
    writer.close()


RUNDOWN = """\
show:
  title: TLS
  timezone: Asia/Shanghai
  start: 2023-12-31 22:00:00
  safe_scene: Slate
segments:
  - {id: intro, title: Intro, duration: 10m, scene: Studio Wide, then: hold}
"""
DIRECTOR = "director-token-tls-0123456789abcdef"


async def test_the_controller_over_https_secure_cookie_and_hsts(tmp_path: Path,
                                                                ca: Issued) -> None:
    """The whole wiring (run_show) with a certificate: the console's login cookie is Secure
    and every answer says Strict-Transport-Security; plain HTTP gets nothing."""
    import aiohttp

    from control.config import Settings
    from control.obs.launcher import free_port
    from control.wiring.live import run_show

    files = _install(tmp_path, issue(ca, ["127.0.0.1"]))
    (tmp_path / "tls.yaml").write_text(RUNDOWN, "utf-8")
    port = free_port()
    settings = Settings(obs_url=f"ws://127.0.0.1:{free_port()}", http_port=port,
                        director_token=DIRECTOR, state_dir=tmp_path / "state",
                        mixer_enabled=False, tls_cert_file=files.cert, tls_key_file=files.key)
    trust = ssl.create_default_context(cadata=ca.cert_pem.decode())
    async with run_show(tmp_path / "tls.yaml", settings, start="now"), \
            aiohttp.ClientSession(connector=aiohttp.TCPConnector(ssl=trust)) as http:
        base = f"https://127.0.0.1:{port}"
        async with http.post(f"{base}/api/login", json={"token": DIRECTOR}) as resp:
            assert resp.status == 200
            cookie = resp.headers["Set-Cookie"]
            assert "; Secure" in cookie and "HttpOnly" in cookie, cookie
            assert resp.headers["Strict-Transport-Security"] == "max-age=31536000"
        async with http.get(f"{base}/") as resp:
            assert resp.status == 200 and "Strict-Transport-Security" in resp.headers
        with pytest.raises(aiohttp.ClientError):
            async with http.get(f"http://127.0.0.1:{port}/api/state"):
                pass
        # renewed while it runs: the next connection has the new certificate
        second = issue(ca, ["127.0.0.1"])
        _install(tmp_path, second)

        async def renewed() -> bool:
            serial, writer = await _connect(port, ca)
            writer.close()
            return serial == _serial(second)

        await until(renewed, 30, "the renewed certificate served", interval=0.5)


def test_showctl_run_refuses_a_pair_that_does_not_load(tmp_path: Path, ca: Issued,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    from control.cli import main

    one, other = issue(ca, ["127.0.0.1"]), issue(ca, ["127.0.0.1"])
    write_private(tmp_path / "cert.pem", one.cert_pem)
    write_private(tmp_path / "key.pem", other.key_pem)
    (tmp_path / "tls.yaml").write_text(RUNDOWN, "utf-8")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("SHOWCTL_DIRECTOR_TOKEN", DIRECTOR)
    monkeypatch.setenv("SHOWCTL_TLS_CERT_FILE", "cert.pem")
    monkeypatch.setenv("SHOWCTL_TLS_KEY_FILE", "key.pem")
    with pytest.raises(SystemExit) as exit_:
        main(["run", "--no-terminal", "tls.yaml"])
    assert "key.pem: the key does not belong to the certificate" in str(exit_.value)
    assert not (tmp_path / "state").exists()  # refused before the show opened
