"""scripts/course.py: the set-up and launch entry point for Linux, macOS and Windows (what `make` calls)."""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))
import course  # noqa: E402


def test_venv_python_per_system():
    assert course.venv_python(Path("v"), os_name="nt") == Path("v") / "Scripts" / "python.exe"
    assert course.venv_python(Path("v"), os_name="posix") == Path("v") / "bin" / "python"


@pytest.mark.parametrize("version, system, machine", [
    ((3, 11), "Linux", "x86_64"), ((3, 13), "Windows", "AMD64"), ((3, 12), "Darwin", "arm64"),
    ((3, 11), "Linux", "aarch64"),
])
def test_supported_pythons_and_systems_pass(version, system, machine):
    course.check_python(version, system, machine)


@pytest.mark.parametrize("version, system, machine, words", [
    ((3, 10), "Linux", "x86_64", ["3.10", "3.11-3.13", "python3.11"]),
    ((3, 14), "Windows", "AMD64", ["3.14", "py -3.11"]),
    ((3, 11), "Darwin", "x86_64", ["Intel Mac", "Linux VM", "cloud notebook"]),
])
def test_unsupported_ones_say_what_to_do(version, system, machine, words):
    with pytest.raises(course.SetupError) as info:
        course.check_python(version, system, machine)
    for w in words:
        assert w in str(info.value), str(info.value)


def test_stamp_follows_the_files_the_setup_depends_on(tmp_path):
    for name in course.STAMP_INPUTS:
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(ROOT / name, tmp_path / name)
    venv = tmp_path / ".venv"
    python = course.venv_python(venv)
    python.parent.mkdir(parents=True)
    python.write_text("")
    assert course.needs_install(venv, tmp_path)  # no stamp yet
    (venv / ".installed").write_text(course.stamp_hash(tmp_path) + "\n")
    assert not course.needs_install(venv, tmp_path)
    with (tmp_path / "requirements.txt").open("a") as f:
        f.write("six==1.16.0\n")
    assert course.needs_install(venv, tmp_path), "a changed pin must re-run the install"


def test_data_advice_names_what_to_do_on_each_system():
    assert course.data_advice("Linux", apt=True, root_user=True) is None  # installs the Debian package itself
    assert "sudo apt-get install dataset-fashion-mnist" in course.data_advice("Linux", apt=True, root_user=False)
    for system in ("Darwin", "Windows"):
        text = course.data_advice(system, apt=False, root_user=False)
        assert "data/FashionMNIST/raw" in text and "PT_DATA_DIR" in text and "apt-get" not in text


def test_fashion_mnist_found_in_pt_data_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("PT_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("PT_COURSE_DATA", str(tmp_path / "course-data"))  # no unpacked copy there
    monkeypatch.setattr(course.paths, "DEBIAN_DIR", tmp_path / "nothing")  # nor a Debian package
    assert not course.fashion_mnist_found()
    for name in course.paths.FASHION_MNIST_FILES:
        (tmp_path / f"{name}.gz").write_bytes(b"")
    assert course.fashion_mnist_found()


def test_lab_command_is_loopback_without_news_or_update_check():
    cmd = course.lab_command(Path("py"), port=9999, root_dir=Path("/c"), extra=["--no-browser"], as_root=False)
    assert cmd[:4] == ["py", "-m", "jupyter", "lab"]
    assert "--ServerApp.ip=127.0.0.1" in cmd and "--ServerApp.port=9999" in cmd
    assert "--LabApp.news_url=None" in cmd and "--allow-root" not in cmd and cmd[-1] == "--no-browser"


def test_setup_on_a_ready_tree_does_nothing():
    if course.needs_install():
        pytest.skip("set-up has not run here (make test runs it first)")
    start = time.perf_counter()
    out = subprocess.run([sys.executable, str(ROOT / "scripts" / "course.py"), "setup"], capture_output=True,
                         text=True, timeout=120, check=True).stdout
    assert "pip" not in out and "venv" not in out, out
    assert time.perf_counter() - start < 30
