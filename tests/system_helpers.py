"""Process and socket facts for the server tests, the same way on Linux, macOS and Windows (psutil, not /proc)."""

from __future__ import annotations

import socket

import psutil


def pid_alive(pid: int) -> bool:
    """True while the process exists and is not a zombie (an exited child nobody has reaped yet)."""
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def listening_addresses(port: int) -> set[str] | None:
    """Local addresses with a TCP socket listening on ``port``; None where the system does not tell a normal user
    (macOS lists other processes' sockets to root only)."""
    try:
        conns = psutil.net_connections(kind="inet")
    except psutil.AccessDenied:
        return None
    return {c.laddr.ip for c in conns if c.status == psutil.CONN_LISTEN and c.laddr and c.laddr.port == port}


def free_port() -> int:
    """A loopback port with nothing listening now (bound by the OS, then released) for a server to start on."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
