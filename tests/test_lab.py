"""`make lab` brings up a JupyterLab that answers, on loopback, with the course's kernel."""

import json
import os
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest
from system_helpers import free_port, listening_addresses

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.server
def test_make_lab_answers_with_the_course_kernel():
    if not (ROOT / ".venv" / ".installed").exists():
        pytest.skip("make setup has not run here (make test runs it first)")
    port, token = free_port(), "workbook-test"
    proc = subprocess.Popen(
        ["make", "-s", "lab", f"LAB_PORT={port}",
         f"LAB_ARGS=--no-browser --IdentityProvider.token={token} --ServerApp.port_retries=0"],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True)
    try:
        deadline, status = time.monotonic() + 60, None
        while time.monotonic() < deadline and proc.poll() is None:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/status?token={token}", timeout=2) as r:
                    status = json.load(r)
                    break
            except OSError:
                time.sleep(0.3)
        log = proc.stdout.read() if proc.poll() is not None else ""
        assert status is not None, f"JupyterLab did not answer within 60 s:\n{log}"
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/kernelspecs?token={token}", timeout=5) as r:
            specs = json.load(r)
        argv0 = specs["kernelspecs"][specs["default"]]["spec"]["argv"][0]
        assert Path(argv0).parent == ROOT / ".venv" / "bin", argv0  # not resolved: venv python is a symlink
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/lab/tree/notebooks?token={token}", timeout=5) as r:
            assert b"JupyterLab" in r.read()
        assert listening_addresses(port) in ({"127.0.0.1"}, None)  # loopback only, never 0.0.0.0 (None: macOS)
    finally:
        os.killpg(proc.pid, 15)
        proc.wait(timeout=20)
