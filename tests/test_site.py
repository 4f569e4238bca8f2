"""The course website (`make site`, scripts/build_site.py): built from the committed notebooks, self-contained.

The browser test builds the site into a temporary folder exactly as `make site` does, serves it on 127.0.0.1 and
opens every page in headless Chromium with every other host unresolvable: no failed request, no request elsewhere,
no console error, every image loaded, math typeset where the notebook has LaTeX, and the site's search finds lesson
02 for "Jacobian". The unit tests check what the build derives from the notebooks and README, that a broken
cross-reference fails the build (-W), and the GitHub Pages workflow. Screenshots: ``$PT_SCREENSHOT_DIR``.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
import yaml
from system_helpers import free_port

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))
import build_site  # noqa: E402  scripts/build_site.py

LESSONS = build_site.lessons()
# LaTeX in a notebook's Markdown (code spans and fenced code removed first): $$...$$, $...$ or \begin{...}
LATEX = re.compile(r"\$\$.+?\$\$|(?<![\\$])\$(?=\S)[^$\n]+?(?<=\S)\$(?!\d)|\\begin\{", re.S)


def has_latex(nb_path: Path) -> bool:
    nb = build_site.read_nb(nb_path)
    md = "\n".join("".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "markdown")
    md = re.sub(r"`[^`\n]*`", "", re.sub(r"```.*?```", "", md, flags=re.S))
    return bool(LATEX.search(md))


# ------------------------------------------------------------------------------------ what the build derives

def test_prerequisites_come_from_the_checkpoints_the_lessons_load():
    needs = build_site.prerequisites(LESSONS)
    by_num = {name[:2]: found for name, found in needs.items()}
    assert by_num["09"] == [("unet_canvas.pt", "07")]
    assert by_num["10"] == [("cnn_fashion.pt", "05"), ("vit_fashion.pt", "08")]
    assert all(not by_num[n] for n in ("00", "01", "02", "03", "04", "05"))  # 05 saves and reloads its own


def test_checkpoint_use_needs_a_save_or_load_call_in_the_cell():
    nb = {"cells": [{"cell_type": "code", "source": 'path = CKPT / "a.pt"\n'},
                    {"cell_type": "code", "source": 'save_model(CKPT / "b.pt", model)\n'},
                    {"cell_type": "code", "source": 'model = load_model(CKPT / "c.pt", Net)\n'}]}
    assert build_site.checkpoint_use(nb) == ({"b.pt"}, {"c.pt"})


def test_cpu_time_comes_from_the_readme_table_then_the_measurement_then_says_not_measured():
    row = ["05", "[CNN](notebooks/05_cnn.ipynb)", "Fashion-MNIST", "4.6 min", "—", "acc"]
    assert build_site.cpu_time("05_cnn.ipynb", row, {"05_cnn.ipynb": 100.0}).startswith("4.6 min (full mode")
    assert build_site.cpu_time("05_cnn.ipynb", row[:3] + ["—"], {"05_cnn.ipynb": 100.0}).startswith("1.7 min")
    assert build_site.cpu_time("05_cnn.ipynb", row[:3] + ["—"], {}) == "not measured yet"
    assert build_site.cpu_time("12_new.ipynb", [], {}) == "not measured yet"


def test_widget_views_keep_their_static_fallback_and_dead_local_iframes_become_a_note():
    cell = {"outputs": [
        {"output_type": "display_data", "data": {"image/png": "iVBOR", "text/plain": "<Figure>"}},
        {"output_type": "execute_result",
         "data": {build_site.WIDGET_VIEW: {"model_id": "x"}, "text/plain": "explorer"}},
        {"output_type": "execute_result", "data": {"text/html": ['<iframe\n src="http://127.0.0.1:34847"></iframe>'],
                                                   "text/plain": "<IPython.lib.display.IFrame at 0x7f>"}},
        {"output_type": "execute_result", "data": {"text/html": '<iframe src="https://example.org/"></iframe>'}},
    ]}
    build_site.static_outputs(cell)
    outs = [o["data"] for o in cell["outputs"]]
    assert outs[0] == {"image/png": "iVBOR", "text/plain": "<Figure>"}
    assert outs[1] == {"text/plain": "explorer"}
    assert list(outs[2]) == ["text/plain"] and "run the cell in JupyterLab" in outs[2]["text/plain"]
    assert "text/html" in outs[3]  # not a local server: left alone (and the browser test would catch the request)


def test_readme_becomes_the_landing_page_with_lesson_links_and_downloads(tmp_path):
    readme = ("# Course\n\n| 02 | [Autograd](notebooks/02_autograd_jacobian.ipynb) |\n\n"
              "See [LICENSE](LICENSE) and [nbval](https://github.com/computationalmodelling/nbval).\n")
    index = build_site.readme_to_index(readme, [p.name for p in LESSONS], tmp_path)
    assert "[Autograd](lessons/02_autograd_jacobian.ipynb)" in index
    assert "{download}`LICENSE </_files/LICENSE>`" in index and (tmp_path / "_files" / "LICENSE").is_file()
    assert "[nbval](https://github.com/" in index
    toctree = index.split("```{toctree}")[1]
    assert [line for line in toctree.splitlines() if line.startswith("lessons/")] == \
        [f"lessons/{p.stem}" for p in LESSONS]
    with pytest.raises(build_site.SiteError, match="no_such_file"):
        build_site.readme_to_index("[x](no_such_file.md)\n", [], tmp_path)


def test_staged_lesson_starts_with_title_then_the_header(tmp_path):
    build_site.stage(tmp_path / "src")
    nb = json.loads((tmp_path / "src" / "lessons" / "02_autograd_jacobian.ipynb").read_text(encoding="utf-8"))
    md = ["".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "markdown"]
    assert md[0].startswith("# ") and "\n" not in md[0].strip()
    header = md[1]
    for part in ("Time on a CPU:", "Needs:", "{download}`the notebook", "{download}`the workbook copy", "make lab"):
        assert part in header, part
    assert not any(build_site.WIDGET_VIEW in o.get("data", {}) for c in nb["cells"] for o in c.get("outputs", []))
    original = build_site.read_nb(ROOT / "notebooks" / "02_autograd_jacobian.ipynb")
    assert len(nb["cells"]) in (len(original["cells"]) + 1, len(original["cells"]) + 2)


@pytest.fixture(scope="module")
def docs_deps():
    """What `make site` installs first (requirements-docs.txt into this environment; a no-op once done)."""
    build_site.ensure_docs_deps()


def _mini_build(tmp_path: Path, text: str) -> subprocess.CompletedProcess:
    src, static = tmp_path / "src", tmp_path / "static"
    src.mkdir(parents=True)
    (src / "index.md").write_text(text, encoding="utf-8")
    (static / "mathjax").mkdir(parents=True)
    (static / "mathjax" / "tex-chtml.js").write_text("// stand-in\n")
    cmd = build_site.sphinx_command(src, tmp_path / "html", tmp_path / "doctrees")
    env = {**os.environ, "PT_SITE_STATIC": str(static)}
    return subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=300)


def test_a_broken_cross_reference_fails_the_build(docs_deps, tmp_path):
    ok = _mini_build(tmp_path / "ok", "# Title\n\nSee [the title](#title).\n")
    assert ok.returncode == 0, ok.stderr
    broken = _mini_build(tmp_path / "broken", "# Title\n\nSee [lesson 99](lessons/99_missing.ipynb).\n")
    assert broken.returncode != 0 and "99_missing" in broken.stderr, broken.stderr


def test_pages_workflow_builds_with_make_site_and_publishes_on_main():
    doc = yaml.safe_load((ROOT / ".github" / "workflows" / "pages.yml").read_text())
    on = doc.pop(True, doc.get("on"))  # YAML 1.1 reads the key `on` as True
    assert on["push"]["branches"] == ["main"]
    build = doc["jobs"]["build"]
    runs = [s.get("run", "").strip() for s in build["steps"]]
    assert "make site" in runs
    upload = [s for s in build["steps"] if s.get("uses", "").startswith("actions/upload-pages-artifact")]
    assert upload and upload[0]["with"]["path"] == "_build/html"
    deploy = doc["jobs"]["deploy"]
    assert deploy["needs"] == "build"
    assert any(s.get("uses", "").startswith("actions/deploy-pages") for s in deploy["steps"])
    assert doc["permissions"]["pages"] == "write" and doc["permissions"]["id-token"] == "write"


def test_makefile_site_target_runs_the_build_script():
    makefile = (ROOT / "Makefile").read_text()
    recipe = makefile.split("\nsite:", 1)[1].split("\n\n", 1)[0]
    assert "scripts/build_site.py" in recipe


# ------------------------------------------------------------------------------------------ in the browser

@pytest.fixture(scope="module")
def site(tmp_path_factory):
    """`make site`'s build into a temporary folder, served by `python -m http.server` on 127.0.0.1."""
    provisioned = (build_site.default_asset_dir() / "static" / "mathjax" / ".complete").is_file()
    if not provisioned and shutil.which("npm") is None and os.environ.get("PT_REQUIRE_BROWSER") != "1":
        pytest.skip("npm not found: the site's MathJax comes from the npm registry once")
    work = tmp_path_factory.mktemp("site")
    out = work / "html"
    start = time.perf_counter()
    build = subprocess.run([sys.executable, str(ROOT / "scripts" / "build_site.py"), "--out", str(out),
                            "--work", str(work)], capture_output=True, text=True, timeout=900)
    assert build.returncode == 0, build.stdout[-3000:] + build.stderr[-5000:]
    print(f"site built in {time.perf_counter() - start:.0f} s")
    port = free_port()
    server = subprocess.Popen([sys.executable, "-m", "http.server", "--bind", "127.0.0.1", str(port), "-d", str(out)],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}/"
    try:
        for _ in range(100):
            try:
                urllib.request.urlopen(base, timeout=2).close()
                break
            except OSError:
                time.sleep(0.1)
        yield base, out
    finally:
        server.terminate()
        server.wait(timeout=10)


def _pages(out: Path) -> list[str]:
    return sorted(p.relative_to(out).as_posix() for p in out.rglob("*.html")
                  if not p.relative_to(out).parts[0].startswith("_"))


IMAGES_BROKEN = "Array.from(document.images).filter(i => !i.complete || i.naturalWidth === 0).map(i => i.src)"
MATH_STATE = """async () => {
  if (window.MathJax?.startup?.promise) await MathJax.startup.promise;
  const nodes = Array.from(document.querySelectorAll('.math'));
  return {nodes: nodes.length, typeset: nodes.filter(n => n.querySelector('mjx-container')).length,
          errors: document.querySelectorAll('mjx-merror').length};
}"""


@pytest.mark.browser
def test_every_page_loads_offline_with_images_math_and_no_errors(site):
    from browser_session import offline_page, screenshot

    base, out = site
    pages = _pages(out)
    assert "index.html" in pages and "search.html" in pages
    assert [p for p in pages if p.startswith("lessons/")] == [f"lessons/{p.stem}.html" for p in LESSONS]
    latex = {f"lessons/{p.stem}.html" for p in LESSONS if has_latex(p)}
    assert latex, "no lesson has LaTeX: the math check below would check nothing"
    problems: list[str] = []
    with offline_page() as (page, traffic):
        bad_status: list[str] = []
        page.on("response", lambda r: bad_status.append(f"{r.status} {r.url}") if r.status >= 400 else None)
        for name in pages:
            page.goto(base + name, wait_until="load")
            page.wait_for_load_state("networkidle")
            math = page.evaluate(MATH_STATE)
            if name in latex and not (math["nodes"] and math["typeset"] == math["nodes"] and not math["errors"]):
                problems.append(f"{name}: math not typeset ({math})")
            if name not in latex and name.startswith("lessons/") and math["nodes"]:
                problems.append(f"{name}: math on a page whose notebook has no LaTeX? ({math})")
            broken = page.evaluate(IMAGES_BROKEN)
            if broken:
                problems.append(f"{name}: images not loaded: {broken}")
            scripts = page.evaluate("Array.from(document.scripts).map(s => s.src).filter(Boolean)")
            widget_js = [s for s in scripts if "require" in s or "html-manager" in s or "embed-amd" in s]
            if widget_js:
                problems.append(f"{name}: a widget manager is loaded: {widget_js}")
            if name.startswith("lessons/"):
                header = page.locator(".lesson-header")
                if header.count() != 1 or "Time on a CPU" not in header.inner_text():
                    problems.append(f"{name}: no lesson header")
            for shot, page_name in (("site-index.png", "index.html"), ("site-04-math.png", "lessons/04_mlp.html"),
                                    ("site-02.png", "lessons/02_autograd_jacobian.html"),
                                    ("site-07-figures.png", "lessons/07_unet.html")):
                if name == page_name:
                    screenshot(page, shot, out.parent)
        traffic.assert_offline()
        assert not traffic.failed, f"failed requests: {traffic.failed}"
        assert not bad_status, f"HTTP errors: {bad_status}"
        assert not traffic.console_errors, f"console errors: {traffic.console_errors}"
    assert not problems, "\n".join(problems)


@pytest.mark.browser
def test_landing_page_navigation_downloads_and_search(site):
    from browser_session import offline_page, screenshot

    base, out = site
    with offline_page() as (page, traffic):
        page.goto(base + "index.html", wait_until="load")
        text = page.inner_text("main")
        assert "一套开放、可测试的 PyTorch 课程" in text  # the Chinese introduction
        assert "headline result (full mode)" in text  # README's results table
        nav = page.eval_on_selector_all("nav.bd-links a.reference.internal",
                                        "as => as.map(a => a.getAttribute('href'))")
        lesson_links = [h for h in nav if h.startswith("lessons/")]
        assert lesson_links == [f"lessons/{p.stem}.html" for p in LESSONS], nav

        page.goto(base + "lessons/02_autograd_jacobian.html", wait_until="load")
        header = page.locator(".lesson-header")
        hrefs = header.locator("a").evaluate_all("as => as.map(a => a.href)")
        downloads = [h for h in hrefs if h.endswith(".ipynb")]
        assert len(downloads) == 2, hrefs
        for href in downloads:
            with urllib.request.urlopen(href, timeout=10) as resp:
                assert json.loads(resp.read())["nbformat"] == 4
        glossary = page.locator("table", has_text="中文").last
        assert "雅可比矩阵" in glossary.inner_text()  # the glossary renders (its Chinese column included)
        glossary.scroll_into_view_if_needed()
        screenshot(page, "site-02-glossary.png", out.parent)

        page.goto(base + "search.html?q=Jacobian", wait_until="load")
        page.wait_for_selector("#search-results ul.search li", timeout=30_000)
        found = page.eval_on_selector_all("#search-results ul.search li a", "as => as.map(a => a.href)")
        assert any("lessons/02_autograd_jacobian.html" in h for h in found), found
        screenshot(page, "site-search.png", out.parent)
        traffic.assert_offline()
        assert not traffic.failed and not traffic.console_errors, (traffic.failed, traffic.console_errors)
