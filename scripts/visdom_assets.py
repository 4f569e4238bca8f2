#!/usr/bin/env python3
"""Provision visdom 0.2.4's web assets from the npm registry, so ``python -m visdom.server`` starts offline.

What visdom downloads at start, and the pinned table of those files (npm package, sha256, size, type),
live in :mod:`pt_helpers.monitor.assets`; ``start_visdom`` checks the same table. This script writes
exactly those files, under the names visdom expects, taken from the npm tarballs of the exact versions
in visdom's URLs, then writes ``static/version.built``: visdom then sees a completed download and
touches no network. Every tarball is checked against its pinned sha512 integrity and every file
against its pinned sha256, size and content type (JS/CSS/font/source map).

    python scripts/visdom_assets.py install   # idempotent: a fast no-op when everything is verified
    python scripts/visdom_assets.py check     # verify; also compares the table with visdom's own list

Options: ``--visdom-dir DIR`` (default: the importable visdom package). npm honours your registry
setting, e.g. ``npm config set registry https://registry.npmmirror.com`` in mainland China.
``make setup`` runs ``install``. Lesson 05 uses the server through :mod:`pt_helpers.monitor`.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import shutil
import sys
import tarfile
import tempfile
from pathlib import Path

import npm_pack  # sibling script: npm pack + integrity check (standard library only)

from pt_helpers.monitor.assets import (
    ASSETS,
    PACKAGES,
    VISDOM_VERSION,
    Asset,
    AssetError,
    built_ok,
    compare_with_visdom,
    find_visdom_dir,
    problems,
    sniff,
    visdom_version,
)


def find_npm() -> str:
    npm = shutil.which("npm")
    if npm is None:
        raise AssetError("npm not found: install Node.js/npm (https://nodejs.org) and re-run "
                         "`make setup`, or start visdom once with internet access")
    return npm


def fetch(specs: list[str], workdir: Path) -> dict[str, Path]:
    """``npm pack`` the packages into ``workdir`` (npm's cache is used when it has them); verify each tarball."""
    npm = find_npm()
    try:
        return npm_pack.pack(npm, {spec: PACKAGES[spec] for spec in specs}, workdir)
    except npm_pack.NpmError as err:
        raise AssetError(str(err)) from err


def write_assets(vdir: Path, assets: list[Asset], tarballs: dict[str, Path]) -> None:
    static = vdir / "static"
    opened = {spec: tarfile.open(path, "r:gz") for spec, path in tarballs.items()}
    try:
        for asset in assets:
            member = opened[asset.spec].extractfile("package/" + asset.member)
            if member is None:
                raise AssetError(f"{asset.spec}: package/{asset.member} is not a file")
            data = member.read()
            reason = sniff(asset, data)
            if reason is None and hashlib.sha256(data).hexdigest() != asset.sha256:
                reason = "sha256 differs from the pinned file"
            if reason:
                raise AssetError(f"{asset.spec}/{asset.member} -> static/{asset.dest}: {reason}")
            dest = static / asset.dest
            dest.parent.mkdir(parents=True, exist_ok=True)
            tmp = dest.with_name(dest.name + ".part")
            tmp.write_bytes(data)
            os.replace(tmp, dest)
    finally:
        for tar in opened.values():
            tar.close()


def install(vdir: Path) -> int:
    version = visdom_version(vdir)
    bad = problems(vdir)
    if not bad and built_ok(vdir):
        print(f"visdom web assets: {len(ASSETS)} files present and verified for visdom {version} (nothing to do)")
        return 0
    if version != VISDOM_VERSION:
        raise AssetError(f"visdom {version} is installed, but this script provisions the assets of visdom "
                         f"{VISDOM_VERSION} (pinned in requirements.txt)")
    if bad:
        find_npm()  # fail early, before anything else is read
    diffs = compare_with_visdom(vdir)
    if diffs:
        raise AssetError("the asset table does not match visdom's download list: " + "; ".join(diffs))
    specs = sorted({a.spec for a in bad})
    if specs:
        print(f"visdom web assets: fetching {len(bad)} of {len(ASSETS)} files from npm ({', '.join(specs)})")
        with tempfile.TemporaryDirectory(prefix="visdom-assets-") as tmp:
            write_assets(vdir, list(bad), fetch(specs, Path(tmp)))
    left = problems(vdir)
    if left:
        raise AssetError("still bad after install: " + ", ".join(f"{a.dest} ({r})" for a, r in left.items()))
    # The stamp visdom reads: with it (and every file present) download_scripts fetches nothing.
    (vdir / "static" / "version.built").write_text(version)
    print(f"visdom web assets: {len(ASSETS)} files installed and verified in {vdir / 'static'}; "
          f"version.built = {version}")
    return 0


def check(vdir: Path, *, verbose: bool = True) -> int:
    version = visdom_version(vdir)
    bad = problems(vdir)
    failures = [f"static/{a.dest}: {r}" for a, r in bad.items()]
    if not built_ok(vdir):
        failures.append(f"static/version.built does not hold {version}: visdom would download at start")
    if version != VISDOM_VERSION:
        failures.append(f"visdom {version} installed, table is for {VISDOM_VERSION}")
    else:
        failures += compare_with_visdom(vdir)
    if verbose:
        for asset in ASSETS:
            status = bad.get(asset, "ok")
            print(f"{status:>8}  static/{asset.dest:<62} {asset.spec}/{asset.member}")
    for line in failures:
        print("FAIL " + line, file=sys.stderr)
    if not failures:
        print(f"visdom web assets: {len(ASSETS)} files verified for visdom {version}; the server will not download")
    return 1 if failures else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("command", choices=["install", "check"])
    parser.add_argument("--visdom-dir", type=Path, default=None,
                        help="the visdom package folder (default: the importable visdom)")
    parser.add_argument("-q", "--quiet", action="store_true", help="check: only print failures and the verdict")
    args = parser.parse_args(argv)
    try:
        vdir = args.visdom_dir.resolve() if args.visdom_dir else find_visdom_dir()
        if args.command == "install":
            return install(vdir)
        return check(vdir, verbose=not args.quiet)
    except AssetError as err:
        print(f"visdom_assets: {err}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
