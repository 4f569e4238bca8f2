"""visdom 0.2.4's web assets: which files its server wants, where, and whether the installed ones are right.

Taught in notebooks/05_cnn.ipynb (why the course's visdom starts offline). visdom's server
(``visdom/server/build.py: download_scripts``) fetches 29 JavaScript, CSS and font files from unpkg.com,
cdn.plot.ly, d3js.org and cdnjs.cloudflare.com every time it starts, unless

* ``static/version.built`` holds visdom's own version (then a file that exists is not fetched again), and
* every MathJax file exists (those are fetched with ``requests.get`` and no error handling, so a
  missing one crashes the server when there is no network).

:data:`ASSETS` pins each file (its npm package, sha256, size, type); :func:`problems` and
:func:`assets_ready` check an installed visdom against it (``start_visdom`` asks :func:`assets_ready`);
:func:`compare_with_visdom` checks the table against the list in visdom's own source, read with
:mod:`ast` (no import of visdom, no network). ``scripts/visdom_assets.py install`` (run by ``make setup``)
writes the files from the npm registry with these pins.
"""

from __future__ import annotations

import ast
import hashlib
import importlib.util
import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = ["VISDOM_VERSION", "PACKAGES", "Asset", "ASSETS", "AssetError", "sniff", "find_visdom_dir",
           "visdom_version", "problems", "built_ok", "assets_ready", "visdom_download_list", "compare_with_visdom"]

VISDOM_VERSION = "0.2.4"  # the version whose download list the table below reproduces

# npm tarball integrity (sha512, as the registry publishes it) of every package we take files from.
PACKAGES = {
    "jquery@3.1.1":
        "sha512-zuiWRmx65Kd1oFGdWLvAjbsumdOBFvs3r1vuqCyKFF79R7exBHNbiNEJ8LR+xkzgfxqBznMD/4Cv6PHXS6mvEw==",
    "bootstrap@3.3.7":
        "sha512-qcFaisBrcBhTFkz1IUnGDYnX6ZWfFzH8zOixUDtHW9Ip+r+7MfMFav2rzy7cIHc7rgIg7xjhWBoo1mS/U26j4g==",
    "react@16.2.0":
        "sha512-ZmIomM7EE1DvPEnSFAHZn9Vs9zJl5A9H7el0EGTE6ZbW9FKe/14IYAlPbC8iH25YarEQxZL+E8VW7Mi7kfQrDQ==",
    "react-dom@16.2.0":
        "sha512-zpGAdwHVn9K0091d+hr+R0qrjoJ84cIBFL2uU60KvWBPfZ7LPSrfqviTxGHWN0sjPZb2hxWzMexwrvJdKePvjg==",
    "react-modal@3.1.10":
        "sha512-7b77AGWCkdg0YOf/qcYIGCpuwbxRwOA8P3UrUovk4grUNv+idOmHovJAx/Dcd3fuwHtgixxVjpcjVG60985MSA==",
    "plotly.js-dist-min@2.11.1":
        "sha512-F9WWNht0D3yBLZGHbLoJNfvplXvy+GUPSsA/lCbMuYd/UwzSu6Vmyprxlps9Einw1LDS1hYBrJeioK0lE3ieXA==",
    "sjcl@1.0.7":
        "sha512-xQbiwKfiAj6vyk44ANJ5RRymALRdRZOuRoKNYkWUU404p/RFXmMaay1Z5vRn30GJjkD+psox4Jd38jZojSuNYA==",
    "layout-bin-packer@1.4.0":
        "sha512-dQOZnajbOBGIcS9YlzKrkRtMCGa2oEpyf1zGRn93suphSvPclJe54Sbgtb053GJ21DUk84IBzaeQvjn+Gb10fA==",
    "d3@3.5.17":
        "sha512-yFk/2idb8OHPKkbAL8QaOaqENNoMhIaSHZerk3oQsECwkObkCpJyjYwCe+OHiq6UEdhe1m8ZGARRRO3ljFjlKg==",
    "d3-selection-multi@1.0.1":
        "sha512-mEnRkJ6A+Otd1LuRPV3az+s/RLDmIEhuz/MnT21O2nPcWNH7wZotdIlRjMA4Wpr+n7AESQ5fD8v1J3nL2Mnw9g==",
    "save-svg-as-png@1.4.17":
        "sha512-7QDaqJsVhdFPwviCxkgHiGm9omeaMBe1VKbHySWU6oFB2LtnGCcYS13eVoslUgq6VZC6Tjq/HddBd1K6p2PGpA==",
    "react-resizable@1.4.6":
        "sha512-4zLORO51u0/mlDsrVCAA4p266d+3mb2ZMNdiWOotAh/PdnfrRzZhgePmKE08PSQatXVIfMjmyD+Sapay8tmxdQ==",
    "react-grid-layout@0.16.3":
        "sha512-ytP92EqUjqcFhGzvdeKrK610dQ04GdFwRCWtD6PoeL5wR3liETcFISO7k8RBqnosV86JtXf/DwIfrL0COLs0gg==",
    "classnames@2.2.5":
        "sha512-DTt3GhOUDKhh4ONwIJW4lmhyotQmV2LjNlGK/J2hkwUcqcbKkCLAdJPtxQnxnlc7SR3f1CEXCyMmc7WLUsWbNA==",
    "mathjax@2.7.5":
        "sha512-OzsJNitEHAJB3y4IIlPCAvS0yoXwYjlo2Y4kmm9KQzyIBZt2d8yKRalby3uTRNN4fZQiGL2iMXjpdP1u2Rq2DQ==",
}


@dataclass(frozen=True)
class Asset:
    """One file visdom downloads, and where the course takes the same bytes from."""

    dest: str      # path under visdom/static/, exactly as download_scripts names it
    url: str       # the URL visdom 0.2.4 downloads it from
    spec: str      # npm package@version holding the same file
    member: str    # path inside the npm package
    size: int      # bytes
    sha256: str
    marker: str = ""  # a version banner the file must contain (when the file has one)

    @property
    def kind(self) -> str:
        name = self.dest.split("#")[0]
        for ext in (".js.map", ".js", ".css", ".eot", ".woff2", ".woff", ".ttf", ".svg"):
            if name.endswith(ext):
                return ext[1:]
        return "js"  # fonts/classnames: unpkg serves the package's "main" file, index.js


U = "https://unpkg.com/"
BS = U + "bootstrap@3.3.7/dist/"
MJ = "https://cdnjs.cloudflare.com/ajax/libs/mathjax/2.7.5/"
GLYPH = "glyphicons-halflings-regular"

ASSETS: tuple[Asset, ...] = (
    Asset("js/jquery.min.js", U + "jquery@3.1.1/dist/jquery.min.js", "jquery@3.1.1", "dist/jquery.min.js",
          86709, "85556761a8800d14ced8fcd41a6b8b26bf012d44a318866c0d81a62092efd9bf", "jQuery v3.1.1"),
    Asset("js/bootstrap.min.js", BS + "js/bootstrap.min.js", "bootstrap@3.3.7", "dist/js/bootstrap.min.js",
          37045, "53964478a7c634e8dad34ecc303dd8048d00dce4993906de1bacf67f663486ef", "Bootstrap v3.3.7"),
    Asset("js/react-react.min.js", U + "react@16.2.0/umd/react.production.min.js", "react@16.2.0",
          "umd/react.production.min.js",
          6617, "c28b91922bca297037cba02ec85c1c0dc179d1a942355f0b6e085f6021fa67df", "React v16.2.0"),
    Asset("js/react-dom.min.js", U + "react-dom@16.2.0/umd/react-dom.production.min.js", "react-dom@16.2.0",
          "umd/react-dom.production.min.js",
          94498, "f61ac9c43e0842c58774da732e424a606898fd211914925252ac9e64f34a77c8", "React v16.2.0"),
    Asset("js/react-modal.min.js", U + "react-modal@3.1.10/dist/react-modal.min.js", "react-modal@3.1.10",
          "dist/react-modal.min.js", 27391, "096ce258905585d06758012ec6261a5dc52b11d82e112450670666109bbc6f35"),
    Asset("js/plotly-plotly.min.js", "https://cdn.plot.ly/plotly-2.11.1.min.js", "plotly.js-dist-min@2.11.1",
          "plotly.min.js",
          3676933, "dd146b2db18d4ced4743018fa65ada14b723bf1aae08b559a5576ba8116cd889", "plotly.js v2.11.1"),
    Asset("js/sjcl.js", U + "sjcl@1.0.7/sjcl.js", "sjcl@1.0.7", "sjcl.js",
          25378, "d09a8688f37c7442bb1e6699b46efb191d9281ef05a492586fa0f54dc4e5110a"),
    Asset("js/layout-bin-packer.js.map", U + "layout-bin-packer@1.4.0/dist/layout-bin-packer.js.map",
          "layout-bin-packer@1.4.0", "dist/layout-bin-packer.js.map",
          26119, "7f39df86278f0cd247daee3ef579a09df79078e1c585bc7b8ef968266e06c0b5"),
    Asset("js/d3.v3.min.js", "http://d3js.org/d3.v3.min.js", "d3@3.5.17", "d3.min.js",  # v3 = last 3.x
          151725, "76c39718d1c0a3fb321676b3b7e29306c0907919a5716d5728bd1b08ae0169e7", 'version:"3.5.17"'),
    Asset("js/d3-selection-multi.v1.js", "https://d3js.org/d3-selection-multi.v1.js", "d3-selection-multi@1.0.1",
          "build/d3-selection-multi.js",
          3339, "22f89270afc6f231f8b974e37172a15525f28035276ca960f8ccdce622700315", "Version 1.0.1"),
    Asset("js/saveSvgAsPng.js", U + "save-svg-as-png@1.4.17/lib/saveSvgAsPng.js", "save-svg-as-png@1.4.17",
          "lib/saveSvgAsPng.js", 17024, "71c46f2411daf6ba2a4e38ec563d92f1da42f88da9247a2bdd5c8a10bde93ae3"),
    Asset("css/react-resizable-styles.css", U + "react-resizable@1.4.6/css/styles.css", "react-resizable@1.4.6",
          "css/styles.css", 1212, "7c9122a97c86b4be7839fd3d23c37d06aec1ece3ef830f8bae3a8c121056d528"),
    Asset("css/react-grid-layout-styles.css", U + "react-grid-layout@0.16.3/css/styles.css",
          "react-grid-layout@0.16.3", "css/styles.css",
          1052, "4ec035a50c31ec008bab5794e88ef056043e63aaa8dcbb24d36e5a73780b4dbc"),
    Asset("css/bootstrap.min.css", BS + "css/bootstrap.min.css", "bootstrap@3.3.7", "dist/css/bootstrap.min.css",
          121200, "f75e846cc83bd11432f4b1e21a45f31bc85283d11d372f7b19accd1bf6a2635c", "Bootstrap v3.3.7"),
    Asset("fonts/classnames", U + "classnames@2.2.5", "classnames@2.2.5", "index.js",
          1102, "89f83f030d5f5234436502f5d3ecfb01c1baaabe2a82785016563eb5800b674e"),
    Asset("js/layout_bin_packer.js", U + "layout-bin-packer@1.4.0/dist/layout-bin-packer.js",
          "layout-bin-packer@1.4.0", "dist/layout-bin-packer.js",
          12303, "312ed1834f78f497ac3c9e943ce4657679d26ad8cd62d7f722912d26c9d0ed29"),
    Asset(f"fonts/{GLYPH}.eot", f"{BS}fonts/{GLYPH}.eot", "bootstrap@3.3.7", f"dist/fonts/{GLYPH}.eot",
          20127, "13634da87d9e23f8c3ed9108ce1724d183a39ad072e73e1b3d8cbf646d2d0407"),
    Asset(f"fonts/{GLYPH}.woff2", f"{BS}fonts/{GLYPH}.woff2", "bootstrap@3.3.7", f"dist/fonts/{GLYPH}.woff2",
          18028, "fe185d11a49676890d47bb783312a0cda5a44c4039214094e7957b4c040ef11c"),
    Asset(f"fonts/{GLYPH}.woff", f"{BS}fonts/{GLYPH}.woff", "bootstrap@3.3.7", f"dist/fonts/{GLYPH}.woff",
          23424, "a26394f7ede100ca118eff2eda08596275a9839b959c226e15439557a5a80742"),
    Asset(f"fonts/{GLYPH}.ttf", f"{BS}fonts/{GLYPH}.ttf", "bootstrap@3.3.7", f"dist/fonts/{GLYPH}.ttf",
          45404, "e395044093757d82afcb138957d06a1ea9361bdcf0b442d06a18a8051af57456"),
    # visdom keeps the URL fragment in the file name; only its existence matters (browsers use woff2).
    Asset(f"fonts/{GLYPH}.svg#glyphicons_halflingsregular", f"{BS}fonts/{GLYPH}.svg#glyphicons_halflingsregular",
          "bootstrap@3.3.7", f"dist/fonts/{GLYPH}.svg",
          108738, "42f60659d265c1a3c30f9fa42abcbb56bd4a53af4d83d316d6dd7a36903c43e5"),
    Asset("js/mathjax/2.7.5/config/Safe.js", MJ + "config/Safe.js?V=2.7.5", "mathjax@2.7.5", "config/Safe.js",
          885, "c3d9f149afb82798a73d14a9737a82b5cb8bb8d217de631030a702d4ae0c1d8e"),
    Asset("js/mathjax/2.7.5/config/TeX-AMS-MML_HTMLorMML.js", MJ + "config/TeX-AMS-MML_HTMLorMML.js?V=2.7.5",
          "mathjax@2.7.5", "config/TeX-AMS-MML_HTMLorMML.js",
          244879, "f380ca5d5257b34fc5f0e4cccd7e1447dd3dfa3b65e06ed23f2a4f6af17e19f0"),
    Asset("js/mathjax/2.7.5/extensions/Safe.js", MJ + "extensions/Safe.js?V=2.7.5", "mathjax@2.7.5",
          "extensions/Safe.js", 6280, "1b44a7b48d991ab692da9074fe8582cd47d438b57445af064ce30d2eac3871dd"),
    Asset("js/mathjax/2.7.5/jax/output/SVG/fonts/TeX/fontdata.js", MJ + "jax/output/SVG/fonts/TeX/fontdata.js?V=2.7.5",
          "mathjax@2.7.5", "jax/output/SVG/fonts/TeX/fontdata.js",
          143577, "c23d4bebe304610f617983eaeab7f8aa5e13a45391318f30ccf2650fbff939e1"),
    Asset("js/mathjax/2.7.5/jax/output/SVG/jax.js", MJ + "jax/output/SVG/jax.js?V=2.7.5", "mathjax@2.7.5",
          "jax/output/SVG/jax.js", 54691, "39d9a95fcde78f560cb5fcf11bb434ca5ad2349d74737b71160c8f473861fb5d"),
    Asset("js/mathjax/2.7.5/jax/output/SVG/fonts/TeX/Size1/Regular/Main.js",
          MJ + "jax/output/SVG/fonts/TeX/Size1/Regular/Main.js?V=2.7.5", "mathjax@2.7.5",
          "jax/output/SVG/fonts/TeX/Size1/Regular/Main.js",
          17011, "3e1c830e9c05a62f9caf86f9e13d926c38c5136b1eba8f6171953e839ce3941f"),
    Asset("js/mathjax/2.7.5/jax/output/SVG/config.js", MJ + "jax/output/SVG/config.js?V=2.7.5", "mathjax@2.7.5",
          "jax/output/SVG/config.js", 1980, "d680518add37c0d1bf50dea3c93a4cd2aa703d5e1d3e2748a0e016c26aee253c"),
    Asset("js/mathjax/2.7.5/MathJax.js", MJ + "MathJax.js?config=TeX-AMS-MML_HTMLorMML%2CSafe.js&#038;ver=4.1",
          "mathjax@2.7.5", "MathJax.js",
          63532, "9ef249bfdc162849bcf2abe8425f5e90bd89fa4fd1588b1a492731c65b2bbfc9", 'version="2.7.5"'),
)

_MAGIC = {"eot": None, "woff": b"wOFF", "woff2": b"wOF2", "ttf": b"\x00\x01\x00\x00"}


class AssetError(RuntimeError):
    """visdom is missing, or its assets are not (or cannot be made) what the table pins."""


def sniff(asset: Asset, data: bytes) -> str | None:
    """Why ``data`` cannot be ``asset`` (wrong type, truncated, an HTML error page), or None when it looks right."""
    if not data:
        return "empty"
    if asset.kind != "svg" and data.lstrip()[:20].lower().startswith((b"<!doctype html", b"<html")):
        return f"an HTML page (a CDN or proxy error?), not a {asset.kind} file"
    if not 0.5 * asset.size <= len(data) <= 2 * asset.size:
        return f"{len(data)} bytes, expected about {asset.size}"
    kind = asset.kind
    if kind in _MAGIC:
        if kind == "eot":  # EOT header: magic number 0x504C at byte offset 34
            ok = data[34:36] == b"LP"
        else:
            ok = data.startswith(_MAGIC[kind])
        return None if ok else f"not a {kind} font (bad magic bytes)"
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return "not UTF-8 text"
    if kind == "svg" and "<svg" not in text[:2000]:
        return "no <svg> element"
    if kind == "css" and not ("{" in text and "}" in text):
        return "no CSS rules"
    if kind == "js" and not any(tok in text for tok in ("function", "=>", "MathJax.")):
        return "does not look like JavaScript"
    if kind == "js.map":
        try:
            parsed = json.loads(text)
        except ValueError:
            return "not JSON"
        if parsed.get("version") != 3 or "mappings" not in parsed:
            return "not a version-3 source map"
    if asset.marker and asset.marker not in text:
        return f"no {asset.marker!r} banner (wrong version?)"
    return None


def find_visdom_dir() -> Path:
    """The installed visdom package folder, found without importing visdom (which imports torch)."""
    spec = importlib.util.find_spec("visdom")
    if spec is None or spec.origin is None:
        raise AssetError(f"visdom is not installed in {sys.executable}: run `make setup` "
                         "(requirements.txt pins visdom==0.2.4)")
    return Path(spec.origin).parent


def visdom_version(vdir: Path) -> str:
    """The version in ``vdir/VERSION`` (what visdom writes to ``static/version.built``)."""
    path = vdir / "VERSION"
    if not path.is_file() or not (vdir / "static").is_dir():
        raise AssetError(f"--visdom-dir {vdir}: expected a visdom package folder (VERSION file and static/)")
    return path.read_text().strip()


def problems(vdir: Path) -> dict[Asset, str]:
    """Every asset that is missing or fails verification, with the reason (empty dict = all good)."""
    bad: dict[Asset, str] = {}
    static = vdir / "static"
    for asset in ASSETS:
        path = static / asset.dest
        if not path.is_file():
            bad[asset] = "missing"
            continue
        data = path.read_bytes()
        if hashlib.sha256(data).hexdigest() != asset.sha256:
            bad[asset] = sniff(asset, data) or "sha256 differs from the pinned file"
    return bad


def built_ok(vdir: Path) -> bool:
    """True when ``static/version.built`` holds visdom's version (visdom then skips files that exist)."""
    stamp = vdir / "static" / "version.built"
    return stamp.is_file() and stamp.read_text().strip() == visdom_version(vdir)


def assets_ready(vdir: Path | None = None) -> bool:
    """True when visdom's server will start without downloading: every asset verified and the stamp written.

    Args:
        vdir: the visdom package folder; None = the installed visdom.
    """
    vdir = find_visdom_dir() if vdir is None else vdir
    return built_ok(vdir) and not problems(vdir)


def _evaluate(node: ast.expr, names: dict[str, Any]) -> Any:
    """The value of a literal expression of strings, lists, dicts, names already read, ``%`` and ``+``."""
    if isinstance(node, ast.Constant):
        return node.value
    if isinstance(node, ast.Name) and node.id in names:
        return names[node.id]
    if isinstance(node, (ast.List, ast.Tuple)):
        return [_evaluate(e, names) for e in node.elts]
    if isinstance(node, ast.Dict) and None not in node.keys:
        return {_evaluate(k, names): _evaluate(v, names) for k, v in zip(node.keys, node.values)}
    if isinstance(node, ast.BinOp) and isinstance(node.op, (ast.Mod, ast.Add)):
        left, right = _evaluate(node.left, names), _evaluate(node.right, names)
        return left % right if isinstance(node.op, ast.Mod) else left + right
    raise AssetError(f"visdom/server/build.py: cannot read `{ast.unparse(node)}` (a visdom version this "
                     f"table was not written for? it is for {VISDOM_VERSION})")


def visdom_download_list(vdir: Path | None = None) -> dict[str, str]:
    """``{url: path under static/}`` exactly as visdom's ``download_scripts`` fetches and names its files.

    The URL tables (``ext_files``, ``cdnjs_url``, ``mathjax_path``) are read from the source of
    ``vdir/server/build.py``; each file is then placed by download_scripts' rules: names ending in ``.js`` or
    ``.js.map`` under ``js/``, ``.css`` under ``css/``, anything else under ``fonts/``; MathJax files under
    ``js/mathjax/2.7.5/`` with their sub-folders, the query string dropped from the name.
    """
    vdir = find_visdom_dir() if vdir is None else vdir
    path = vdir / "server" / "build.py"
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    fn = next((n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == "download_scripts"), None)
    if fn is None:
        raise AssetError(f"{path}: no download_scripts function")
    names: dict[str, Any] = {}
    for stmt in fn.body:
        if (isinstance(stmt, ast.Assign) and len(stmt.targets) == 1 and isinstance(stmt.targets[0], ast.Name)
                and stmt.targets[0].id in ("b", "bb", "ext_files", "cdnjs_url", "mathjax_path")):
            names[stmt.targets[0].id] = _evaluate(stmt.value, names)
    missing = {"ext_files", "cdnjs_url", "mathjax_path"} - set(names)
    if missing:
        raise AssetError(f"{path}: download_scripts no longer defines {', '.join(sorted(missing))}")
    listed = {}
    for url, name in names["ext_files"].items():
        sub = "js" if name.endswith((".js", ".js.map")) else "css" if name.endswith(".css") else "fonts"
        listed[url] = f"{sub}/{name}"
    cdn = names["cdnjs_url"]
    mathjax_dir = "/".join(part for part in cdn.split("/")[-3:] if part)  # "mathjax/2.7.5"
    for rel in names["mathjax_path"]:
        *folders, name = rel.split("/")
        listed[cdn + rel] = "/".join(["js", mathjax_dir, *folders, name.split("?")[0]])
    return listed


def compare_with_visdom(vdir: Path | None = None) -> list[str]:
    """Differences between :data:`ASSETS` and the download list of the visdom in ``vdir`` (empty = same)."""
    ours = {a.url: a.dest for a in ASSETS}
    theirs = visdom_download_list(vdir)
    diffs = [f"visdom fetches {u} -> {d}, not in this table" for u, d in theirs.items() if ours.get(u) != d]
    diffs += [f"this table provides {u} -> {d}, visdom does not ask for it" for u, d in ours.items()
              if theirs.get(u) != d]
    return diffs
