"""Where an endpoint may be reached without TLS: only on this machine (emulators, test servers)."""

from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit

__all__ = ["is_https_or_loopback", "is_loopback"]


def is_loopback(url: str) -> bool:
    """Whether ``url`` names this machine (``localhost`` or a loopback address)."""
    host = urlsplit(url).hostname or ""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def is_https_or_loopback(url: str) -> bool:
    """https anywhere, or plain http to this machine."""
    parts = urlsplit(url)
    return bool(parts.hostname) and (parts.scheme == "https" or (parts.scheme == "http" and is_loopback(url)))
