"""Watch training live: a ``fit`` callback that plots into visdom, or inline with matplotlib.

Taught in notebooks/05_cnn.ipynb. :class:`VisdomMonitor` is a :class:`~pt_helpers.callbacks.Callback`:
during ``fit`` it draws the loss and accuracy curves per epoch and the batch loss, and it can show
images and text. The server it talks to comes from :func:`pt_helpers.monitor.start_visdom`.

Fallback: when no server answers within ``timeout`` (<= 2 s), the monitor prints ONE line and draws
the curves with matplotlib instead: in Jupyter one inline figure (loss | accuracy) is displayed at the
first epoch and updated in place after every epoch and at the end; outside IPython nothing is shown
and :meth:`VisdomMonitor.figure` returns the figure. The same happens, with one line, if the server
goes away during training. Training never stops because of the monitor.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote, urlparse

import numpy as np
import requests
import torch
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from ..callbacks import Callback
from ..plot import image_grid, to_image, to_numpy
from .client import DEFAULT_PORT, http_session, is_loopback, visdom_client
from .server import VisdomServer

__all__ = ["VisdomMonitor"]


def _unit_batch(images: torch.Tensor | np.ndarray) -> np.ndarray:
    """``(N, C, H, W)`` float32 in [0, 1] (:func:`~pt_helpers.plot.to_image` with ``scale="unit"``, one min
    and max for the whole batch) from ``(N, C, H, W)`` with C in (1, 3), ``(N, H, W)`` or ``(H, W)``."""
    a = to_numpy(images)
    if a.ndim == 2:
        a = a[None, None]
    elif a.ndim == 3:
        a = a[:, None]
    if a.ndim != 4 or a.shape[1] not in (1, 3) or a.size == 0:
        raise ValueError("images: expected (N,C,H,W) with C in (1,3), (N,H,W) or (H,W), "
                         f"got shape {tuple(images.shape)}")
    unit = to_image(a, layout="chw", scale="unit")  # (N, H, W) or (N, H, W, 3)
    return unit[:, None] if unit.ndim == 3 else np.moveaxis(unit, -1, 1)


def _in_ipython() -> bool:
    try:
        from IPython import get_ipython
    except ImportError:
        return False
    return get_ipython() is not None


def _display(obj: Any):
    from IPython.display import display

    return display(obj, display_id=True)


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
            probe = http_session(not is_loopback(urlparse(host).hostname or ""))
            probe.get(self.base_url + "/", timeout=(timeout, timeout))
            self.vis = visdom_client(host, port, env, timeout)
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
        batch = _unit_batch(images)
        if self._send("images", batch, nrow=nrow, win=win, opts=dict(title=title)) is None and self.vis is None:
            if _in_ipython():
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
