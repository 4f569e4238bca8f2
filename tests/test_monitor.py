"""pt_helpers.monitor (visdom server, asset check, live-curve callback) and scripts/visdom_assets.py.

Markers: ``server`` tests start real visdom servers on 127.0.0.1, with every proxy variable pointed at
a closed port so that any attempt to reach the internet fails at once ("offline"). ``browser`` takes a
headless-Chromium screenshot of the dashboard.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from unittest import mock

import numpy as np
import pytest
import requests
import torch
from browser_session import offline_page
from system_helpers import listening_addresses, pid_alive

from pt_helpers.monitor import VisdomMonitor, assets_ready, start_visdom
from pt_helpers.monitor import assets as va
from pt_helpers.monitor import callback as mon

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "scripts" / "visdom_assets.py"


def _closed_port() -> int:
    """A loopback port with nothing listening (bound, then released)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _offline_env(monkeypatch: pytest.MonkeyPatch | None = None) -> dict[str, str]:
    """Proxy variables that make every outgoing HTTP(S) request fail immediately (a dead proxy)."""
    dead = f"http://127.0.0.1:{_closed_port()}"
    values = {k: dead for k in ("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY", "all_proxy", "ALL_PROXY")}
    values.update(no_proxy="", NO_PROXY="")
    if monkeypatch is not None:
        for k, v in values.items():
            monkeypatch.setenv(k, v)
    return values


def _window(vis_client, win: str, env: str) -> dict:
    raw = vis_client.get_window_data(win=win, env=env)
    assert raw, f"window {win!r} not found in env {env!r}"
    return json.loads(raw)


def _fake_fit(monitor: VisdomMonitor, history: dict, steps_per_epoch: int = 4) -> None:
    """Drive the callback exactly as pt_helpers.train.fit does (see pt_helpers/callbacks.py)."""
    epochs = len(history["train_loss"])
    monitor.on_train_begin({"epochs": epochs, "steps_per_epoch": steps_per_epoch, "model": torch.nn.Linear(1, 1)})
    step = 0
    for epoch in range(epochs):
        for _ in range(steps_per_epoch):
            monitor.on_batch_end(step, {"epoch": epoch, "loss": 2.0 / (step + 1), "lr": 0.1})
            step += 1
        monitor.on_epoch_end(epoch, {k: history[k][epoch] for k in history})
    monitor.on_train_end(history)


HISTORY = {
    "train_loss": [1.2, 0.8, 0.55], "train_acc": [0.61, 0.74, 0.82],
    "val_loss": [1.0, 0.7, 0.6], "val_acc": [0.66, 0.77, 0.80],
    "lr": [0.1, 0.05, 0.01], "seconds": [1.0, 1.0, 1.0],
}


# --------------------------------------------------------------------------- assets (check and script)

def _download_scripts_recorded(vdir: Path) -> dict[str, str]:
    """Run visdom's own ``download_scripts`` into a temp dir with the network replaced by a recorder.

    Returns ``{url: path under static/}`` as visdom really fetches and names them: the reference for
    :func:`pt_helpers.monitor.assets.visdom_download_list`, which reads the same list from visdom's source.
    """
    from visdom.server import build

    class Resp:
        def __init__(self, url: str):
            self.content = url.encode()

        def read(self) -> bytes:
            return self.content

    class Opener:
        def open(self, req):  # noqa: A003 - urllib's API
            return Resp(req.full_url)

    assert Path(build.__file__).resolve().parent.parent == vdir.resolve()
    with tempfile.TemporaryDirectory() as tmp, contextlib.redirect_stdout(io.StringIO()), \
            mock.patch("urllib.request.build_opener", lambda *a: Opener()), \
            mock.patch("urllib.request.install_opener"), \
            mock.patch.object(requests, "get", lambda url, *a, **k: Resp(url)):
        build.download_scripts(install_dir=tmp)
        static = Path(tmp) / "static"
        return {p.read_text(): p.relative_to(static).as_posix()
                for p in static.rglob("*") if p.is_file() and p.name != "version.built"}


def test_download_list_read_from_visdoms_source_is_what_download_scripts_does():
    vdir = va.find_visdom_dir()
    listed = va.visdom_download_list(vdir)
    assert listed == _download_scripts_recorded(vdir)
    assert len(listed) == len(va.ASSETS) == 29
    assert va.compare_with_visdom(vdir) == []


def test_download_list_follows_a_changed_build_py(tmp_path):
    vdir = tmp_path / "visdom"
    (vdir / "server").mkdir(parents=True)
    source = (va.find_visdom_dir() / "server" / "build.py").read_text()
    (vdir / "server" / "build.py").write_text(source.replace("jquery@3.1.1", "jquery@3.7.1"))
    diffs = va.compare_with_visdom(vdir)
    assert len(diffs) == 2 and "jquery@3.7.1" in diffs[0] and "jquery@3.1.1" in diffs[1], diffs
    (vdir / "server" / "build.py").write_text(source.replace('"jquery.min.js"', 'name_of("jquery")'))
    with pytest.raises(va.AssetError, match="cannot read"):
        va.visdom_download_list(vdir)


def test_installed_assets_are_verified():
    vdir = va.find_visdom_dir()
    bad = va.problems(vdir)
    assert not bad, f"visdom assets not provisioned ({len(bad)} bad): run `make setup`"
    assert va.built_ok(vdir), "static/version.built missing: run `make setup`"
    assert assets_ready()


def test_sniff_rejects_error_pages_truncation_and_wrong_fonts():
    by_dest = {a.dest: a for a in va.ASSETS}
    jquery = by_dest["js/jquery.min.js"]
    good = (va.find_visdom_dir() / "static" / jquery.dest).read_bytes()
    assert va.sniff(jquery, good) is None
    assert "HTML" in va.sniff(jquery, b"<!DOCTYPE html><html>" + b"x" * jquery.size)
    assert "bytes" in va.sniff(jquery, good[: len(good) // 4])
    assert "banner" in va.sniff(jquery, good.replace(b"jQuery v3.1.1", b"jQuery v3.7.1"))
    woff2 = by_dest["fonts/glyphicons-halflings-regular.woff2"]
    assert "magic" in va.sniff(woff2, b"wOFF" + b"\0" * woff2.size)
    css = by_dest["css/bootstrap.min.css"]
    assert "CSS" in va.sniff(css, b"x" * css.size)


def test_install_is_a_noop_when_complete_without_npm_and_without_importing_visdom(tmp_path):
    env = dict(os.environ, PATH=str(tmp_path))  # no npm on PATH: must not be needed
    proc = subprocess.run([sys.executable, "-X", "importtime", str(SCRIPT), "install"], env=env,
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert "nothing to do" in proc.stdout
    imported = {line.rsplit("|", 1)[-1].strip() for line in proc.stderr.splitlines() if line.startswith("import time:")}
    assert "pt_helpers.monitor.assets" in imported
    assert not {m for m in imported if m == "visdom" or m.startswith("visdom.")}  # visdom imports torch: seconds


@pytest.fixture
def visdom_copy(tmp_path: Path) -> Path:
    """A throwaway copy of the installed visdom package (with its provisioned assets) under tmp/site."""
    site = tmp_path / "site"
    shutil.copytree(va.find_visdom_dir(), site / "visdom", ignore=shutil.ignore_patterns("__pycache__"))
    return site


def test_assets_ready_notices_a_missing_file_and_a_missing_stamp(visdom_copy):
    vdir = visdom_copy / "visdom"
    assert assets_ready(vdir)
    (vdir / "static/version.built").unlink()
    assert not assets_ready(vdir)
    (vdir / "static/version.built").write_text((vdir / "VERSION").read_text())
    (vdir / "static/js/mathjax/2.7.5/MathJax.js").unlink()
    assert not assets_ready(vdir)


def test_install_without_npm_prints_one_line_and_fails(visdom_copy, tmp_path):
    (visdom_copy / "visdom/static/js/sjcl.js").unlink()
    env = dict(os.environ, PATH=str(tmp_path))
    proc = subprocess.run([sys.executable, str(SCRIPT), "install", "--visdom-dir", str(visdom_copy / "visdom")],
                          env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode != 0
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "npm not found" in lines[0], proc.stderr


def _run_server_from(site: Path, port: int, env_path: Path, seconds: float) -> tuple[int | None, str]:
    """Start ``python -m visdom.server`` from a visdom copy, offline; return (exit code or None if alive, log)."""
    env = dict(os.environ, PYTHONPATH=str(site), **_offline_env())
    proc = subprocess.Popen([sys.executable, "-m", "visdom.server", "-port", str(port), "-bind_local",
                             "-env_path", str(env_path)], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, cwd=site)
    session = requests.Session()
    session.trust_env = False
    deadline = time.monotonic() + seconds
    status = None
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            status = session.get(f"http://127.0.0.1:{port}/", timeout=1).status_code
            break
        except requests.ConnectionError:
            time.sleep(0.2)
    code = proc.poll()
    proc.terminate()
    out, _ = proc.communicate(timeout=10)
    return (code if status != 200 else None), out


@pytest.mark.server
@pytest.mark.slow
@pytest.mark.skipif(shutil.which("npm") is None, reason="npm not installed")
def test_fresh_install_into_a_copy_then_server_starts_offline(visdom_copy, tmp_path):
    vdir = visdom_copy / "visdom"
    static = vdir / "static"
    # a fresh checkout's state, in part: files missing, one replaced by a CDN error page, no stamp
    (static / "js/mathjax/2.7.5/MathJax.js").unlink()
    (static / "fonts/glyphicons-halflings-regular.woff2").unlink()
    (static / "js/jquery.min.js").write_text("<!DOCTYPE html><html><body>502 Bad Gateway</body></html>")
    (static / "version.built").unlink()

    check = subprocess.run([sys.executable, str(SCRIPT), "check", "-q", "--visdom-dir", str(vdir)],
                           capture_output=True, text=True, timeout=120)
    assert check.returncode == 1
    for name in ("MathJax.js: missing", "woff2: missing", "jquery.min.js: an HTML page", "version.built"):
        assert name in check.stderr, check.stderr

    # negative control: as it is, visdom crashes when it cannot reach the CDN
    code, log = _run_server_from(visdom_copy, _closed_port(), tmp_path / "envs0", 60)
    assert code not in (None, 0), log
    assert "cdnjs.cloudflare.com" in log

    install = subprocess.run([sys.executable, str(SCRIPT), "install", "--visdom-dir", str(vdir)],
                             capture_output=True, text=True, timeout=900)
    assert install.returncode == 0, install.stderr
    assert "fetching 3 of 29 files from npm (bootstrap@3.3.7, jquery@3.1.1, mathjax@2.7.5)" in install.stdout
    assert subprocess.run([sys.executable, str(SCRIPT), "check", "-q", "--visdom-dir", str(vdir)],
                          capture_output=True, text=True, timeout=120).returncode == 0
    assert (static / "version.built").read_text() == (vdir / "VERSION").read_text().strip()

    code, log = _run_server_from(visdom_copy, _closed_port(), tmp_path / "envs1", 60)
    assert code is None, log
    assert "Downloading scripts" not in log and "Error" not in log.split("It's Alive!")[0], log


# --------------------------------------------------------------------------- server handle

@pytest.mark.server
def test_start_visdom_offline_serves_dashboard_and_stop_leaves_nothing(monkeypatch, capsys):
    _offline_env(monkeypatch)
    t0 = time.perf_counter()
    server = start_visdom(timeout=90)
    started = time.perf_counter() - t0
    pid, port, env_path = server.process.pid, server.port, server.env_path
    try:
        assert server.url == f"http://127.0.0.1:{port}"
        session = requests.Session()
        session.trust_env = False
        page = session.get(server.url + "/", timeout=5)
        assert page.status_code == 200 and "static/js/plotly-plotly.min.js" in page.text
        plotly = session.get(server.url + "/static/js/plotly-plotly.min.js", timeout=5)
        assert plotly.status_code == 200 and b"plotly.js v2.11.1" in plotly.content[:200]
        log = server.log_path.read_text()
        assert "Downloading scripts" not in log
        assert env_path.is_dir()
        assert listening_addresses(port) in ({"127.0.0.1"}, None)  # -bind_local: loopback only
    finally:
        server.stop()
    assert not pid_alive(pid)
    assert not env_path.exists()
    assert listening_addresses(port) in (set(), None)
    with socket.socket() as s:  # nothing listens: bind succeeds (REUSEADDR only skips TIME_WAIT leftovers)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(("127.0.0.1", port))
        s.listen()
    server.stop()  # idempotent
    out = capsys.readouterr().out
    assert out.count("\n") == 1 and server.url in out  # start prints one line
    print(f"visdom server started in {started:.1f} s")


@pytest.mark.server
def test_context_manager_stops_the_server_on_error(monkeypatch):
    _offline_env(monkeypatch)
    with pytest.raises(KeyError):
        with start_visdom(timeout=90) as server:
            pid = server.process.pid
            raise KeyError("boom")
    assert not pid_alive(pid)


def test_start_visdom_rejects_a_busy_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        with pytest.raises(ValueError, match="port"):
            start_visdom(s.getsockname()[1])


def test_start_visdom_rejects_bad_port():
    with pytest.raises(ValueError, match="port"):
        start_visdom(70000)


# --------------------------------------------------------------------------- monitor against a real server

@pytest.fixture(scope="module")
def server():
    """One offline server for the monitor tests. The dead proxy variables stay set while it runs, so these
    tests also show that the monitor's client ignores proxies for 127.0.0.1."""
    mp = pytest.MonkeyPatch()
    _offline_env(mp)
    handle = start_visdom(timeout=90)
    yield handle
    handle.stop()
    mp.undo()


@pytest.mark.server
def test_monitor_plots_curves_images_and_text(server, capsys):
    monitor = VisdomMonitor(server, env="unit")
    assert monitor.connected
    _fake_fit(monitor, HISTORY, steps_per_epoch=4)
    vis = monitor.vis

    loss = _window(vis, monitor.windows["loss"], "unit")
    assert loss["type"] == "plot"
    traces = {t["name"]: t for t in loss["content"]["data"]}
    assert set(traces) == {"train loss", "val loss"}
    np.testing.assert_allclose(traces["train loss"]["y"], HISTORY["train_loss"])
    np.testing.assert_allclose(traces["val loss"]["y"], HISTORY["val_loss"])
    np.testing.assert_allclose(traces["val loss"]["x"], [1, 2, 3])

    acc = _window(vis, monitor.windows["accuracy"], "unit")
    traces = {t["name"]: t for t in acc["content"]["data"]}
    np.testing.assert_allclose(traces["val acc"]["y"], HISTORY["val_acc"])
    np.testing.assert_allclose(traces["train acc"]["y"], HISTORY["train_acc"])

    batch = _window(vis, monitor.windows["batch_loss"], "unit")
    (trace,) = batch["content"]["data"]
    assert len(trace["y"]) == 12  # batch_every defaults to max(1, steps_per_epoch // 50) = 1 here
    np.testing.assert_allclose(trace["y"], [2.0 / (s + 1) for s in range(12)])

    imgs = torch.zeros(4, 1, 28, 28)
    imgs[:, :, 10:18, 10:18] = 1.0
    win = monitor.images(imgs, title="squares")
    data = _window(vis, win, "unit")
    assert data["type"] == "image" and data["content"]["src"].startswith("data:image/png;base64,")
    assert data["title"] == "squares"

    win = monitor.text("epoch 3: <b>val acc 0.80</b>", title="notes")
    data = _window(vis, win, "unit")
    assert data["type"] == "text" and "val acc 0.80" in data["content"]
    assert capsys.readouterr().out == ""  # silent when connected


@pytest.mark.server
def test_monitor_inside_real_fit(server):
    train = pytest.importorskip("pt_helpers.train")
    torch.manual_seed(0)
    x = torch.randn(64, 4)
    y = (x[:, 0] > 0).long()
    loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(x, y), batch_size=16)
    model = torch.nn.Linear(4, 2)
    monitor = VisdomMonitor(server, env="fit")
    history = train.fit(model, loader, loader, epochs=2, optimizer=torch.optim.SGD(model.parameters(), lr=0.1),
                        loss_fn=torch.nn.CrossEntropyLoss(), device=torch.device("cpu"), callbacks=[monitor])
    traces = {t["name"]: t for t in _window(monitor.vis, monitor.windows["loss"], "fit")["content"]["data"]}
    np.testing.assert_allclose(traces["train loss"]["y"], history["train_loss"], rtol=1e-6)
    np.testing.assert_allclose(traces["val loss"]["y"], history["val_loss"], rtol=1e-6)


@pytest.mark.server
def test_monitor_falls_back_when_the_server_dies_mid_training(monkeypatch, capsys):
    _offline_env(monkeypatch)
    handle = start_visdom(timeout=90)
    monitor = VisdomMonitor(handle, env="dies")
    monitor.on_train_begin({"epochs": 2, "steps_per_epoch": 1, "model": None})
    monitor.on_epoch_end(0, {k: HISTORY[k][0] for k in HISTORY})
    handle.stop()
    capsys.readouterr()
    t0 = time.perf_counter()
    monitor.on_epoch_end(1, {k: HISTORY[k][1] for k in HISTORY})
    assert time.perf_counter() - t0 < 3
    out = capsys.readouterr().out.strip().splitlines()
    assert len(out) == 1 and "matplotlib" in out[0]
    assert not monitor.connected
    fig = monitor.figure()
    assert [list(line.get_ydata()) for line in fig.axes[0].lines] == [HISTORY["train_loss"][:2],
                                                                       HISTORY["val_loss"][:2]]


# --------------------------------------------------------------------------- fallback without a server

def test_fallback_without_server_is_fast_and_says_so_once(capsys):
    t0 = time.perf_counter()
    monitor = VisdomMonitor(port=_closed_port())
    elapsed = time.perf_counter() - t0
    assert elapsed < 2.0, f"fallback decision took {elapsed:.2f} s"
    out = capsys.readouterr().out.strip().splitlines()
    assert len(out) == 1 and "no visdom server" in out[0] and "matplotlib" in out[0], out
    assert not monitor.connected
    _fake_fit(monitor, HISTORY)
    monitor.images(torch.rand(3, 1, 8, 8), title="x")
    monitor.text("hello", title="t")
    out = capsys.readouterr().out
    assert "no visdom server" not in out and "hello" in out  # text falls back to print, no repeat notice
    fig = monitor.figure()
    loss_ax, acc_ax = fig.axes
    assert [list(line.get_ydata()) for line in loss_ax.lines] == [HISTORY["train_loss"], HISTORY["val_loss"]]
    assert [list(line.get_ydata()) for line in acc_ax.lines] == [HISTORY["train_acc"], HISTORY["val_acc"]]


def test_fallback_without_validation_draws_train_curves_only(capsys):
    monitor = VisdomMonitor(port=_closed_port())
    history = {k: (None if k.startswith("val") else v) for k, v in HISTORY.items()}
    monitor.on_train_begin({"epochs": 3, "steps_per_epoch": 1, "model": None})
    for epoch in range(3):
        monitor.on_epoch_end(epoch, {k: (None if v is None else v[epoch]) for k, v in history.items()})
    loss_ax, acc_ax = monitor.figure().axes
    assert [line.get_label() for line in loss_ax.lines] == ["train loss"]
    assert list(acc_ax.lines[0].get_ydata()) == HISTORY["train_acc"]


def test_fallback_when_a_server_accepts_but_never_answers(capsys):
    with socket.socket() as s:  # listens (TCP connect succeeds) but never replies
        s.bind(("127.0.0.1", 0))
        s.listen()
        t0 = time.perf_counter()
        monitor = VisdomMonitor(port=s.getsockname()[1])  # default timeout
        elapsed = time.perf_counter() - t0
    assert not monitor.connected
    assert elapsed < 2.0, f"took {elapsed:.2f} s"
    assert len(capsys.readouterr().out.strip().splitlines()) == 1


def test_fallback_updates_one_inline_display_per_figure(monkeypatch, capsys):
    shown = []

    class Handle:
        def __init__(self, obj):
            shown.append(("display", obj))

        def update(self, obj):
            shown.append(("update", obj))

    monkeypatch.setattr(mon, "_display", lambda obj: Handle(obj))
    monkeypatch.setattr(mon, "_in_ipython", lambda: True)
    monitor = VisdomMonitor(port=_closed_port())
    _fake_fit(monitor, HISTORY)
    kinds = [k for k, _ in shown]
    assert kinds == ["display"] + ["update"] * 3  # one live figure: shown once, updated each epoch and at the end
    assert all(type(obj).__name__ == "Figure" for _, obj in shown)


def test_fallback_images_show_the_batch_scaled_to_unit_range(monkeypatch, capsys):
    shown = []
    monkeypatch.setattr(mon, "_display", shown.append)
    monkeypatch.setattr(mon, "_in_ipython", lambda: True)
    monitor = VisdomMonitor(port=_closed_port())
    normalised = torch.stack([torch.full((1, 4, 4), -1.0), torch.full((1, 4, 4), 3.0)])  # one batch min..max
    monitor.images(normalised, title="n", nrow=2)
    monitor.images(torch.full((2, 4, 4), 51, dtype=torch.uint8), title="u")  # (N, H, W) uint8: / 255
    first, second = ([np.asarray(ax.get_images()[0].get_array()) for ax in fig.axes if ax.get_images()]
                     for fig in shown)
    assert [a.min() for a in first] == [0.0, 1.0] and first[0].shape == (4, 4)
    np.testing.assert_allclose(second[0], 0.2, rtol=1e-6)
    with pytest.raises(ValueError, match="C in"):
        monitor.images(torch.rand(2, 2, 4, 4))


def test_monitor_rejects_bad_arguments():
    with pytest.raises(ValueError, match="timeout"):
        VisdomMonitor(port=_closed_port(), timeout=5)
    with pytest.raises(ValueError, match="batch_every"):
        VisdomMonitor(port=_closed_port(), batch_every=0)
    with pytest.raises(TypeError, match="server"):
        VisdomMonitor(server=8097)


# --------------------------------------------------------------------------- browser

PLOTLY_BLUE = np.array([31, 119, 180])    # #1f77b4: plotly's first trace colour
PLOTLY_ORANGE = np.array([255, 127, 14])  # #ff7f0e: the second


def _screenshot(url: str, png: Path, *, plots: int) -> np.ndarray:
    """The dashboard in headless Chromium (Playwright), once ``plots`` plotly windows have drawn; no request may
    leave 127.0.0.1 (visdom's assets were provisioned from npm)."""
    from PIL import Image

    with offline_page(width=1200, height=900) as (page, traffic):
        page.goto(url)
        if plots:
            page.wait_for_function(f"() => document.querySelectorAll('.js-plotly-plot .scatterlayer .trace')"
                                   f".length >= {plots}", timeout=30_000)
        else:
            page.wait_for_selector(".layout-card, .window", timeout=30_000)
        page.wait_for_timeout(1000)  # plotly's transitions
        page.screenshot(path=str(png))
    traffic.assert_offline()
    assert not traffic.failed, traffic.failed
    return np.asarray(Image.open(png).convert("RGB")).astype(int)


def _count(rgb: np.ndarray, colour: np.ndarray, tol: int = 12) -> int:
    return int((np.abs(rgb - colour).max(axis=2) <= tol).sum())


@pytest.mark.browser
@pytest.mark.server
def test_dashboard_screenshot_shows_the_plotted_window(server, tmp_path):
    env = "shot"
    shots = Path(os.environ.get("PT_SCREENSHOT_DIR", tmp_path))
    shots.mkdir(parents=True, exist_ok=True)
    VisdomMonitor(server, env=env).text("the dashboard before training", title="empty")
    before = _screenshot(server.env_url(env), shots / "visdom_before.png", plots=0)

    monitor = VisdomMonitor(server, env=env)
    _fake_fit(monitor, HISTORY)
    png = shots / "visdom_dashboard.png"
    after = _screenshot(server.env_url(env), png, plots=2)
    print(f"screenshot: {png}")

    assert after.shape == (900, 1200, 3)
    blue, orange = _count(after, PLOTLY_BLUE), _count(after, PLOTLY_ORANGE)
    assert blue > 300 and orange > 300, (blue, orange)  # the train (blue) and val (orange) lines are drawn
    assert _count(before, PLOTLY_BLUE) < 50 and _count(before, PLOTLY_ORANGE) < 50
    # more than two lines were added: anti-aliased curves, markers, axes and labels bring many new colours
    assert len(np.unique(after.reshape(-1, 3), axis=0)) > len(np.unique(before.reshape(-1, 3), axis=0)) + 300
