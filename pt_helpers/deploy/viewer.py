"""netron on loopback: serve a model file, show it in the notebook, stop it.

Taught in notebooks/10_deploy.ipynb. netron (the Python package) runs a small HTTP server in a thread of
this process; its page, scripts and styles come from the package itself, so it works offline. The
server listens on 127.0.0.1 only, on a free port the OS picks.
"""

from __future__ import annotations

import logging
import socket
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

__all__ = ["NetronServer", "serve_netron", "stop_netron", "show_netron"]

_HOST = "127.0.0.1"


@dataclass(frozen=True)
class NetronServer:
    """A running netron server: open ``url`` in a browser (on this machine) to see ``path``."""

    url: str
    address: tuple[str, int]
    path: Path


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=0.5) as r:
            return r.status == 200
    except OSError:
        return False


def serve_netron(path: str | Path, *, timeout: float = 2.0) -> NetronServer:
    """Start netron for ``path`` on 127.0.0.1 and a free port; return once the page answers.

    Args:
        path: a model file netron reads (``.onnx``; also ``.pt``/``.pth``, which it can only partly show).
        timeout: seconds to wait for the first HTTP 200.
    Returns:
        A :class:`NetronServer` with ``.url``; pass it to :func:`show_netron` and :func:`stop_netron`.
    """
    import netron

    path = Path(path).resolve()
    if not path.is_file():
        raise FileNotFoundError(f"serve_netron: no model file at {path}")
    # netron calls logging.basicConfig() when the root logger has no handler, which would change logging
    # for the whole notebook; a temporary NullHandler keeps the global configuration as it was.
    guard = logging.NullHandler()
    logging.getLogger().addHandler(guard)
    try:
        address = netron.start(str(path), address=(_HOST, 0), browse=False)  # port 0: the OS picks a free one
    finally:
        logging.getLogger().removeHandler(guard)
    handle = NetronServer(url=f"http://{address[0]}:{address[1]}", address=(address[0], int(address[1])), path=path)
    deadline = time.monotonic() + timeout
    while not _answers(handle.url):
        if time.monotonic() > deadline:
            stop_netron(handle)
            raise RuntimeError(f"serve_netron: netron did not answer at {handle.url} within {timeout} s")
        time.sleep(0.05)
    return handle


def stop_netron(handle: NetronServer, *, timeout: float = 2.0) -> None:
    """Stop the server and wait until its port is closed."""
    import netron

    netron.stop(handle.address)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as s:
            s.settimeout(0.2)
            if s.connect_ex(handle.address) != 0:
                return
        time.sleep(0.05)
    raise RuntimeError(f"stop_netron: {handle.url} still answers after {timeout} s")


def show_netron(handle: NetronServer, *, height: int = 480):
    """An IFrame for the notebook (``IPython.display.IFrame``). The browser showing the notebook must
    reach 127.0.0.1 of the machine running the kernel: on a remote server, forward the port
    (``ssh -L PORT:127.0.0.1:PORT host``) or open ``handle.url`` there."""
    from IPython.display import IFrame

    return IFrame(handle.url, width="100%", height=height)
