"""Shared pytest set-up: fast mode for notebook kernels, a private data dir for unit tests, CI guards."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

# Kernels started by nbval inherit this process's environment: fast mode unless told otherwise.
os.environ.setdefault("PT_COURSE_FAST", "1")


def chromium_path() -> str | None:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        path = shutil.which(name)
        if path:
            return path
    return None


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    require = os.environ.get("PT_REQUIRE_BROWSER") == "1"
    if chromium_path() is None and not require:
        skip = pytest.mark.skip(reason="headless Chromium not installed (apt-get install chromium chromium-driver)")
        for item in items:
            if "browser" in item.keywords:
                item.add_marker(skip)


def pytest_collection_finish(session: pytest.Session) -> None:
    """When notebooks/ is among the test paths, every NN_*.ipynb must have been collected."""
    args = [Path(a.split("::")[0]).resolve() for a in session.config.args]
    nb_dir = (ROOT / "notebooks").resolve()
    if nb_dir not in args:
        return
    expected = {p.name for p in nb_dir.glob("[0-9][0-9]_*.ipynb")}
    collected = {Path(str(item.path)).name for item in session.items if str(item.path).endswith(".ipynb")}
    missing = expected - collected
    if missing:
        raise pytest.UsageError(
            f"notebooks not collected: {sorted(missing)}; pass the nbval options (make test does)")


@pytest.fixture
def course_data(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A private, empty course data dir (``$PT_COURSE_DATA``) so tests never touch ``data/``."""
    path = tmp_path / "course-data"
    path.mkdir()
    monkeypatch.setenv("PT_COURSE_DATA", str(path))
    return path


@pytest.fixture(scope="session")
def chromium() -> str:
    path = chromium_path()
    if path is None:
        pytest.fail("PT_REQUIRE_BROWSER=1 but no chromium on PATH")
    return path
