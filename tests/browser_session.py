"""Headless Chromium for the browser tests, driven by Playwright (no browser download: Debian's chromium).

`offline_page()` opens a page in which every host but loopback is unresolvable (Chromium's host resolver) and
every request that names another host is aborted and recorded, so a test can fail naming the URL. Screenshots
go to ``$PT_SCREENSHOT_DIR`` (default: the test's tmp_path) for a person to look at.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlparse

from conftest import chromium_path

LOCAL_HOSTS = {"127.0.0.1", "localhost", "[::1]", "::1"}
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--disable-quic",
    "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1, EXCLUDE localhost",
]


def chromium_executable() -> str | None:
    return chromium_path()  # conftest.py's: one place that knows the browser's names


@dataclass
class Traffic:
    """What the page asked for: URLs to other hosts (blocked), failed requests, console errors."""

    external: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    console_errors: list[str] = field(default_factory=list)

    def assert_offline(self) -> None:
        assert not self.external, f"requests left 127.0.0.1: {self.external}"


def is_local(url: str) -> bool:
    parsed = urlparse(url)
    return parsed.scheme in ("data", "blob", "about") or parsed.hostname in LOCAL_HOSTS


@contextlib.contextmanager
def offline_page(*, width: int = 1280, height: int = 860) -> Iterator[tuple[object, Traffic]]:
    """A Playwright page (and what it requested) in a fresh headless Chromium profile."""
    from playwright.sync_api import sync_playwright

    executable = chromium_executable()
    if executable is None:
        raise RuntimeError("no chromium on PATH (apt-get install chromium)")
    traffic = Traffic()

    def guard(route) -> None:
        url = route.request.url
        if is_local(url):
            route.continue_()
        else:
            traffic.external.append(url)
            route.abort()

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        try:
            context = browser.new_context(viewport={"width": width, "height": height})
            context.route("**/*", guard)
            page = context.new_page()
            page.on("requestfailed", lambda r: traffic.failed.append(f"{r.url} ({r.failure})"))
            page.on("console", lambda m: traffic.console_errors.append(m.text) if m.type == "error" else None)
            yield page, traffic
        finally:
            browser.close()


def screenshot(page, name: str, tmp_path: Path) -> Path:
    out = Path(os.environ.get("PT_SCREENSHOT_DIR", tmp_path)) / name
    out.parent.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(out))
    return out
