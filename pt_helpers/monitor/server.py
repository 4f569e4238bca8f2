"""A local visdom server process: start it on 127.0.0.1 and a free port, wait until it answers, stop it.

Taught in notebooks/05_cnn.ipynb. :func:`start_visdom` launches ``python -m visdom.server`` bound to
127.0.0.1 (a free port, a private temporary env folder) and returns a :class:`VisdomServer` that stops it
(also at interpreter exit). With the web assets provisioned (:func:`pt_helpers.monitor.assets.assets_ready`)
the server never touches the network.
"""

from __future__ import annotations

import atexit
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import weakref
from pathlib import Path
from typing import Any
from urllib.parse import quote

from .assets import assets_ready
from .client import http_session

__all__ = ["VisdomServer", "start_visdom"]

_LIVE: weakref.WeakSet[VisdomServer] = weakref.WeakSet()


def _port_free(port: int) -> bool:
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class VisdomServer:
    """A running ``visdom.server`` process. Use as a context manager, or call :meth:`stop`.

    Attributes: ``url`` (``http://127.0.0.1:PORT``), ``port``, ``process`` (``subprocess.Popen``),
    ``env_path`` (where visdom saves envs), ``log_path`` (the server's stdout and stderr).
    """

    def __init__(self, process: subprocess.Popen, port: int, env_path: Path, log_path: Path, workdir: Path,
                 own_env_path: bool):
        self.process, self.port, self.env_path, self.log_path = process, port, env_path, log_path
        self._workdir, self._own_env_path = workdir, own_env_path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def env_url(self, env: str = "main") -> str:
        """The dashboard URL that opens one env."""
        return f"{self.url}/env/{quote(env)}"

    @property
    def alive(self) -> bool:
        return self.process.poll() is None

    def stop(self, timeout: float = 10.0) -> None:
        """Terminate the server (kill it if it does not exit within ``timeout``) and delete its temp files."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout)
        _LIVE.discard(self)
        if self._own_env_path:
            shutil.rmtree(self._workdir, ignore_errors=True)

    def __enter__(self) -> VisdomServer:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    def __repr__(self) -> str:
        return f"VisdomServer(url={self.url!r}, {'running' if self.alive else 'stopped'})"


@atexit.register
def _stop_all() -> None:
    for server in list(_LIVE):
        server.stop(timeout=3)


def _tail(path: Path, lines: int = 12) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


def start_visdom(port: int | None = None, *, timeout: float = 60.0, env_path: str | Path | None = None) -> VisdomServer:
    """Launch ``python -m visdom.server`` bound to 127.0.0.1 and wait until its dashboard answers.

    Args:
        port: the TCP port; None picks a free one.
        timeout: seconds to wait for the server to answer (it imports torch: a few seconds).
        env_path: where visdom saves envs; None = a temporary folder deleted by :meth:`VisdomServer.stop`.
    Returns:
        A :class:`VisdomServer`; pass it to :class:`VisdomMonitor`. Open ``server.url`` in a browser
        (on a remote or cloud machine, forward the port first: ``ssh -L PORT:127.0.0.1:PORT host``).
    Raises:
        ValueError: bad or busy ``port``. RuntimeError: the server exited or did not answer in time
        (the message holds the end of its log).
    """
    if port is None:
        port = _free_port()
    elif not isinstance(port, int) or isinstance(port, bool) or not 1 <= port <= 65535:
        raise ValueError(f"start_visdom(port={port!r}): expected an int in 1..65535 or None (a free port)")
    elif not _port_free(port):
        raise ValueError(f"start_visdom(port={port}): port {port} is already in use on 127.0.0.1 "
                         "(another visdom? pass port=None for a free one)")
    if not assets_ready():
        print("visdom: web assets not provisioned (run `make setup`); the server will try to download them")
    workdir = Path(tempfile.mkdtemp(prefix="pt-visdom-"))
    own = env_path is None
    envs = workdir / "envs" if own else Path(env_path).expanduser().resolve()
    envs.mkdir(parents=True, exist_ok=True)
    log_path = workdir / "server.log"
    cmd = [sys.executable, "-m", "visdom.server", "-port", str(port), "-bind_local", "--hostname", "127.0.0.1",
           "-env_path", str(envs) + os.sep, "-logging_level", "WARNING"]
    with open(log_path, "wb") as log:
        process = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                   cwd=workdir)
    server = VisdomServer(process, port, envs, log_path, workdir, own)
    _LIVE.add(server)
    session = http_session(trust_env=False)
    t0 = time.monotonic()
    status = None
    while time.monotonic() - t0 < timeout and process.poll() is None:
        try:
            status = session.get(server.url + "/", timeout=2).status_code
            break
        except Exception:  # noqa: BLE001 - not listening yet
            time.sleep(0.2)
    if status != 200:
        log = _tail(log_path)
        server.stop()
        if status == 403 and "not in root static directory" in log:
            import tornado

            raise RuntimeError(f"visdom 0.2.4's page fails with tornado {tornado.version} (needs < 6.6): "
                               "pip install tornado==6.5.10 (pinned in requirements.txt)")
        why = (f"exited with code {process.returncode}" if process.returncode is not None
               else f"answered HTTP {status}" if status else f"did not answer within {timeout:.0f} s")
        raise RuntimeError(f"visdom server on port {port} {why}; end of its log:\n{log}")
    print(f"visdom: serving {server.url} (ready in {time.monotonic() - t0:.1f} s); stop it with .stop()")
    return server
