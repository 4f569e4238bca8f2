"""Watch training live: a local visdom server and a ``fit`` callback that plots into it.

Taught in notebooks/05_cnn.ipynb. :func:`start_visdom` launches ``python -m visdom.server`` on
127.0.0.1 (a free port, a private temporary env folder) and returns a handle that stops it.
:class:`VisdomMonitor` is a :class:`~pt_helpers.callbacks.Callback`: during ``fit`` it draws the loss
and accuracy curves per epoch and the batch loss, and it can show images and text.

Offline: visdom 0.2.4 downloads its web assets from CDNs when its server starts and crashes without
network; ``make setup`` (``scripts/visdom_assets.py install``) provisions the exact files from npm, so
the server here never touches the network.

Fallback: when no server answers within ``timeout`` (≤ 2 s), the monitor prints ONE line and draws
the curves with matplotlib instead: in Jupyter one inline figure (loss | accuracy) is displayed at the
first epoch and updated in place after every epoch and at the end; outside IPython nothing is shown
and :meth:`VisdomMonitor.figure` returns the figure. The same happens, with one line, if the server
goes away during training. Training never stops because of the monitor.

    server = start_visdom()                 # prints the URL to open; or: with start_visdom() as server:
    monitor = VisdomMonitor(server, env="cnn")
    history = fit(model, train_loader, val_loader, ..., callbacks=[monitor])
    monitor.images(x[:16], title="inputs"); monitor.text("done", title="notes")
    server.stop()
"""

from __future__ import annotations

import atexit
import importlib.util
import logging
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
from urllib.parse import quote, urlparse

import numpy as np
import torch
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from .callbacks import Callback

__all__ = ["VisdomServer", "start_visdom", "VisdomMonitor", "assets_ready", "DEFAULT_PORT"]

DEFAULT_PORT = 8097  # visdom's own default, for a server started by hand with `python -m visdom.server`
_LIVE: weakref.WeakSet[VisdomServer] = weakref.WeakSet()


def _visdom_dir() -> Path:
    spec = importlib.util.find_spec("visdom")
    if spec is None or spec.origin is None:
        raise RuntimeError("visdom is not installed: run `make setup` (requirements.txt pins visdom==0.2.4)")
    return Path(spec.origin).parent


def assets_ready() -> bool:
    """True when visdom's web assets are provisioned, so its server starts without downloading anything."""
    vdir = _visdom_dir()
    stamp, static = vdir / "static" / "version.built", vdir / "static"
    return (stamp.is_file() and stamp.read_text().strip() == (vdir / "VERSION").read_text().strip()
            and (static / "js" / "plotly-plotly.min.js").is_file()
            and (static / "js" / "mathjax" / "2.7.5" / "MathJax.js").is_file())


def _session(trust_env: bool):
    import requests

    session = requests.Session()
    session.trust_env = trust_env  # False for loopback: an http_proxy variable must not capture 127.0.0.1
    return session


def _is_loopback(host: str) -> bool:
    return host in ("localhost", "127.0.0.1", "::1") or host.startswith("127.")


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
    session = _session(trust_env=False)
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


def _client(server: str, port: int, env: str, timeout: float):
    """A visdom client whose requests time out and ignore proxies for loopback (visdom's have no timeout)."""
    import visdom

    logging.getLogger("visdom").setLevel(logging.CRITICAL)  # it logs warnings for normal use

    class _Client(visdom.Visdom):
        def __init__(self, **kwargs: Any):
            self._pt_timeout = (timeout, max(10.0, timeout))  # (connect, read) seconds
            self._pt_trust_env = not _is_loopback(urlparse(server).hostname or "")
            super().__init__(**kwargs)

        @property
        def session(self):
            if self._session is None:
                self._session = _session(self._pt_trust_env)
            return self._session

        def _handle_post(self, url: str, data: Any = None) -> str:
            return self.session.post(url, data=data if data is not None else {}, timeout=self._pt_timeout).text

    return _Client(server=server, port=port, env=env, raise_exceptions=True, use_incoming_socket=False)


def _in_ipython() -> bool:
    try:
        from IPython import get_ipython
    except ImportError:
        return False
    return get_ipython() is not None


def _display(obj: Any):
    from IPython.display import display

    return display(obj, display_id=True)


def _to_unit_images(images: torch.Tensor | np.ndarray) -> np.ndarray:
    """(N, C, H, W) float array in [0, 1] from (N, C, H, W), (N, H, W) or (H, W) tensors/arrays."""
    if isinstance(images, torch.Tensor):
        is_int = not images.is_floating_point()
        a = images.detach().cpu().float().numpy()
    else:
        a = np.asarray(images)
        is_int = np.issubdtype(a.dtype, np.integer)
        a = a.astype(np.float32)
    if a.ndim == 2:
        a = a[None, None]
    elif a.ndim == 3:
        a = a[:, None]
    if a.ndim != 4 or a.shape[1] not in (1, 3) or a.size == 0:
        raise ValueError("images: expected (N,C,H,W) with C in (1,3), (N,H,W) or (H,W), "
                         f"got shape {tuple(images.shape)}")
    if is_int:
        a = a / 255.0
    lo, hi = float(a.min()), float(a.max())
    if lo < 0 or hi > 1:  # e.g. normalised inputs: rescale the batch to [0, 1]
        a = (a - lo) / max(hi - lo, 1e-12)
    return a


class VisdomMonitor(Callback):
    """Plot loss and accuracy curves live in visdom during ``fit``, with a matplotlib fallback.

    Args:
        server: a :class:`VisdomServer`, a URL such as ``"http://127.0.0.1:8097"``, or None (127.0.0.1).
        port: the port when ``server`` is a URL without one or None (default 8097, visdom's default).
        env: the visdom env (dashboard tab) to draw into.
        prefix: prepended to the window ids, to keep two runs apart in one env.
        timeout: seconds to wait for the server before falling back (0 < timeout ≤ 2; the default 1.5
            keeps the decision under 2 s even when a host accepts connections but never answers).
        batch_every: plot the batch loss every N steps; None = about 50 points per epoch.

    Windows (ids in ``.windows``): ``loss`` (train/val per epoch), ``accuracy``, ``batch_loss``.
    ``.connected`` says whether visdom is in use; ``.vis`` is the visdom client (or None).
    """

    def __init__(self, server: VisdomServer | str | None = None, *, port: int | None = None, env: str = "main",
                 prefix: str = "", timeout: float = 1.5, batch_every: int | None = None):
        if not 0 < timeout <= 2:
            raise ValueError(f"VisdomMonitor(timeout={timeout!r}): expected seconds in (0, 2]")
        if batch_every is not None and (not isinstance(batch_every, int) or batch_every < 1):
            raise ValueError(f"VisdomMonitor(batch_every={batch_every!r}): expected an int >= 1 or None")
        if isinstance(server, VisdomServer):
            host, port = "http://127.0.0.1", server.port
        elif server is None or isinstance(server, str):
            parsed = urlparse(server if server and "://" in server else f"http://{server or '127.0.0.1'}")
            host = f"{parsed.scheme}://{parsed.hostname}"
            port = parsed.port or port or DEFAULT_PORT
        else:
            raise TypeError(f"VisdomMonitor(server={server!r}): expected a VisdomServer, a URL string or None")
        self.base_url, self.env, self.timeout, self.batch_every = f"{host}:{port}", env, timeout, batch_every
        self.windows = {k: f"{prefix}{k}" for k in ("loss", "accuracy", "batch_loss")}
        self.history: dict[str, list] = {}
        self.batch_steps: list[int] = []
        self.batch_losses: list[float] = []
        self.vis = None
        self._handle = None
        self._every = batch_every or 1
        try:
            probe = _session(not _is_loopback(urlparse(host).hostname or ""))
            probe.get(self.base_url + "/", timeout=(timeout, timeout))
            self.vis = _client(host, port, env, timeout)
        except Exception as err:  # noqa: BLE001 - any failure means: no usable server
            print(f"visdom: no visdom server at {self.base_url} ({type(err).__name__}); "
                  "plotting the curves inline with matplotlib instead")

    @property
    def connected(self) -> bool:
        return self.vis is not None

    def _lost(self, err: Exception) -> None:
        print(f"visdom: lost the server at {self.base_url} ({type(err).__name__}); "
              "continuing with inline matplotlib curves")
        self.vis = None

    def _send(self, fn: str, *args: Any, **kwargs: Any) -> Any:
        """Call a visdom client method; on a connection problem switch to the fallback (returns None)."""
        if self.vis is None:
            return None
        import requests

        try:
            return getattr(self.vis, fn)(*args, env=self.env, **kwargs)
        except (ConnectionError, requests.RequestException) as err:
            self._lost(err)
            return None

    # ---------------------------------------------------------------- callback hooks
    def on_train_begin(self, info: dict[str, Any]) -> None:
        self.history = {k: [] for k in ("train_loss", "train_acc", "val_loss", "val_acc", "lr")}
        self.batch_steps, self.batch_losses = [], []
        self._every = self.batch_every or max(1, int(info.get("steps_per_epoch") or 1) // 50)
        self._handle = None

    def on_batch_end(self, step: int, logs: dict[str, Any]) -> None:
        if step % self._every:
            return
        loss = float(logs["loss"])
        first = not self.batch_steps
        self.batch_steps.append(step)
        self.batch_losses.append(loss)
        if first:
            self._send("line", Y=np.array([loss]), X=np.array([step]), win=self.windows["batch_loss"],
                       opts=dict(title="batch loss", xlabel="step", ylabel="loss"))
        else:
            self._send("line", Y=np.array([loss]), X=np.array([step]), win=self.windows["batch_loss"],
                       update="append")

    def on_epoch_end(self, epoch: int, logs: dict[str, Any]) -> None:
        if not self.history:
            self.on_train_begin({})
        for key in self.history:
            value = logs.get(key)
            self.history[key].append(None if value is None else float(value))
        self._draw()

    def on_train_end(self, history: dict[str, Any]) -> None:
        for key in self.history:
            if key in history and history[key] is not None:
                self.history[key] = [None if v is None else float(v) for v in history[key]]
        self._draw()

    # ---------------------------------------------------------------- drawing
    def _series(self, kind: str) -> list[tuple[str, list[float]]]:
        key = "loss" if kind == "loss" else "acc"
        out = []
        for split in ("train", "val"):
            values = self.history.get(f"{split}_{key}", [])
            if values and all(v is not None for v in values):
                out.append((f"{split} {key}", values))
        return out

    def _draw(self) -> None:
        for kind in ("loss", "accuracy"):
            series = self._series(kind)
            if not series or self.vis is None:
                continue
            n = len(series[0][1])
            x = np.arange(1, n + 1, dtype=float)
            y = np.column_stack([v for _, v in series]) if len(series) > 1 else np.array(series[0][1])
            xs = np.column_stack([x] * len(series)) if len(series) > 1 else x
            self._send("line", Y=y, X=xs, win=self.windows[kind],
                       opts=dict(title=kind, xlabel="epoch", ylabel=kind, legend=[name for name, _ in series],
                                 markers=n <= 30, markersize=6, **({"xtickstep": 1} if n <= 20 else {})))
        if self.vis is None and _in_ipython():
            fig = self.figure()
            if self._handle is None:
                self._handle = _display(fig)
            else:
                self._handle.update(fig)

    def figure(self) -> Figure:
        """The curves as a matplotlib figure: loss (left) and accuracy (right) per epoch."""
        fig = Figure(figsize=(9, 3.2))
        for ax, kind in zip(fig.subplots(1, 2), ("loss", "accuracy")):
            for name, values in self._series(kind):
                ax.plot(range(1, len(values) + 1), values, marker="o", markersize=3, label=name)
            ax.set_xlabel("epoch")
            ax.xaxis.set_major_locator(MaxNLocator(integer=True))
            ax.set_title(kind)
            ax.grid(alpha=0.3)
            if ax.lines:
                ax.legend()
        fig.tight_layout()
        return fig

    def images(self, images: torch.Tensor | np.ndarray, *, title: str = "images", nrow: int = 8,
               win: str | None = None) -> str:
        """Show a batch of images in one window (fallback: an inline image grid). Returns the window id.

        ``images``: (N, C, H, W) with C in (1, 3), (N, H, W) or (H, W); floats are rescaled to [0, 1]
        when they fall outside it (e.g. normalised inputs), uint8 is divided by 255.
        """
        win = win or f"images:{title}"
        batch = _to_unit_images(images)
        if self._send("images", batch, nrow=nrow, win=win, opts=dict(title=title)) is None and self.vis is None:
            if _in_ipython():
                from .plot import image_grid

                _display(image_grid(batch, ncols=nrow, suptitle=title))
        return win

    def text(self, text: str, *, title: str = "text", win: str | None = None, append: bool = False) -> str:
        """Show text (HTML allowed) in a window (fallback: print it). Returns the window id."""
        win = win or f"text:{title}"
        if self._send("text", str(text), win=win, opts=dict(title=title), append=append) is None and self.vis is None:
            print(f"[{title}] {text}")
        return win

    @property
    def url(self) -> str:
        """The dashboard URL of this monitor's env."""
        return f"{self.base_url}/env/{quote(self.env)}"
