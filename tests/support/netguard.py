"""Refuse every outbound network attempt during a test, and name who tried.

Python-level: ``socket.socket.connect``, ``connect_ex`` and ``sendto`` for AF_INET/AF_INET6
sockets, ``socket.create_connection`` and name resolution. A guard may ``allow`` a few
``(ip, port)`` addresses (the local servers a test started): connections to those go
through and are listed in ``connections``; everything else is refused. Native code (llama.cpp, DuckDB)
opens sockets without going through Python, so :func:`inet_sockets` also lists the internet
sockets the process holds, from ``/proc``, for a before/after comparison.
"""

from __future__ import annotations

import os
import socket
import traceback
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any, NoReturn

import pytest

_INET = (socket.AF_INET, socket.AF_INET6)


class NetworkGuard:
    """Patches the socket module while active; ``attempts`` keeps each attempt with its stack."""

    def __init__(self, allow: Iterable[tuple[str, int]] = ()) -> None:
        self.attempts: list[str] = []
        self.allow = set(allow)
        self.connections: list[tuple[str, int]] = []  # allowed connections made, in order

    def allowed(self, address: object) -> bool:
        """Whether ``address`` is one of the allowed ``(ip, port)`` pairs (a connection to it is kept)."""
        if isinstance(address, tuple) and tuple(address[:2]) in self.allow:
            self.connections.append((address[0], address[1]))
            return True
        return False

    def refuse(self, what: str) -> NoReturn:
        """Record the attempt with the caller's stack, then fail it as a refused connection."""
        stack = "".join(traceback.format_stack(limit=15)[:-2])
        self.attempts.append(f"{what}, called from:\n{stack}")
        raise ConnectionRefusedError(f"network access refused in an air-gapped test: {what}, called from:\n{stack}")

    def install(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """Replace the socket entry points; ``monkeypatch`` puts them back."""
        real = {name: getattr(socket.socket, name) for name in ("connect", "connect_ex", "sendto")}

        def guarded(name: str) -> Any:
            def call(sock: socket.socket, *args: Any) -> Any:
                if sock.family in _INET and not (name != "sendto" and self.allowed(args[-1])):
                    self.refuse(f"socket.{name}{args[-1:]!r}")  # the address is the last argument
                return real[name](sock, *args)

            return call

        for name in real:
            monkeypatch.setattr(socket.socket, name, guarded(name))
        real_create, real_resolve = socket.create_connection, socket.getaddrinfo

        def create_connection(address: Any, *args: Any, **kwargs: Any) -> socket.socket:
            if tuple(address[:2]) in self.allow:  # the connect() inside it records the connection
                return real_create(address, *args, **kwargs)
            self.refuse(f"create_connection({address!r})")

        def getaddrinfo(host: Any, port: Any, *args: Any, **kwargs: Any) -> Any:
            if (host, port) in self.allow:  # a numeric address: no resolver is asked
                return real_resolve(host, port, *args, **kwargs)
            self.refuse(f"getaddrinfo({host!r})")

        monkeypatch.setattr(socket, "create_connection", create_connection)
        monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
        for name in ("gethostbyname", "gethostbyname_ex"):
            monkeypatch.setattr(socket, name, lambda host, *a, _n=name, **k: self.refuse(f"{_n}({host!r})"))


def guarded(monkeypatch: pytest.MonkeyPatch, allow: Iterable[tuple[str, int]] = ()) -> Iterator[NetworkGuard]:
    """Body of a ``no_network`` fixture: refuse network access; fail the test, naming callers, if tried."""
    guard = NetworkGuard(allow)
    guard.install(monkeypatch)
    before = inet_sockets()
    yield guard
    if guard.attempts:
        pytest.fail("network access was attempted:\n\n" + "\n\n".join(guard.attempts), pytrace=False)
    opened = inet_sockets() - before
    assert not opened, f"native code holds internet sockets opened during the test: {opened}"


def inet_sockets() -> set[str]:
    """Inodes of the TCP/UDP sockets this process holds (empty where /proc is not Linux's)."""
    known: set[str] = set()
    for table in ("tcp", "tcp6", "udp", "udp6"):
        path = Path("/proc/net") / table
        if path.is_file():
            known |= {line.split()[9] for line in path.read_text().splitlines()[1:] if len(line.split()) > 9}
    mine = set()
    fd_dir = Path("/proc/self/fd")
    for fd in fd_dir.iterdir() if fd_dir.is_dir() else []:
        try:
            target = os.readlink(fd)
        except OSError:  # closed since the listing
            continue
        if target.startswith("socket:["):
            mine.add(target[8:-1])
    return mine & known
