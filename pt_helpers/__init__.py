"""pt_helpers: the small helper package of the PyTorch Workbook course.

Each module holds one concept and is imported explicitly, e.g. ``from pt_helpers.data import
fashion_mnist``. Code moves here only after a notebook has taught it; each public function names
the lesson that taught it.
"""

from importlib import import_module
from typing import Any

__all__ = ["fast_mode", "get_device", "record_result", "report", "seed_everything"]
__version__ = "0.1.0"


def __getattr__(name: str) -> Any:
    # Lazy (PEP 562): importing the package must not import torch, so that `python -m pt_helpers.doctor`
    # can still run, and report, when torch itself is broken.
    if name in __all__:
        return getattr(import_module(".env", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
