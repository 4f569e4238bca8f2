"""Fashion-MNIST, found offline first, and a fast in-memory batch pipeline.

Taught in notebooks/03_data.ipynb. Canvases built from these items live in :mod:`pt_helpers.canvas`.
Where the files are looked for (``$PT_DATA_DIR``, READ) and where the unpacked copy is written
(``$PT_COURSE_DATA``, WRITE) is decided in :mod:`pt_helpers.paths`; its search names are re-exported here.
"""

from __future__ import annotations

import gzip
import math
import os
import shutil
import struct
from collections.abc import Callable, Iterator
from pathlib import Path

import torch
import torch.nn.functional as F

from .paths import (
    DEBIAN_DIR,
    FASHION_MNIST_FILES,
    READ_VARIABLE,
    WRITE_VARIABLE,
    DataNotFoundError,
    Located,
    data_dir,
    fashion_mnist_raw_dir,
    locate_fashion_mnist,
)

__all__ = [
    "CLASSES",
    "FASHION_MNIST_MEAN",
    "FASHION_MNIST_STD",
    "DEBIAN_DIR",
    "DataNotFoundError",
    "CorruptDataError",
    "Located",
    "locate_fashion_mnist",
    "fashion_mnist",
    "fashion_mnist_tensors",
    "TensorLoader",
    "check_idx",
]

CLASSES = ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
           "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot")
# Pixel statistics of the 60,000 training images, scaled to [0, 1] (lesson 03 computes them).
FASHION_MNIST_MEAN = 0.2860
FASHION_MNIST_STD = 0.3530


class CorruptDataError(ValueError):
    """An IDX file exists but is truncated or is not what its name says."""


def check_idx(path: Path, expected_shape: tuple[int, ...]) -> None:
    """Raise :class:`CorruptDataError` naming ``path`` unless it is a complete uint8 IDX file of that shape."""
    header_len = 4 + 4 * len(expected_shape)
    need = header_len + math.prod(expected_shape)
    try:
        with (gzip.open(path, "rb") if path.suffix == ".gz" else open(path, "rb")) as fh:
            header = fh.read(header_len)
            if path.suffix == ".gz":  # the size is only known after decompressing
                got = len(header) + sum(len(c) for c in iter(lambda: fh.read(1 << 22), b""))
            else:
                got = path.stat().st_size
    except (EOFError, OSError, gzip.BadGzipFile) as err:
        raise CorruptDataError(f"{path}: cannot be read completely ({err}); "
                               "delete it and provide the file again") from err
    if len(header) < header_len:
        raise CorruptDataError(f"{path}: truncated: {got} bytes, shorter than the {header_len}-byte IDX header")
    if header[:3] != b"\x00\x00\x08":
        raise CorruptDataError(f"{path}: not an IDX file of unsigned bytes (magic number {header[:4]!r})")
    if header[3] != len(expected_shape):
        raise CorruptDataError(f"{path}: header says {header[3]} dimension(s), expected {len(expected_shape)}")
    dims = struct.unpack(f">{header[3]}I", header[4:])
    if tuple(dims) != expected_shape:
        raise CorruptDataError(f"{path}: header says shape {tuple(dims)}, expected {expected_shape}")
    if got != need:
        raise CorruptDataError(f"{path}: truncated or padded: {got} bytes, expected {need} for shape {expected_shape}")


def _unpack_into(src: Located, dest: Path) -> None:
    """Make ``dest`` hold the four unpacked, checked files (copied from ``src`` only when missing or bad)."""
    dest.mkdir(parents=True, exist_ok=True)
    for stem, shape in FASHION_MNIST_FILES.items():
        target = dest / stem
        errors: list[CorruptDataError] = []
        if target.is_file():
            try:
                check_idx(target, shape)
                continue
            except CorruptDataError as err:
                errors.append(err)
        source = None
        for candidate in (src.path / stem, src.path / f"{stem}.gz"):  # a bad copy is replaced from a good one
            if candidate.is_file() and candidate.resolve() != target.resolve():
                try:
                    check_idx(candidate, shape)
                    source = candidate
                    break
                except CorruptDataError as err:
                    errors.append(err)
        if source is None:
            if not errors:
                raise DataNotFoundError(f"{src.path}: {stem} (or {stem}.gz) is missing")
            raise errors[-1]  # no good copy: the message names the file
        tmp = target.with_name(target.name + ".part")
        opener = gzip.open if source.suffix == ".gz" else open
        with opener(source, "rb") as fin, open(tmp, "wb") as fout:
            shutil.copyfileobj(fin, fout)
        tmp.replace(target)  # atomic: a crash never leaves a half file under the real name


def fashion_mnist(train: bool = True, root: str | os.PathLike | None = None,
                  transform: Callable | None = None, target_transform: Callable | None = None):
    """The real ``torchvision.datasets.FashionMNIST``, found offline first.

    Args:
        train: training split (60,000 images) or test split (10,000).
        root: optional folder holding the four files (see :func:`locate_fashion_mnist`).
        transform, target_transform: passed to torchvision unchanged.
    Returns:
        ``torchvision.datasets.FashionMNIST`` rooted at the course's ``data/`` folder, whose
        ``FashionMNIST/raw`` holds the unpacked files (unpacked once, checked every time).
    Raises:
        DataNotFoundError: nothing found and the download failed; the message lists every way to fix it.
        CorruptDataError: a file is truncated or malformed; the message names the file.
    """
    from torchvision import datasets

    base = data_dir()  # torchvision's root: FashionMNIST/raw below it is fashion_mnist_raw_dir()
    raw = fashion_mnist_raw_dir()
    found = locate_fashion_mnist(root)
    if found is None:
        try:
            datasets.FashionMNIST(base, train=train, download=True)
        except Exception as err:  # noqa: BLE001 - any download failure gets the same advice
            raise DataNotFoundError(
                "Fashion-MNIST was not found and could not be downloaded "
                f"({type(err).__name__}: {err}).\nProvide it in any one of these ways:\n"
                "  1. pass root='/folder/with/the/files' to fashion_mnist();\n"
                f"  2. export {READ_VARIABLE}=/folder/with/the/files (where Fashion-MNIST is READ from);\n"
                "  3. on Debian/Ubuntu: sudo apt-get install dataset-fashion-mnist "
                f"(files land in {DEBIAN_DIR});\n"
                f"  4. copy the four *-ubyte.gz files into {raw} (under ${WRITE_VARIABLE} when set, where the "
                "course WRITES everything);\n"
                "  5. connect to the internet and run again (torchvision downloads them).") from err
        found = Located(raw, "downloaded")
    _unpack_into(found, raw)
    return datasets.FashionMNIST(base, train=train, transform=transform,
                                 target_transform=target_transform, download=False)


def fashion_mnist_tensors(
    train: bool = True, root: str | os.PathLike | None = None
) -> tuple[torch.Tensor, torch.Tensor]:
    """The whole split as two tensors: images ``(N, 28, 28) uint8`` and labels ``(N,) int64``."""
    ds = fashion_mnist(train=train, root=root)
    return ds.data.clone(), ds.targets.clone()


class TensorLoader:
    """Batches from tensors already in memory (ideally on the device): index, normalise, augment.

    The same ``for x, y in loader`` interface as ``DataLoader``, without per-item Python work:
    one uint8 tensor holds the split, each batch is one indexing operation plus arithmetic.

    Args:
        images: ``(N, H, W)`` or ``(N, C, H, W)`` uint8 (or float in [0, 1]).
        labels: ``(N,)`` or ``(N, ...)`` targets (class indices, masks, ...), moved with the images.
        batch_size, shuffle, drop_last: as in ``DataLoader``.
        device: where batches are produced; the data is moved there once.
        mean, std: normalisation applied to ``x / 255`` (uint8) or ``x`` (float).
        flip: random horizontal flip with probability 0.5, per image.
        crop_padding: random crop of the original size after zero padding by this many pixels.
        seed: seeds shuffling and augmentation (one CPU generator: identical on every device).
    Yields:
        ``x`` float32 ``(B, C, H, W)`` and ``y`` (labels batch), both on ``device``.
    """

    def __init__(self, images: torch.Tensor, labels: torch.Tensor, *, batch_size: int = 256,
                 shuffle: bool = False, drop_last: bool = False, device: torch.device | str = "cpu",
                 mean: float = FASHION_MNIST_MEAN, std: float = FASHION_MNIST_STD,
                 flip: bool = False, crop_padding: int = 0, seed: int = 0) -> None:
        if not isinstance(images, torch.Tensor) or not isinstance(labels, torch.Tensor):
            raise TypeError(f"TensorLoader(images, labels): expected two torch.Tensors, got "
                            f"{type(images).__name__} and {type(labels).__name__} (use torch.from_numpy)")
        if images.dtype != torch.uint8 and not images.is_floating_point():
            raise TypeError(f"TensorLoader(images): expected uint8 in [0, 255] or float in [0, 1], got {images.dtype}")
        if images.ndim == 3:
            images = images.unsqueeze(1)
        if images.ndim != 4:
            raise ValueError("TensorLoader(images): expected (N, H, W) or (N, C, H, W), "
                             f"got shape {tuple(images.shape)}")
        if len(labels) != len(images):
            raise ValueError(f"TensorLoader: {len(images)} images but {len(labels)} labels")
        if not isinstance(batch_size, int) or isinstance(batch_size, bool) or batch_size < 1:
            raise ValueError(f"TensorLoader(batch_size={batch_size!r}): expected a positive int")
        if not isinstance(crop_padding, int) or crop_padding < 0:
            raise ValueError(f"TensorLoader(crop_padding={crop_padding!r}): expected an int >= 0")
        if not std > 0:
            raise ValueError(f"TensorLoader(std={std!r}): expected a positive number")
        try:
            self.device = torch.device(device)
        except RuntimeError as err:
            raise ValueError(f"TensorLoader(device={device!r}): expected 'cpu', 'cuda', 'cuda:N' or 'mps'") from err
        self.images = images.to(self.device)
        self.labels = labels.to(self.device)
        self.batch_size, self.shuffle, self.drop_last = batch_size, shuffle, drop_last
        self.mean, self.std = mean, std
        self.flip, self.crop_padding = flip, crop_padding
        self.generator = torch.Generator().manual_seed(seed)

    def __len__(self) -> int:
        n = len(self.images)
        return n // self.batch_size if self.drop_last else -(-n // self.batch_size)

    @property
    def num_samples(self) -> int:
        return len(self.images)

    def _augment(self, x: torch.Tensor) -> torch.Tensor:
        B, C, H, W = x.shape
        if self.flip:
            flip = (torch.rand(B, generator=self.generator) < 0.5).to(x.device)
            x = torch.where(flip[:, None, None, None], x.flip(-1), x)
        p = self.crop_padding
        if p:
            padded = F.pad(x, (p, p, p, p))  # (B, C, H+2p, W+2p)
            oy = torch.randint(0, 2 * p + 1, (B,), generator=self.generator).to(x.device)
            ox = torch.randint(0, 2 * p + 1, (B,), generator=self.generator).to(x.device)
            rows = (oy[:, None] + torch.arange(H, device=x.device))[:, :, None]  # (B, H, 1)
            cols = (ox[:, None] + torch.arange(W, device=x.device))[:, None, :]  # (B, 1, W)
            b = torch.arange(B, device=x.device)[:, None, None]
            x = padded.permute(0, 2, 3, 1)[b, rows, cols].permute(0, 3, 1, 2)  # (B, C, H, W)
        return x

    def __iter__(self) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        n = len(self.images)
        order = torch.randperm(n, generator=self.generator) if self.shuffle else torch.arange(n)
        order = order.to(self.device)
        for i in range(len(self)):
            idx = order[i * self.batch_size:(i + 1) * self.batch_size]
            x = self.images[idx]
            x = x.float() / 255.0 if x.dtype == torch.uint8 else x.float()
            x = self._augment(x)
            yield (x - self.mean) / self.std, self.labels[idx]
