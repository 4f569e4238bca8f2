"""Where the course reads Fashion-MNIST and where it writes everything else: every path in one place.

Taught in notebooks/00_setup.ipynb (``report()`` prints both places) and notebooks/03_data.ipynb (the
search order). Two environment variables, two directions:

* ``PT_DATA_DIR`` -- where Fashion-MNIST is READ from: one more folder to look in for the four files
  (:func:`locate_fashion_mnist`). The course never writes there.
* ``PT_COURSE_DATA`` -- where the course WRITES everything (:func:`data_dir`): the unpacked
  Fashion-MNIST copy, canvases, checkpoints, ONNX models, ``results.jsonl``. Default: ``data/`` in
  the course checkout.

Both may name the same folder. This module uses only the standard library (no torch), so
``pt_helpers.env``, ``pt_helpers.data`` and the doctor can all import it.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

__all__ = [
    "READ_VARIABLE",
    "WRITE_VARIABLE",
    "DEBIAN_DIR",
    "FASHION_MNIST_FILES",
    "DataNotFoundError",
    "Located",
    "project_root",
    "data_dir",
    "fashion_mnist_raw_dir",
    "find_idx_file",
    "fashion_mnist_sources",
    "locate_fashion_mnist",
]

READ_VARIABLE = "PT_DATA_DIR"  # where Fashion-MNIST is READ from (never written)
WRITE_VARIABLE = "PT_COURSE_DATA"  # where the course WRITES everything
DEBIAN_DIR = Path("/usr/share/datasets/fashion-mnist")  # the Debian package dataset-fashion-mnist

# file stem -> shape stored in the IDX file; the four files of the data set
FASHION_MNIST_FILES: dict[str, tuple[int, ...]] = {
    "train-images-idx3-ubyte": (60000, 28, 28),
    "train-labels-idx1-ubyte": (60000,),
    "t10k-images-idx3-ubyte": (10000, 28, 28),
    "t10k-labels-idx1-ubyte": (10000,),
}


class DataNotFoundError(FileNotFoundError):
    """Fashion-MNIST is nowhere the course looks and could not be downloaded."""


@dataclass(frozen=True)
class Located:
    """A folder that holds the four Fashion-MNIST files, and which source of the search order it is."""

    path: Path  # directory holding the four files (``.gz`` or unpacked)
    source: str  # "root argument", "$PT_DATA_DIR", "Debian package", "data/"


def project_root() -> Path | None:
    """The course checkout this package was installed from (editable install), or None."""
    root = Path(__file__).resolve().parents[1]
    return root if (root / "notebooks").is_dir() and (root / "pyproject.toml").is_file() else None


def data_dir() -> Path:
    """Where the course WRITES everything: ``$PT_COURSE_DATA``, else ``<checkout>/data``, else ``./data``.

    The directory is created if needed. Files the lessons generate (unpacked data sets, checkpoints,
    ONNX models, ``results.jsonl``) all land here, never beside the notebooks. Where Fashion-MNIST is
    READ from is a separate question (``$PT_DATA_DIR``): see this module's docstring.
    """
    env = os.environ.get(WRITE_VARIABLE)
    if env:
        path = Path(env).expanduser()
    else:
        root = project_root()
        path = (root / "data") if root is not None else Path.cwd() / "data"
    path.mkdir(parents=True, exist_ok=True)
    return path


def fashion_mnist_raw_dir() -> Path:
    """``data_dir() / "FashionMNIST" / "raw"``: where the course WRITES its unpacked copy of the four files."""
    return data_dir() / "FashionMNIST" / "raw"


def find_idx_file(folder: Path, stem: str) -> Path | None:
    """``folder/stem`` or ``folder/stem.gz``, whichever exists first; None if neither does."""
    for name in (stem, stem + ".gz"):
        if (folder / name).is_file():
            return folder / name
    return None


def fashion_mnist_sources(root: str | os.PathLike | None = None) -> list[tuple[Path, str]]:
    """The folders searched for Fashion-MNIST, in order, each with the name of its source.

    ``root`` (and its ``FashionMNIST/raw``), ``$PT_DATA_DIR`` (and its ``FashionMNIST/raw``), the
    Debian package's :data:`DEBIAN_DIR`, then the course's own copy :func:`fashion_mnist_raw_dir`.
    """
    out: list[tuple[Path, str]] = []
    if root is not None:
        r = Path(root).expanduser()
        out += [(r, "root argument"), (r / "FashionMNIST" / "raw", "root argument")]
    env = os.environ.get(READ_VARIABLE)
    if env:
        e = Path(env).expanduser()
        out += [(e, f"${READ_VARIABLE}"), (e / "FashionMNIST" / "raw", f"${READ_VARIABLE}")]
    out.append((DEBIAN_DIR, "Debian package"))
    out.append((fashion_mnist_raw_dir(), "data/"))
    return out


def locate_fashion_mnist(root: str | os.PathLike | None = None) -> Located | None:
    """The first folder holding all four Fashion-MNIST files, in the course's search order.

    Order: ``root``, ``$PT_DATA_DIR`` (where Fashion-MNIST is READ from), the Debian package
    ``dataset-fashion-mnist`` (``/usr/share/datasets/fashion-mnist``), ``data/FashionMNIST/raw``
    (under ``$PT_COURSE_DATA``, where the course WRITES). Each may hold the files gzipped or
    unpacked, directly or in torchvision's ``FashionMNIST/raw`` layout.

    Returns:
        A :class:`Located`, or None when nothing is found (the caller may download).
    Raises:
        DataNotFoundError: ``root`` was given but does not hold the files (no silent fallback).
    """
    for folder, source in fashion_mnist_sources(root):
        if all(find_idx_file(folder, stem) for stem in FASHION_MNIST_FILES):
            return Located(folder, source)
        if root is not None and folder == Path(root).expanduser() / "FashionMNIST" / "raw":
            break  # an explicit root is the only place looked at: a typo must not fall back silently
    if root is not None:
        raise DataNotFoundError(
            f"fashion_mnist(root={str(root)!r}): the four Fashion-MNIST files "
            f"({', '.join(FASHION_MNIST_FILES)}, optionally .gz) are not in that folder or in its FashionMNIST/raw")
    return None
