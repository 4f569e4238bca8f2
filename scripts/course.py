#!/usr/bin/env python3
"""Set up, open and test the course on Linux, macOS and Windows: the one entry point behind `make`.

    python3 scripts/course.py lab       # macOS, Linux     (Windows: py -3.11 scripts\\course.py lab)
    python3 scripts/course.py test      # unit tests + every notebook in fast mode (what CI runs)
    python3 scripts/course.py setup     # only the set-up (lab and test run it first); idempotent
    python3 scripts/course.py doctor    # the environment report for bug reports

`setup` does what `make setup` did: a virtual environment in .venv/, the pinned packages of requirements.txt,
`pip install -e .`, the Jupyter kernel, JupyterLab's course settings, visdom's web assets when npm exists, and
the Fashion-MNIST check. A second run on a ready tree does nothing: a stamp records the hash of the files the
set-up depends on. Standard library only (it runs before the venv exists); no step needs bash, make, /proc or
apt-get, and the one Linux-only step (the Debian data package) says what to do elsewhere.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import platform
import shutil
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from pt_helpers import paths  # noqa: E402  standard library only: the search order, before the venv exists

VENV = ROOT / ".venv"
STAMP_INPUTS = ("requirements.txt", "pyproject.toml", "jupyter/overrides.json")
VISDOM_ASSET_INPUTS = ("scripts/visdom_assets.py", "pt_helpers/monitor/assets.py")  # the pinned asset table
SUPPORTED = ((3, 11), (3, 13))
KERNEL = ("python3", "Python 3 (PyTorch Workbook)")
NBVAL = ["--nbval-lax", "--nbval-current-env", "--nbval-sanitize-with", "tests/nbval_sanitize.cfg",
         "--nbval-cell-timeout=900"]


class SetupError(RuntimeError):
    """A set-up step cannot go on; the message says what to do."""


def venv_python(venv: Path = VENV, os_name: str = os.name) -> Path:
    """The interpreter of a virtual environment: Scripts\\python.exe on Windows, bin/python elsewhere."""
    return venv / "Scripts" / "python.exe" if os_name == "nt" else venv / "bin" / "python"


def check_python(version: Sequence[int] = sys.version_info[:2], system: str = platform.system(),
                 machine: str = platform.machine()) -> None:
    """Refuse a Python or a computer the pinned packages do not install on, saying what to use instead."""
    if system == "Darwin" and machine.lower() in ("x86_64", "amd64", "i386"):
        raise SetupError("This is an Intel Mac: PyTorch 2.14 has no wheel for macOS on x86_64 (PyTorch stopped "
                         "them), so the course cannot be installed here. Use a Linux VM or a cloud notebook "
                         "(e.g. any JupyterLab with Python 3.11); older PyTorch via conda is not supported.")
    lo, hi = SUPPORTED
    if not lo <= tuple(version[:2]) <= hi:
        have = ".".join(map(str, version[:2]))
        fix = ("py -3.11 scripts\\course.py ..." if system == "Windows"
               else "python3.11 scripts/course.py ... (or make PYTHON=python3.11 ...)")
        raise SetupError(f"Python {have} found; the pinned packages need Python 3.11-3.13 (3.11 is what CI "
                         f"tests). Install Python 3.11 and run: {fix}")


def stamp_hash(root: Path = ROOT) -> str:
    digest = hashlib.sha256()
    for name in STAMP_INPUTS:
        digest.update(name.encode() + b"\0" + (root / name).read_bytes() + b"\0")
    return digest.hexdigest()


def needs_install(venv: Path = VENV, root: Path = ROOT) -> bool:
    stamp = venv / ".installed"
    return not (venv_python(venv).exists() and stamp.exists() and stamp.read_text().strip() == stamp_hash(root))


def run(cmd: Sequence[str | os.PathLike], **kwargs) -> None:
    print("+", " ".join(str(c) for c in cmd), flush=True)
    subprocess.run([str(c) for c in cmd], check=True, cwd=kwargs.pop("cwd", ROOT), **kwargs)


def create_venv(venv: Path = VENV) -> Path:
    python = venv_python(venv)
    has_pip = python.exists() and subprocess.run([str(python), "-m", "pip", "--version"],
                                                 capture_output=True).returncode == 0
    if not has_pip:
        try:
            run([sys.executable, "-m", "venv", venv])
        except subprocess.CalledProcessError as err:
            raise SetupError(f"'{sys.executable} -m venv {venv}' failed: on Debian/Ubuntu install the venv module "
                             "first (sudo apt-get install python3-venv); elsewhere reinstall Python from "
                             "python.org") from err
    return python


def install_packages(python: Path, root: Path = ROOT) -> None:
    run([python, "-m", "pip", "install", "--quiet", "--upgrade", "pip>=24", "setuptools>=68,<81", "wheel"])
    # --no-build-isolation: visdom 0.2.4 is an sdist whose setup.py needs setuptools<81 (installed above)
    run([python, "-m", "pip", "install", "--no-build-isolation", "-r", root / "requirements.txt"])
    run([python, "-m", "pip", "install", "--quiet", "--no-build-isolation", "--no-deps", "-e", root])
    run([python, "-m", "ipykernel", "install", "--sys-prefix", "--name", KERNEL[0], "--display-name", KERNEL[1]])
    prefix = Path(subprocess.run([str(python), "-c", "import sys; print(sys.prefix)"], capture_output=True,
                                 text=True, check=True).stdout.strip())
    settings = prefix / "share" / "jupyter" / "lab" / "settings"
    settings.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(root / "jupyter" / "overrides.json", settings / "overrides.json")  # no news prompt


def provision_visdom_assets(python: Path, venv: Path = VENV, root: Path = ROOT) -> None:
    """visdom's web assets from npm, once; without npm, one warning and a stamp so set-up stays idempotent."""
    stamp = venv / ".visdom-assets"
    table = hashlib.sha256(b"".join((root / f).read_bytes() for f in VISDOM_ASSET_INPUTS)).hexdigest()
    if stamp.exists() and stamp.read_text().split()[-1:] == [table]:
        return  # provisioned (or skipped without npm) for this asset table
    if shutil.which("npm") is None:
        print("warning: npm not found, so visdom's web assets are not provisioned (visdom would need the internet "
              f"at start; lesson 05 falls back to inline plots). Once npm works: {python} scripts/visdom_assets.py "
              "install", flush=True)
        stamp.write_text(f"skipped {table}\n")
        return
    try:
        run([python, root / "scripts" / "visdom_assets.py", "install"])
        stamp.write_text(f"ok {table}\n")
    except subprocess.CalledProcessError:
        print(f"warning: visdom web assets not provisioned (see above). Once npm works: {python} "
              "scripts/visdom_assets.py install", flush=True)
        stamp.write_text(f"skipped {table}\n")


def fashion_mnist_found() -> bool:
    """Fashion-MNIST is where the lessons look (``pt_helpers.paths``: $PT_DATA_DIR, Debian package, data/)."""
    return paths.locate_fashion_mnist() is not None


def data_advice(system: str = platform.system(), apt: bool = shutil.which("apt-get") is not None,
                root_user: bool = hasattr(os, "geteuid") and os.geteuid() == 0) -> str | None:
    """What to do about Fashion-MNIST: None when this machine can install the Debian package itself."""
    copy = ("copy the four files train-images-idx3-ubyte.gz, train-labels-idx1-ubyte.gz, t10k-images-idx3-ubyte.gz, "
            "t10k-labels-idx1-ubyte.gz into data/FashionMNIST/raw/ (or a folder named by PT_DATA_DIR), or let "
            "lesson 03 download them")
    if system == "Linux" and apt:
        return None if root_user else f"Fashion-MNIST: not found; run 'sudo apt-get install dataset-fashion-mnist' " \
                                      f"(Debian/Ubuntu), or {copy}"
    return f"Fashion-MNIST: not found ({system} has no Debian package): {copy}"


def check_data() -> None:
    if fashion_mnist_found():
        print("Fashion-MNIST: found", flush=True)
        return
    advice = data_advice()
    if advice is None:
        install = ["apt-get", "install", "-y", "-q", "dataset-fashion-mnist"]
        try:
            run(install)
            return
        except subprocess.CalledProcessError:
            try:  # a machine that never ran `apt-get update` has no package lists yet
                run(["apt-get", "update", "-q"])
                run(install)
                return
            except subprocess.CalledProcessError:
                advice = "warning: apt-get could not install dataset-fashion-mnist; the lessons will download it"
    print(advice, flush=True)


def setup(venv: Path = VENV, root: Path = ROOT) -> Path:
    check_python()
    python = venv_python(venv)
    if needs_install(venv, root):
        python = create_venv(venv)
        install_packages(python, root)
        (venv / ".installed").write_text(stamp_hash(root) + "\n")
    provision_visdom_assets(python, venv, root)
    check_data()
    return python


def lab_command(python: Path, *, port: int = 8888, root_dir: Path = ROOT, extra: Sequence[str] = (),
                as_root: bool = hasattr(os, "geteuid") and os.geteuid() == 0) -> list[str]:
    """`jupyter lab` on loopback with the course's settings: no news prompt, no update check."""
    cmd = [str(python), "-m", "jupyter", "lab", f"--ServerApp.root_dir={root_dir}",
           "--LabApp.default_url=/lab/tree/notebooks", "--ServerApp.ip=127.0.0.1", f"--ServerApp.port={port}",
           "--LabApp.news_url=None", "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate"]
    return cmd + (["--allow-root"] if as_root else []) + list(extra)


def test_command(python: Path, extra: Sequence[str] = ()) -> list[str]:
    return [str(python), "-m", "pytest", "tests", "notebooks", *NBVAL, *extra]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="course.py", description=__doc__.split("\n\n")[0], allow_abbrev=False)
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("setup", help="create .venv with the pins (idempotent)")
    # allow_abbrev=False: options this parser does not know go to jupyter/pytest unchanged (--no-browser, -k, ...)
    lab = sub.add_parser("lab", help="set up if needed, then open JupyterLab on http://127.0.0.1:PORT",
                         allow_abbrev=False)
    lab.add_argument("--port", type=int, default=8888)
    lab.add_argument("--root", type=Path, default=ROOT, help="the folder JupyterLab serves (default: the course)")
    sub.add_parser("test", help="set up if needed, then unit tests and every notebook in fast mode",
                   allow_abbrev=False)
    sub.add_parser("doctor", help="the environment report to paste into bug reports", allow_abbrev=False)
    args, extra = parser.parse_known_args(argv)
    try:
        python = setup()
    except SetupError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    except subprocess.CalledProcessError as err:
        print(f"error: set-up step failed (exit {err.returncode}): {' '.join(map(str, err.cmd))}", file=sys.stderr)
        return err.returncode or 1
    if args.command == "setup":
        return 0
    if args.command == "lab":
        return subprocess.call(lab_command(python, port=args.port, root_dir=args.root, extra=extra), cwd=ROOT)
    if args.command == "test":
        env = dict(os.environ, PT_COURSE_FAST="1")
        return subprocess.call(test_command(python, extra), cwd=ROOT, env=env)
    return subprocess.call([str(python), "-m", "pt_helpers.doctor", *extra], cwd=ROOT)


if __name__ == "__main__":
    sys.exit(main())
