"""The package as pip sees it: importable without torch, no import cycle, every third-party import declared."""

from __future__ import annotations

import subprocess
import sys


def test_importing_the_package_imports_nothing_heavy():
    """`python -m pt_helpers.doctor` must be able to start, and report, when torch is broken."""
    code = "import sys, pt_helpers; sys.exit(sorted({'torch', 'numpy'} & set(sys.modules)) or None)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert result.returncode == 0, f"import pt_helpers imported {result.stderr.strip()}"
