"""The overlay read key: lets a page (an OBS browser source) READ overlay state, nothing else.

Derived from a server secret (the wiring passes a configured token) with HMAC-SHA256, so it
is stable across restarts, changes when that token changes, and reveals nothing of it.
"""

from __future__ import annotations

import hashlib
import hmac

_PURPOSE = b"showctl/overlays/read-key/v1"


def derive_read_key(secret: str) -> str:
    if not secret:
        raise ValueError("the overlay read key needs a secret (a configured token)")
    return hmac.new(secret.encode("utf-8", "surrogatepass"), _PURPOSE,
                    hashlib.sha256).hexdigest()[:32]


def key_matches(given: str, key: str) -> bool:
    return hmac.compare_digest(given.encode("utf-8", "surrogatepass"), key.encode("utf-8"))
