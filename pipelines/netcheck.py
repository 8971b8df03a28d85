"""Exit 0 when the internet looks reachable (a TCP connect to a public API), else 1, quietly."""

from __future__ import annotations

import socket
import sys

PROBES = (("api.binance.com", 443), ("query1.finance.yahoo.com", 443))


def network_available(timeout: float = 3.0) -> bool:
    """True when any probe host accepts a TCP connection within the timeout."""
    for host, port in PROBES:
        try:
            with socket.create_connection((host, port), timeout=timeout):
                return True
        except OSError:
            continue
    return False


if __name__ == "__main__":
    sys.exit(0 if network_available() else 1)
