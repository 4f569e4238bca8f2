"""netron in a real browser: headless Chromium, driven by Playwright, renders the lesson CNN.

Run with PT_REQUIRE_BROWSER=1 to fail instead of skip when Chromium is missing. Set PT_SCREENSHOT_DIR to
keep the PNG (a person should look at it: boxes for the operators, arrows between them).
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest
import torch
from browser_session import Traffic, offline_page, screenshot

from pt_helpers.deploy import export_onnx, graph_summary, serve_netron, stop_netron
from pt_helpers.models.cnn import FashionCNN

pytestmark = [pytest.mark.browser, pytest.mark.server]


def _lesson_cnn() -> tuple[torch.nn.Module, tuple[int, ...]]:
    return FashionCNN(), (1, 1, 28, 28)


def _render(path: Path, tmp_path: Path, name: str) -> tuple[list[str], int, Path, Traffic]:
    """Open ``path`` in netron in headless Chromium: box labels, number of arrows, a screenshot, the traffic."""
    handle = serve_netron(path)
    try:
        with offline_page(width=1280, height=860) as (page, traffic):
            # netron asks for cookie consent before drawing; a learner clicks "Accept" once, the test sets the cookie
            page.context.add_cookies([{"name": "consent", "value": str(int(time.time() * 1000)), "url": handle.url}])
            page.goto(handle.url)
            # netron replaces window.eval, which Playwright's evaluate and locators use: read the DOM over CDP
            cdp = page.context.new_cdp_session(page)

            def js(expression: str):
                return cdp.send("Runtime.evaluate", {"expression": expression, "returnByValue": True})["result"].get(
                    "value")

            deadline = time.monotonic() + 30
            while not js("document.querySelectorAll('#canvas g.node').length") and time.monotonic() < deadline:
                time.sleep(0.2)
            time.sleep(1.0)  # let the layout settle before measuring and capturing
            labels = js("Array.from(document.querySelectorAll('#canvas g.node')).map(n => n.textContent)") or []
            edges = js("document.querySelectorAll('#canvas path.edge-path').length")
            shot = screenshot(page, name, tmp_path)
    finally:
        stop_netron(handle)
    return labels, edges, shot, traffic


# netron 9.3.3's page reports usage to Google Analytics (and asks ipinfo.io for the country before its cookie
# prompt) whenever it is online; nothing it draws depends on them. Any OTHER host fails the test, by name.
NETRON_TELEMETRY = ("https://analytics.google.com/", "https://www.google-analytics.com/", "https://ipinfo.io/")


def assert_only_netron_telemetry(traffic: Traffic) -> None:
    other = [u for u in traffic.external if not u.startswith(NETRON_TELEMETRY)]
    assert not other, f"netron's page asked for hosts other than 127.0.0.1: {other}"
    assert not [u for u in traffic.failed if not u.startswith(NETRON_TELEMETRY)], traffic.failed


def _ink(path: Path) -> float:
    """Fraction of dark pixels: ~0 for a blank page, large for a page covered by a dialog."""
    import matplotlib.image

    img = matplotlib.image.imread(path)
    assert img.shape[:2] == (860, 1280)
    return float((img[..., :3].mean(axis=2) < 0.6).mean())


def test_netron_draws_the_exported_cnn_graph(tmp_path):
    torch.manual_seed(0)
    model, shape = _lesson_cnn()
    path = export_onnx(model.eval(), torch.randn(*shape), tmp_path / "cnn.onnx")
    summary = graph_summary(path)
    labels, edges, shot, traffic = _render(path, tmp_path, "netron_cnn.png")

    # every operator of the file is a box, labelled with its op type
    op_boxes = [t for t in labels if any(t.startswith(op) for op in summary["ops"])]
    assert len(op_boxes) == summary["nodes"], (labels, summary)
    for op in ("Conv", "Gemm"):
        assert any(t.startswith(op) for t in labels), f"no {op} box in {labels}"
    # and the tensors between them are arrows: what a .pth cannot give netron
    assert edges == summary["edges"], (edges, summary)
    ink = _ink(shot)
    assert 0.002 < ink < 0.3, f"fraction of dark pixels {ink:.4f}: blank page or a dialog over the graph?"

    # the graph drew from loopback alone; the only other requests are netron's own telemetry (blocked here)
    assert_only_netron_telemetry(traffic)


def test_netron_shows_a_state_dict_as_boxes_without_edges(tmp_path):
    """The seed's observation, measured: a .pth holds named tensors only, so netron has nothing to connect."""
    torch.manual_seed(0)
    model, _ = _lesson_cnn()
    path = tmp_path / "cnn_state_dict.pth"
    torch.save(model.state_dict(), path)
    labels, edges, shot, traffic = _render(path, tmp_path, "netron_state_dict.png")
    assert_only_netron_telemetry(traffic)
    prefixes = {k.rsplit(".", 1)[0] for k in model.state_dict()}
    assert edges == 0
    assert len(labels) == len(prefixes), (labels, prefixes)  # one box per layer that HAS weights
    assert all(t.startswith("Weights") for t in labels)
    assert _ink(shot) > 0.001
