"""pt_helpers: the small helper package of the PyTorch Workbook course.

Each module holds one concept and is imported explicitly, e.g. ``from pt_helpers.data import
fashion_mnist``. Code moves here only after a notebook has taught it; each public function names
the lesson that taught it.
"""

from .env import fast_mode, get_device, record_result, report, seed_everything

__all__ = ["fast_mode", "get_device", "record_result", "report", "seed_everything"]
__version__ = "0.1.0"
