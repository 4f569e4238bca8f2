#!/usr/bin/env python3
"""Build the course website (static HTML) from the committed notebooks and their full-mode outputs.

    .venv/bin/python scripts/build_site.py            # what `make site` runs; output in _build/html/
    python -m http.server -d _build/html               # then open http://127.0.0.1:8000

No notebook is executed: the pages show the outputs committed in ``notebooks/``. Sphinx + myst-nb +
sphinx-book-theme (pinned in ``requirements-docs.txt``, installed into this interpreter's environment on
first use, with ``-c requirements.txt`` so the course's own pins stay as they are) read a staging copy in
``_build/src/``:

- ``index.md`` is README.md, its links to ``notebooks/NN_x.ipynb`` turned into links to the lesson pages and
  its links to other files of the repository into downloads; the lessons, in order, are its toctree;
- ``lessons/NN_x.ipynb`` are the notebooks with a header cell after the title (CPU time, what the lesson
  needs from an earlier one, its notebook and workbook copy as downloads, how to run it), widget outputs
  reduced to their static fallback (the figure before them and their text), and live views of local
  servers (netron's iframe on 127.0.0.1:PORT, dead once the kernel stopped) replaced by a sentence.

The site loads nothing from another host: MathJax 3 comes from the npm registry (``npm pack``, checked
against a pinned sha512 and cached under ``.venv/share/pt-workbook-site/``; offline once fetched), the theme's
fonts and scripts are its own, myst-nb's widget manager (require.js and html-manager from CDNs) is off.
Sphinx runs with ``-W``: any warning (a broken cross-reference, an unknown lexer) fails the build.
"""

from __future__ import annotations

import argparse
import copy
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

import npm_pack  # sibling scripts (scripts/ is on sys.path when run as a script)
from lesson_table import minutes

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
REQUIREMENTS = ROOT / "requirements-docs.txt"
DOCS_MODULES = ("sphinx", "myst_nb", "sphinx_book_theme")

MATHJAX_SPEC = "mathjax@3.2.2"
MATHJAX_INTEGRITY = ("sha512-Bt+SSVU8eBG27zChVewOicYs7Xsdt40qm4+UpHyX7k0/O9NliPc+x77k1/FEsPsjKPZGJvtRZM1vO+geW0OhGw==")
# What the site loads: the TeX-to-HTML combined component, the TeX extensions it autoloads, the CHTML fonts,
# and what its right-click menu may load (accessibility, speech); the licence travels with it.
MATHJAX_KEEP = ("es5/tex-chtml.js", "es5/input/tex/", "es5/output/chtml/", "es5/ui/", "es5/a11y/", "es5/sre/",
                "LICENSE")
MATHJAX_ENTRY = "mathjax/tex-chtml.js"  # relative to the site's _static/

WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
LOCAL_IFRAME = re.compile(r"<iframe\b[^>]*\bsrc=[\"']https?://(127\.0\.0\.1|localhost)[:/\"']", re.I)
CHECKPOINT_NAME = re.compile(r"[\"']([\w.-]+\.pt)[\"']")
SAVES = ("save_model(", "torch.save(", "save_checkpoint(")
LOADS = ("load_model(", "torch.load(", "load_checkpoint(")


class SiteError(RuntimeError):
    """The site cannot be built; the message says what to do."""


# --------------------------------------------------------------------------------------------- dependencies

def deps_stamp_value() -> str:
    digest = hashlib.sha256()
    for path in (REQUIREMENTS, ROOT / "requirements.txt"):
        digest.update(path.read_bytes())
    return digest.hexdigest()


def ensure_docs_deps(python: str = sys.executable) -> None:
    """pip install requirements-docs.txt (constrained by requirements.txt) once per change of either file."""
    stamp = Path(sys.prefix) / ".docs-installed"
    want = deps_stamp_value()
    importable = all(_importable(m) for m in DOCS_MODULES)
    if importable and stamp.is_file() and stamp.read_text().strip() == want:
        return
    cmd = [python, "-m", "pip", "install", "--quiet", "-r", str(REQUIREMENTS), "-c", str(ROOT / "requirements.txt")]
    print("+", " ".join(cmd), flush=True)
    if subprocess.run(cmd).returncode != 0:
        raise SiteError(f"installing {REQUIREMENTS.name} failed (see above); the site needs PyPI once")
    stamp.write_text(want + "\n")


def _importable(module: str) -> bool:
    import importlib.util

    return importlib.util.find_spec(module) is not None


# --------------------------------------------------------------------------------------------------- MathJax

def default_asset_dir() -> Path:
    return Path(sys.prefix) / "share" / "pt-workbook-site"


def provision_mathjax(asset_dir: Path) -> Path:
    """MathJax's files under ``asset_dir/static/mathjax`` (fetched once with npm, sha512-checked)."""
    static = asset_dir / "static"
    target = static / "mathjax"
    marker = target / ".complete"
    if marker.is_file() and marker.read_text().strip() == f"{MATHJAX_SPEC} {MATHJAX_INTEGRITY}":
        return static
    npm = shutil.which("npm")
    if npm is None:
        raise SiteError("npm not found: the site's math renderer (MathJax) comes from the npm registry once. "
                        "Install Node.js/npm and run `make site` again")
    with tempfile.TemporaryDirectory(prefix="pt-site-") as tmp:
        try:
            tarball = npm_pack.pack(npm, {MATHJAX_SPEC: MATHJAX_INTEGRITY}, Path(tmp))[MATHJAX_SPEC]
        except npm_pack.NpmError as err:
            raise SiteError(str(err)) from err
        if target.exists():
            shutil.rmtree(target)
        with tarfile.open(tarball, "r:gz") as tar:
            for member in tar.getmembers():
                name = member.name.removeprefix("package/")
                if not member.isfile() or not name.startswith(MATHJAX_KEEP):
                    continue
                dest = target / name.removeprefix("es5/")
                dest.parent.mkdir(parents=True, exist_ok=True)
                dest.write_bytes(tar.extractfile(member).read())
    marker.write_text(f"{MATHJAX_SPEC} {MATHJAX_INTEGRITY}\n")
    return static


# ----------------------------------------------------------------------------------- what the lessons need

def lessons(root: Path = ROOT) -> list[Path]:
    return sorted((root / "notebooks").glob("[0-9][0-9]_*.ipynb"))


def read_nb(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


def code_cells(nb: dict) -> list[str]:
    return ["".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "code"]


def checkpoint_use(nb: dict) -> tuple[set[str], set[str]]:
    """(written, read) checkpoint file names: a ``"name.pt"`` literal in a cell that saves / loads one."""
    written, read = set(), set()
    for source in code_cells(nb):
        names = set(CHECKPOINT_NAME.findall(source))
        if any(s in source for s in SAVES):
            written |= names
        if any(s in source for s in LOADS):
            read |= names
    return written, read


def prerequisites(paths: list[Path]) -> dict[str, list[tuple[str, str]]]:
    """For each lesson: [(checkpoint file, earlier lesson number that writes it)], derived from the code."""
    uses = {p.name: checkpoint_use(read_nb(p)) for p in paths}
    needs: dict[str, list[tuple[str, str]]] = {}
    for i, path in enumerate(paths):
        written, read = uses[path.name]
        found = []
        for name in sorted(read - written):
            writers = [q.name[:2] for q in paths[:i] if name in uses[q.name][0]]
            if writers:
                found.append((name, writers[-1]))
        needs[path.name] = found
    return needs


def readme_rows(readme: str) -> dict[str, list[str]]:
    """The README lesson table's rows by lesson number: #, lesson, data, CPU, GPU, result."""
    rows = {}
    block = readme.split("<!-- lessons:begin -->", 1)[-1].split("<!-- lessons:end -->", 1)[0]
    for line in block.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if cells and re.fullmatch(r"\d\d", cells[0]):
            rows[cells[0]] = cells
    return rows


def cpu_time(name: str, row: list[str], timings: dict[str, float]) -> str:
    """Full-mode CPU time: the README table (scripts/lesson_table.py writes it from data/timings.json), else
    data/timings.json itself (``make execute`` on the machine building the site), else say so."""
    cell = row[3] if len(row) > 3 else ""
    if cell and cell not in ("—", "-"):
        return f"{cell} (full mode, the whole notebook, on a 2-core CPU without GPU; measured by `make execute`)"
    if name in timings:
        return f"{minutes(timings[name])} (full mode, `make execute` on the machine that built this site)"
    return "not measured yet"


def title_of(nb: dict, fallback: str) -> str:
    first = next(("".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "markdown"), fallback)
    return first.splitlines()[0].lstrip("# ").strip() if first.strip() else fallback


def attach(path: Path, stage_dir: Path, root: Path = ROOT) -> str:
    """Copy a repository file into the staging tree's ``_files/`` (not a page: conf.py excludes it) and return
    the path a ``{download}`` role takes (``/`` = the source folder): the site then offers it for download."""
    rel = path.resolve().relative_to(root.resolve()).as_posix()
    dest = stage_dir / "_files" / rel
    dest.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(path, dest)
    return f"/_files/{rel}"


def header_cell(path: Path, row: list[str], timings: dict[str, float], needs: list[tuple[str, str]],
                stage_dir: Path, titles: dict[str, str], root: Path = ROOT) -> dict:
    num = path.name[:2]
    workbook = root / "workbook" / path.name
    if needs:
        need = "; ".join(f"`{ck}` from [lesson {n}]({[k for k in titles if k.startswith(n)][0]}) "
                         f"(in `data/checkpoints/` once you have run lesson {n})" for ck, n in needs)
    else:
        need = "no checkpoint from an earlier lesson"
    data = row[2] if len(row) > 2 and row[2] else "see the lesson"
    files = f"{{download}}`the notebook <{attach(path, stage_dir, root)}>` (with the solutions)"
    if workbook.is_file():
        files += f" · {{download}}`the workbook copy <{attach(workbook, stage_dir, root)}>` (for the exercises)"
    lines = [
        "```{admonition} Before you start",
        ":class: tip lesson-header",
        "",
        f"- **Time on a CPU:** {cpu_time(path.name, row, timings)}.",
        f"- **Needs:** {need}. **Data:** {data}.",
        f"- **Files:** {files}.",
        f"- **Run it:** `make lab` in a clone of the course opens JupyterLab on `notebooks/`; the exercises are in "
        f"`workbook/{path.name}` (macOS: `python3 scripts/course.py lab`, Windows: `py -3.11 scripts\\course.py lab`). "
        "This page shows the outputs of a full-mode run.",
        "```",
    ]
    source = "\n".join(lines)
    cell_id = "site-header-" + hashlib.sha1(f"{num}".encode()).hexdigest()[:8]
    return {"cell_type": "markdown", "id": cell_id, "metadata": {}, "source": source}


# --------------------------------------------------------------------------------------- staging the sources

def static_outputs(cell: dict) -> None:
    """Widget views -> their text fallback (the figure shown before them stays); dead local iframes -> a note."""
    for out in cell.get("outputs", []):
        data = out.get("data")
        if not data:
            continue
        data.pop(WIDGET_VIEW, None)
        html = data.get("text/html")
        if html is not None and LOCAL_IFRAME.search("".join(html)):
            data.clear()
            data["text/plain"] = "[a live view from a local server: run the cell in JupyterLab to see it]"
        out.get("metadata", {}).pop(WIDGET_VIEW, None)


def stage_notebook(path: Path, dest: Path, header: dict) -> None:
    nb = copy.deepcopy(read_nb(path))
    nb["metadata"].pop("widgets", None)
    cells = nb["cells"]
    first = next(i for i, c in enumerate(cells) if c["cell_type"] == "markdown")
    lines = "".join(cells[first]["source"]).split("\n", 1)
    insert = [header]
    if len(lines) > 1 and lines[1].strip():  # the title cell has more: title, header, the rest
        cells[first]["source"] = lines[0]
        rest = {"cell_type": "markdown", "id": header["id"] + "-intro", "metadata": {}, "source": lines[1]}
        insert.append(rest)
    cells[first + 1:first + 1] = insert
    for cell in cells:
        static_outputs(cell)
    dest.write_text(json.dumps(nb, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")


def readme_to_index(readme: str, lesson_names: list[str], stage_dir: Path, root: Path = ROOT) -> str:
    """README.md as the landing page: lesson links to pages, other repository links to downloads."""

    def link(match: re.Match) -> str:
        text, target = match.group(1), match.group(2)
        if re.match(r"[a-z]+:", target) or target.startswith("#"):
            return match.group(0)
        path, _, anchor = target.partition("#")
        if path.startswith("notebooks/") and Path(path).name in lesson_names:
            return f"[{text}](lessons/{Path(path).name})"
        if (root / path).is_file():
            return f"{{download}}`{text.strip('`')} <{attach(root / path, stage_dir, root)}>`"
        raise SiteError(f"README.md links to {target!r}, which is neither a lesson nor a file of the repository")

    body = re.sub(r"(?<!!)\[([^\]]+)\]\(([^)\s]+)\)", link, readme)
    toctree = ["", "```{toctree}", ":hidden:", ":maxdepth: 1", ":caption: Lessons", ""]
    toctree += [f"lessons/{Path(n).stem}" for n in lesson_names]
    return body.rstrip("\n") + "\n" + "\n".join(toctree) + "\n```\n"


def stage(stage_dir: Path, root: Path = ROOT) -> list[Path]:
    if stage_dir.exists():
        shutil.rmtree(stage_dir)
    (stage_dir / "lessons").mkdir(parents=True)
    paths = lessons(root)
    readme = (root / "README.md").read_text(encoding="utf-8")
    rows = readme_rows(readme)
    timings_file = root / "data" / "timings.json"
    timings = json.loads(timings_file.read_text()) if timings_file.is_file() else {}
    needs = prerequisites(paths)
    titles = {p.name: title_of(read_nb(p), p.stem) for p in paths}
    for path in paths:
        header = header_cell(path, rows.get(path.name[:2], []), timings, needs[path.name], stage_dir, titles, root)
        stage_notebook(path, stage_dir / "lessons" / path.name, header)
    index = readme_to_index(readme, [p.name for p in paths], stage_dir, root)
    (stage_dir / "index.md").write_text(index, encoding="utf-8")
    return paths


# ------------------------------------------------------------------------------------------------- building

def sphinx_command(stage_dir: Path, out: Path, doctrees: Path, python: str = sys.executable) -> list[str]:
    return [python, "-m", "sphinx", "-W", "--keep-going", "-q", "-b", "html", "-c", str(DOCS),
            "-d", str(doctrees), str(stage_dir), str(out)]


def build(out: Path, work: Path, *, install: bool = True) -> float:
    start = time.perf_counter()
    if install:
        ensure_docs_deps()
    static = provision_mathjax(default_asset_dir())
    stage_dir = work / "src"
    stage(stage_dir)
    env = dict(os.environ, PT_SITE_STATIC=str(static), PYTHONHASHSEED="0")
    if out.exists():
        shutil.rmtree(out)
    cmd = sphinx_command(stage_dir, out, work / "doctrees")
    print("+", " ".join(cmd), flush=True)
    if subprocess.run(cmd, env=env, cwd=ROOT).returncode != 0:
        raise SiteError("sphinx-build failed (warnings are errors: see above)")
    return time.perf_counter() - start


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=ROOT / "_build" / "html", help="where the site goes")
    parser.add_argument("--work", type=Path, default=ROOT / "_build",
                        help="staging copy (WORK/src) and Sphinx's doctrees (WORK/doctrees)")
    parser.add_argument("--no-install", action="store_true", help="do not pip install requirements-docs.txt")
    args = parser.parse_args(argv)
    try:
        seconds = build(args.out.resolve(), args.work.resolve(), install=not args.no_install)
    except SiteError as err:
        print(f"build_site: {err}", file=sys.stderr)
        return 1
    print(f"site: {args.out} built in {seconds:.0f} s; read it with "
          f"`python -m http.server -d {args.out}` (http://127.0.0.1:8000)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
