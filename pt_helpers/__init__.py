"""pt_helpers: the small helper package of the PyTorch Workbook course.

Each module holds one concept and is imported explicitly, e.g. ``from pt_helpers.data import
fashion_mnist`` or ``from pt_helpers.env import get_device``. Code moves here only after a notebook
has taught it; each public function names the lesson that taught it.

Importing the package itself imports nothing else (no torch), so that ``python -m pt_helpers.doctor``
can still run, and report, when torch is broken.
"""

__all__: list[str] = []
__version__ = "0.1.0"
