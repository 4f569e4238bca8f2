"""pt_helpers.capture: Python prints, C-level writes to file descriptors 1 and 2, warnings and logging."""

from __future__ import annotations

import logging
import os
import sys
import warnings

from pt_helpers.capture import capture_output


def test_every_channel_is_captured_and_nothing_leaks(capfd):
    with capture_output() as cap:
        print("python stdout")
        print("python stderr", file=sys.stderr)
        os.write(1, b"fd one\n")  # what a C++ library writes, below Python's streams
        os.write(2, b"fd two\n")
        warnings.warn("a warning", UserWarning, stacklevel=1)
        logging.getLogger("some.library").error("a log record")
    for text in ("python stdout", "python stderr", "fd one", "fd two"):
        assert text in cap.text, text
    assert [str(w.message) for w in cap.warnings] == ["a warning"]
    assert cap.log().endswith("\na warning")
    leaked = capfd.readouterr()
    assert leaked.out == "" and leaked.err == "", leaked


def test_streams_and_logging_are_restored_even_after_an_error(capfd):
    disabled = logging.root.manager.disable
    try:
        with capture_output() as cap:
            os.write(2, b"said before failing\n")
            raise RuntimeError("boom")
    except RuntimeError:
        pass
    assert "said before failing" in cap.text
    assert logging.root.manager.disable == disabled
    os.write(1, b"after\n")
    print("after, python")
    out = capfd.readouterr().out
    assert "after" in out and "after, python" in out
