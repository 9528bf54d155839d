"""The drill's own certificate authority: the controller serves HTTPS as on show night, and
the tls-renew fault renews its certificate mid-show the way certbot does (a new pair written
over the old; showctl takes it without a restart: control/web/tls.py)."""

from __future__ import annotations

import asyncio
import hashlib
import ssl
from pathlib import Path

from ..web.certs import Issued, issue, make_ca, write_private

NAMES = ("127.0.0.1", "localhost")


class DrillTls:
    """A CA kept in memory (nothing outside the drill can be signed with it) and the
    controller's certificate files in `folder`."""

    def __init__(self, folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        self.ca: Issued = make_ca("showctl drill CA", days=1)
        self.ca_file, self.cert, self.key = (folder / "ca.pem", folder / "cert.pem",
                                             folder / "key.pem")
        self.ca_file.write_bytes(self.ca.cert_pem)
        self.context = ssl.create_default_context(cafile=str(self.ca_file))
        self.renew()

    def renew(self) -> str:
        """A new certificate and key over the old files (the key first: showctl takes a
        pair once both have changed). Its fingerprint."""
        issued = issue(self.ca, NAMES, days=1)
        write_private(self.key, issued.key_pem)
        tmp = self.cert.with_name(".cert.pem.tmp")
        tmp.write_bytes(issued.cert_pem + self.ca.cert_pem)
        tmp.replace(self.cert)
        return fingerprint(ssl.PEM_cert_to_DER_cert(issued.cert_pem.decode("ascii")))

    def env(self) -> dict[str, str]:
        return {"SHOWCTL_TLS_CERT_FILE": str(self.cert), "SHOWCTL_TLS_KEY_FILE": str(self.key)}


def fingerprint(der: bytes) -> str:
    return hashlib.sha256(der).hexdigest()


async def served(port: int, context: ssl.SSLContext) -> str:
    """The fingerprint of the certificate a new connection to 127.0.0.1:`port` is given
    (verified against the drill's CA)."""
    _, writer = await asyncio.wait_for(
        asyncio.open_connection("127.0.0.1", port, ssl=context), 10)
    try:
        der = writer.get_extra_info("ssl_object").getpeercert(binary_form=True)
        return fingerprint(der)
    finally:
        writer.close()
