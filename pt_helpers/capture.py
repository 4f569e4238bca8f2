"""Capture what exporters and runtimes print (Python streams, C++ stderr, warnings, logging) as text.

Taught in notebooks/00_setup.ipynb (the doctor tries each ONNX Runtime provider quietly) and
notebooks/10_deploy.ipynb (``torch.onnx`` and ONNX Runtime write progress, graph dumps and provider
errors through four channels at once; the deploy helpers summarise that text in one line instead of
showing a learner 200 lines). Imports nothing heavy, so the doctor can use it when torch is broken.
"""

from __future__ import annotations

import contextlib
import io
import logging
import os
import sys
import tempfile
import warnings
from collections.abc import Iterator

__all__ = ["Captured", "capture_output"]


class Captured:
    """What was printed inside :func:`capture_output` (``text``) and the warnings raised (``warnings``)."""

    def __init__(self) -> None:
        self.text = ""
        self.warnings: list[warnings.WarningMessage] = []

    def log(self) -> str:
        """Everything a library said: the printed text, then the message of each warning."""
        return "\n".join([self.text, *(str(w.message) for w in self.warnings)])


@contextlib.contextmanager
def capture_output() -> Iterator[Captured]:
    """Collect Python stdout/stderr, file-descriptor 1/2 output (C++ libraries) and warnings; mute logging.

    Returns:
        A :class:`Captured`, filled when the ``with`` block ends (read ``text`` / ``log()`` after it).
    """
    result = Captured()
    py_out = io.StringIO()
    saved_fds, tmp = [], tempfile.TemporaryFile(mode="w+b")
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):
            stream.flush()
    for fd in (1, 2):
        try:
            saved_fds.append((fd, os.dup(fd)))
            os.dup2(tmp.fileno(), fd)
        except OSError:  # no such descriptor (some embedded interpreters): Python-level output only
            pass
    # torch's loggers write to handlers bound at import time: silence them (exceptions carry the reason)
    disabled_before = logging.root.manager.disable
    caught: list[warnings.WarningMessage] = []
    try:
        with warnings.catch_warnings(record=True) as caught, contextlib.redirect_stdout(py_out), \
                contextlib.redirect_stderr(py_out):
            warnings.simplefilter("always")
            result.warnings = caught
            logging.disable(logging.CRITICAL)
            yield result
    finally:
        logging.disable(disabled_before)
        for fd, saved in saved_fds:
            os.dup2(saved, fd)
            os.close(saved)
        tmp.seek(0)
        fd_text = tmp.read().decode("utf-8", errors="replace")
        tmp.close()
        result.text = "\n".join(t for t in (py_out.getvalue(), fd_text) if t)
