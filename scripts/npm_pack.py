"""Fetch pinned npm packages as tarballs with ``npm pack`` and check each against its sha512 integrity.

Standard library only: used by ``scripts/visdom_assets.py`` (visdom's web assets) and ``scripts/build_site.py``
(the website's MathJax). npm honours the learner's registry setting (e.g. a mirror in mainland China) and its
cache (``--prefer-offline``); nothing is trusted that does not match its pinned integrity.
"""

from __future__ import annotations

import base64
import hashlib
import os
import subprocess
from pathlib import Path


class NpmError(RuntimeError):
    """``npm pack`` failed or a tarball does not match its pin; the message says which and what to check."""


def integrity(data: bytes) -> str:
    """npm's integrity string (``sha512-<base64>``) of a tarball's bytes."""
    return "sha512-" + base64.b64encode(hashlib.sha512(data).digest()).decode()


def tarball_name(spec: str) -> str:
    """The file ``npm pack name@version`` writes (``@scope/name`` -> ``scope-name-version.tgz``)."""
    name, version = spec.rsplit("@", 1)
    return f"{name.lstrip('@').replace('/', '-')}-{version}.tgz"


def pack(npm: str, pins: dict[str, str], workdir: Path, *, timeout: float = 900) -> dict[str, Path]:
    """``npm pack`` every ``name@version`` of ``pins`` into ``workdir`` and return ``{spec: tarball}``, each
    tarball checked against ``pins[spec]`` (its sha512 integrity)."""
    specs = list(pins)
    env = dict(os.environ, npm_config_update_notifier="false", npm_config_fund="false", npm_config_audit="false")
    cmd = [npm, "pack", "--prefer-offline", "--loglevel=error", *specs]
    try:
        proc = subprocess.run(cmd, cwd=workdir, env=env, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired as err:
        raise NpmError(f"`npm pack` timed out after {err.timeout:.0f} s (registry unreachable?)") from err
    if proc.returncode != 0:
        tail = " | ".join(proc.stderr.strip().splitlines()[-3:])
        raise NpmError(f"`npm pack {' '.join(specs)}` failed ({tail}); check network access to the npm "
                       "registry (`npm config get registry`; a mirror such as https://registry.npmmirror.com works)")
    tarballs = {}
    for spec, pinned in pins.items():
        path = Path(workdir) / tarball_name(spec)
        if not path.is_file():
            raise NpmError(f"npm pack {spec}: expected {path.name} in {workdir}")
        got = integrity(path.read_bytes())
        if got != pinned:
            raise NpmError(f"npm pack {spec}: tarball integrity {got[:30]}... differs from the pinned "
                           f"{pinned[:30]}... (a tampered mirror?)")
        tarballs[spec] = path
    return tarballs
