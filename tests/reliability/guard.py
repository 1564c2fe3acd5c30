"""An audit hook (PEP 578) that records what the server must never do: read a file that the client
only named in a URI, or reach any address other than a unix socket or loopback.

Installed first thing in server_under_test.py with `--guard LOG --secret DIR`. Violations are written
with os.write to a descriptor opened before the hook, because opening a file inside the hook would
raise another audit event.
"""

from __future__ import annotations

import ipaddress
import os
import socket
import sys


def install(log_path: str, secrets: list[str]) -> None:
    """Record forbidden events to `log_path`, one line each, for the rest of the process."""
    fd = os.open(log_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    roots = tuple(os.path.realpath(s) for s in secrets)

    def hook(event: str, args: tuple) -> None:
        problem = _violation(event, args, roots)
        if problem is not None:
            os.write(fd, (problem.replace("\n", " ") + "\n").encode("utf-8", "backslashreplace"))

    sys.addaudithook(hook)


def _violation(event: str, args: tuple, roots: tuple[str, ...]) -> str | None:
    if event == "open" and isinstance(args[0], str | bytes):
        path = os.fsdecode(args[0])
        if path.startswith(roots):
            return f"open {path}"
    elif event == "socket.connect":
        sock, address = args[0], args[1]
        if sock.family != socket.AF_UNIX and not _loopback(address[0]):
            return f"connect {address!r}"
    elif event == "socket.getaddrinfo" and not _loopback(str(args[0])):
        return f"getaddrinfo {args[0]!r}"
    elif event in ("urllib.Request", "http.client.connect", "ftplib.connect", "smtplib.connect"):
        return f"{event} {args!r:.200}"
    return None


def _loopback(host: str) -> bool:
    if host in ("localhost", "", "None"):
        return host == "localhost"
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
