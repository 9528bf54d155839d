"""Addresses and networks from settings (`osc.allow`, `http.trusted_proxies`): one parser for
every adapter that admits by source address. Shared plumbing: no I/O, no adapter imports."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def parse_networks(entries: str | Iterable[str]) -> tuple[Network, ...]:
    """Addresses and networks ("10.0.0.5", "10.0.0.0/24", "::1"), comma-separated or a list;
    blank entries are skipped. Raises ValueError naming the entry that is neither."""
    items = entries.split(",") if isinstance(entries, str) else list(entries)
    networks = []
    for item in filter(None, (i.strip() for i in items)):
        try:
            networks.append(ipaddress.ip_network(item, strict=False))
        except ValueError:
            raise ValueError(f"{item!r} is not an IP address or network (e.g. 10.0.0.5 or "
                             "10.0.0.0/24)") from None
    return tuple(networks)
