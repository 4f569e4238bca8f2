"""netron in a real browser: headless Chromium, driven over the DevTools protocol, renders the lesson CNN.

Run with PT_REQUIRE_BROWSER=1 to fail instead of skip when Chromium is missing. Set PT_SCREENSHOT_DIR to
keep the PNG (a person should look at it: boxes for the operators, arrows between them).
"""

from __future__ import annotations

import base64
import itertools
import json
import os
import shutil
import subprocess
import tempfile
import time
import urllib.request
from pathlib import Path

import pytest
import torch

from pt_helpers.deploy import export_onnx, graph_summary, serve_netron, stop_netron

pytestmark = [pytest.mark.browser, pytest.mark.server]


class DevTools:
    """The smallest Chrome DevTools Protocol client: one page, request/response, events collected."""

    def __init__(self, chromium: str, *, width: int = 1280, height: int = 860) -> None:
        import websocket  # websocket-client (a dependency of visdom)

        self.profile = tempfile.mkdtemp(prefix="chromium-")
        self.proc = subprocess.Popen(
            [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
             "--no-first-run", "--disable-component-update", "--disable-sync", f"--user-data-dir={self.profile}",
             "--remote-debugging-port=0", f"--window-size={width},{height}",
             # every host name except loopback fails to resolve: proves the page needs no external network
             "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1", "about:blank"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        port_file = Path(self.profile) / "DevToolsActivePort"
        deadline = time.monotonic() + 20
        while not (port_file.exists() and port_file.read_text().strip()):
            if time.monotonic() > deadline or self.proc.poll() is not None:
                self.close()
                raise RuntimeError("Chromium did not open its DevTools port")
            time.sleep(0.1)
        port = int(port_file.read_text().split()[0])
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list", timeout=5) as r:
            page = next(t for t in json.load(r) if t["type"] == "page")
        self.ws = websocket.create_connection(page["webSocketDebuggerUrl"], timeout=20, suppress_origin=True)
        self.ids = itertools.count(1)
        self.events: list[dict] = []

    def call(self, method: str, **params):
        i = next(self.ids)
        self.ws.send(json.dumps({"id": i, "method": method, "params": params}))
        while True:
            msg = json.loads(self.ws.recv())
            if msg.get("id") == i:
                if "error" in msg:
                    raise RuntimeError(f"{method}: {msg['error']}")
                return msg.get("result", {})
            self.events.append(msg)

    def evaluate(self, expression: str):
        result = self.call("Runtime.evaluate", expression=expression, returnByValue=True, awaitPromise=True)
        return result["result"].get("value")

    def wait_for(self, expression: str, timeout: float = 30.0):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            value = self.evaluate(expression)
            if value:
                return value
            time.sleep(0.2)
        raise TimeoutError(f"page never satisfied: {expression}")

    def close(self) -> None:
        if getattr(self, "ws", None) is not None:
            self.ws.close()
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        shutil.rmtree(self.profile, ignore_errors=True)


def _lesson_cnn() -> tuple[torch.nn.Module, tuple[int, ...]]:
    try:
        from pt_helpers.models.cnn import FashionCNN
    except ModuleNotFoundError:  # until lesson 05's model is committed
        pytest.skip("pt_helpers.models.cnn is not in this checkout yet")

    return FashionCNN(), (1, 1, 28, 28)


def _render(chromium: str, path: Path) -> tuple[list[str], int, bytes, list[dict]]:
    """Open ``path`` in netron in headless Chromium: box labels, number of arrows, a PNG, DevTools events."""
    handle = serve_netron(path)
    browser = DevTools(chromium)
    try:
        browser.call("Emulation.setDeviceMetricsOverride", width=1280, height=860, deviceScaleFactor=1, mobile=False)
        browser.call("Network.enable")
        # netron asks for cookie consent before drawing; a learner clicks "Accept" once, the test sets the cookie
        browser.call("Network.setCookie", name="consent", value=str(int(time.time() * 1000)), url=handle.url)
        browser.call("Page.navigate", url=handle.url)
        browser.wait_for("document.querySelectorAll('#canvas g.node').length > 0")
        time.sleep(1.0)  # let the layout settle before measuring and capturing
        labels = browser.evaluate("Array.from(document.querySelectorAll('#canvas g.node')).map(n => n.textContent)")
        edges = browser.evaluate("document.querySelectorAll('#canvas path.edge-path').length")
        png = base64.b64decode(browser.call("Page.captureScreenshot", format="png")["data"])
    finally:
        browser.close()
        stop_netron(handle)
    return labels, edges, png, browser.events


def _save(png: bytes, name: str, tmp_path: Path) -> Path:
    out = Path(os.environ.get("PT_SCREENSHOT_DIR", tmp_path)) / name
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(png)
    return out


def _ink(path: Path) -> float:
    """Fraction of dark pixels: ~0 for a blank page, large for a page covered by a dialog."""
    import matplotlib.image

    img = matplotlib.image.imread(path)
    assert img.shape[:2] == (860, 1280)
    return float((img[..., :3].mean(axis=2) < 0.6).mean())


def test_netron_draws_the_exported_cnn_graph(chromium, tmp_path):
    torch.manual_seed(0)
    model, shape = _lesson_cnn()
    path = export_onnx(model.eval(), torch.randn(*shape), tmp_path / "cnn.onnx")
    summary = graph_summary(path)
    labels, edges, png, events = _render(chromium, path)
    shot = _save(png, "netron_cnn.png", tmp_path)

    # every operator of the file is a box, labelled with its op type
    op_boxes = [t for t in labels if any(t.startswith(op) for op in summary["ops"])]
    assert len(op_boxes) == summary["nodes"], (labels, summary)
    for op in ("Conv", "Gemm"):
        assert any(t.startswith(op) for t in labels), f"no {op} box in {labels}"
    # and the tensors between them are arrows: what a .pth cannot give netron
    assert edges == summary["edges"], (edges, summary)
    ink = _ink(shot)
    assert 0.002 < ink < 0.3, f"fraction of dark pixels {ink:.4f}: blank page or a dialog over the graph?"

    # nothing outside loopback was needed: the host resolver refused every other name, and the graph drew
    requests = {e["params"]["requestId"]: e["params"]["request"]["url"] for e in events
                if e.get("method") == "Network.requestWillBeSent"}
    failed = {e["params"]["requestId"] for e in events if e.get("method") == "Network.loadingFailed"}
    assert any(u.endswith(".js") and u.startswith("http://127.0.0.1:") for u in requests.values())
    external_ok = [u for rid, u in requests.items() if not u.startswith("http://127.0.0.1:") and rid not in failed
                   and not u.startswith("data:")]
    assert not external_ok, external_ok


def test_netron_shows_a_state_dict_as_boxes_without_edges(chromium, tmp_path):
    """The seed's observation, measured: a .pth holds named tensors only, so netron has nothing to connect."""
    torch.manual_seed(0)
    model, _ = _lesson_cnn()
    path = tmp_path / "cnn_state_dict.pth"
    torch.save(model.state_dict(), path)
    labels, edges, png, _ = _render(chromium, path)
    shot = _save(png, "netron_state_dict.png", tmp_path)
    prefixes = {k.rsplit(".", 1)[0] for k in model.state_dict()}
    assert edges == 0
    assert len(labels) == len(prefixes), (labels, prefixes)  # one box per layer that HAS weights
    assert all(t.startswith("Weights") for t in labels)
    assert _ink(shot) > 0.001
