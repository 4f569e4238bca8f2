"""Shared pytest set-up: fast mode for notebook kernels, a private data dir for unit tests, CI guards."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent  # repo root: this conftest covers tests/ and notebooks/

# Kernels started by nbval inherit this process's environment: fast mode unless told otherwise.
os.environ.setdefault("PT_COURSE_FAST", "1")


def chromium_path() -> str | None:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        path = shutil.which(name)
        if path:
            return path
    return None


def gpu_cells_enabled() -> bool:
    """On the GPU runner (PT_RUN_GPU_CELLS=1 and CUDA present) cells marked NBVAL_SKIP run too."""
    if os.environ.get("PT_RUN_GPU_CELLS") != "1":
        return False
    import torch

    if not torch.cuda.is_available():
        raise pytest.UsageError("PT_RUN_GPU_CELLS=1 but torch.cuda.is_available() is False")
    return True


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    require = os.environ.get("PT_REQUIRE_BROWSER") == "1"
    if chromium_path() is None and not require:
        skip = pytest.mark.skip(reason="headless Chromium not installed (apt-get install chromium fonts-noto-cjk)")
        for item in items:
            if "browser" in item.keywords:
                item.add_marker(skip)
    if any(str(item.path).endswith(".ipynb") for item in items) and gpu_cells_enabled():
        for item in items:
            options = getattr(item, "options", None)  # nbval's per-cell options from its comment markers
            if isinstance(options, dict) and options.get("skip"):
                options["skip"] = False


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item):
    """nbval runs a cell tagged ``raises-exception`` without failing when it raises, and also when it does not.
    A tagged cell that does not raise is a lesson that no longer shows its error: fail it."""
    result = yield
    options = getattr(item, "options", None)
    outputs = getattr(item, "test_outputs", None)
    if isinstance(options, dict) and options.get("check_exception") and outputs is not None:
        if not any(out.get("output_type") == "error" for out in outputs):
            pytest.fail(f"{item.name} is tagged raises-exception (or # NBVAL_RAISES_EXCEPTION) but raised nothing")
    return result


def notebook_seconds(reports) -> dict[str, float]:
    """Add up setup + call + teardown time of every notebook's cells, per notebook file."""
    seconds: dict[str, float] = {}
    for report in reports:
        path = getattr(report, "nodeid", "").split("::")[0]
        if path.endswith(".ipynb") and hasattr(report, "duration"):
            name = Path(path).name
            seconds[name] = seconds.get(name, 0.0) + report.duration
    return seconds


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Write data/test-timings.json (fast mode, per notebook; the GPU runner uploads it).

    Read from the terminal reporter's stats: a per-report hook in this conftest would only see the
    items under tests/, not the notebooks.
    """
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    reports = [r for group in (reporter.stats.values() if reporter else []) for r in group]
    seconds = notebook_seconds(reports)
    if seconds:
        import json

        import torch

        out = ROOT / "data" / "test-timings.json"
        out.parent.mkdir(exist_ok=True)
        device = torch.cuda.get_device_name(0) if torch.cuda.is_available() else "cpu"
        out.write_text(json.dumps({"device": device, "mode": "fast",
                                   "seconds": {k: round(v, 1) for k, v in sorted(seconds.items())}},
                                  indent=1) + "\n")


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
