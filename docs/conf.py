"""Sphinx configuration of the course website. Build it with `make site` (scripts/build_site.py), which stages
README.md and the notebooks into _build/src/ and provisions MathJax; plain `sphinx-build` on this folder does not
work."""

from __future__ import annotations

import os
from pathlib import Path

_static_assets = os.environ.get("PT_SITE_STATIC")
if not _static_assets or not (Path(_static_assets) / "mathjax" / "tex-chtml.js").is_file():
    raise RuntimeError("build the site with `make site` (scripts/build_site.py): it provisions MathJax and "
                       "stages the notebooks; PT_SITE_STATIC is not set or holds no mathjax/tex-chtml.js")

project = "PyTorch Workbook"
author = "the PyTorch Workbook authors"
copyright = "the PyTorch Workbook authors; text CC BY-SA 4.0, code MIT"
language = "en"

extensions = ["myst_nb"]
root_doc = "index"
exclude_patterns = ["_build", "_files", "**.ipynb_checkpoints"]  # _files: downloads (build_site.attach)
# -W makes every other warning an error (a broken cross-reference fails the build, so does a lesson that skips a
# heading level). One is not about the site: Pygments retrying a traceback in relaxed mode (it still renders).
suppress_warnings = ["misc.highlighting_failure"]

# The committed outputs are the content: never execute.
nb_execution_mode = "off"
nb_output_stderr = "show"
nb_merge_streams = True
# No widget manager: myst-nb would load require.js and @jupyter-widgets/html-manager from CDNs.
nb_ipywidgets_js: dict = {}
# build_site.py already drops widget views; if one slips through, show its text, never an empty widget.
nb_mime_priority_overrides = [("html", "application/vnd.jupyter.widget-view+json", None)]

myst_enable_extensions = ["dollarmath", "amsmath", "colon_fence", "linkify"]
myst_heading_anchors = 3

# Math: MathJax 3 from the site itself (scripts/build_site.py copies it from the npm package).
mathjax_path = "mathjax/tex-chtml.js"

html_theme = "sphinx_book_theme"
html_title = "PyTorch Workbook"
html_static_path = ["_static", _static_assets]
html_css_files = ["site.css"]
html_copy_source = False
html_show_sourcelink = False
html_last_updated_fmt = None
# The theme's colour mode before the reader picks one (empty, its script logs an error in a fresh browser).
html_context = {"default_mode": "auto"}
html_theme_options = {
    "use_download_button": False,  # each lesson's header links its notebook and workbook copy
    "use_fullscreen_button": True,
    "show_toc_level": 2,
    "home_page_in_toc": True,
    "navigation_with_keys": False,
}
_repo = os.environ.get("GITHUB_REPOSITORY")  # set in GitHub Actions: a link in the header (a link, not a request)
if _repo:
    html_theme_options.update(repository_url=f"{os.environ.get('GITHUB_SERVER_URL', 'https://github.com')}/{_repo}",
                              use_repository_button=True)
