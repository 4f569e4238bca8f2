"""pt_helpers.data: where Fashion-MNIST is found, what comes back, corrupt files, and TensorLoader.

Real files come from wherever this machine holds them (the Debian package or ``data/``); each test
builds its own folders in a temp dir (symlinks to the real files, or small corrupted copies) and
points the search at them with monkeypatch, so nothing under ``data/`` is ever written.
"""

from __future__ import annotations

import gzip
import shutil
import struct
from pathlib import Path

import numpy as np
import pytest
import torch
import torchvision
from torchvision.transforms import v2

import pt_helpers.data as data
import pt_helpers.paths as paths
from pt_helpers.data import (
    FASHION_MNIST_MEAN,
    FASHION_MNIST_STD,
    CorruptDataError,
    DataNotFoundError,
    TensorLoader,
    check_idx,
    fashion_mnist,
    fashion_mnist_tensors,
    locate_fashion_mnist,
)

STEMS = ("train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")
SHAPES = dict(zip(STEMS, [(60000, 28, 28), (60000,), (10000, 28, 28), (10000,)]))


# ---------------------------------------------------------------------------------------------
# fixtures: the real files, gzipped and unpacked, found once per session


@pytest.fixture(scope="session")
def real_gz(tmp_path_factory) -> Path:
    """A folder holding the four real ``.gz`` files (the Debian package, else made from data/)."""
    if all((data.DEBIAN_DIR / f"{s}.gz").is_file() for s in STEMS):
        return data.DEBIAN_DIR
    found = locate_fashion_mnist()
    if found is None:
        pytest.skip("Fashion-MNIST is not on this machine (make setup installs it)")
    out = tmp_path_factory.mktemp("real-gz")
    for stem in STEMS:
        src = paths.find_idx_file(found.path, stem)
        opener = gzip.open if src.suffix == ".gz" else open
        with opener(src, "rb") as fin, gzip.open(out / f"{stem}.gz", "wb", compresslevel=1) as fout:
            shutil.copyfileobj(fin, fout)
    return out


@pytest.fixture(scope="session")
def real_raw(real_gz, tmp_path_factory) -> Path:
    """A folder holding the four real files unpacked (made once from the .gz files)."""
    out = tmp_path_factory.mktemp("real-raw")
    for stem in STEMS:
        with gzip.open(real_gz / f"{stem}.gz", "rb") as fin, open(out / stem, "wb") as fout:
            shutil.copyfileobj(fin, fout)
    return out


@pytest.fixture
def isolated(course_data, monkeypatch, tmp_path) -> Path:
    """No $PT_DATA_DIR, no Debian package, an empty data/: every source must come from the test."""
    monkeypatch.delenv("PT_DATA_DIR", raising=False)
    monkeypatch.setattr(paths, "DEBIAN_DIR", tmp_path / "no-debian-package")
    return course_data


def link(src_dir: Path, dest: Path, stems=STEMS, gz: bool = True) -> Path:
    """``dest`` with symlinks to the real files (no 30 MB copies)."""
    dest.mkdir(parents=True, exist_ok=True)
    for stem in stems:
        name = f"{stem}.gz" if gz else stem
        (dest / name).symlink_to(src_dir / name)
    return dest


def parse_idx(path: Path) -> np.ndarray:
    """An independent IDX reader (numpy), to check what torchvision hands back."""
    raw = (gzip.open if path.suffix == ".gz" else open)(path, "rb").read()
    ndim = raw[3]
    dims = struct.unpack(f">{ndim}I", raw[4:4 + 4 * ndim])
    return np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * ndim).reshape(dims)


def mtimes(folder: Path) -> dict[str, tuple[int, int]]:
    return {p.name: (p.stat().st_mtime_ns, p.stat().st_ino) for p in sorted(folder.iterdir())}


# ---------------------------------------------------------------------------------------------
# search order: explicit root, $PT_DATA_DIR, Debian package, data/FashionMNIST/raw, download


@pytest.fixture
def four_sources(isolated, monkeypatch, tmp_path, real_gz):
    """Fashion-MNIST in all four places at once."""
    root = link(real_gz, tmp_path / "root")
    env = link(real_gz, tmp_path / "env")
    deb = link(real_gz, tmp_path / "debian")
    local = link(real_gz, isolated / "FashionMNIST" / "raw")
    monkeypatch.setenv("PT_DATA_DIR", str(env))
    monkeypatch.setattr(paths, "DEBIAN_DIR", deb)
    return root, env, deb, local


def test_search_order_root_env_debian_datadir(four_sources, monkeypatch):
    root, env, deb, local = four_sources
    assert locate_fashion_mnist(root) == data.Located(root, "root argument")
    assert locate_fashion_mnist() == data.Located(env, "$PT_DATA_DIR")
    monkeypatch.delenv("PT_DATA_DIR")
    assert locate_fashion_mnist() == data.Located(deb, "Debian package")
    monkeypatch.setattr(paths, "DEBIAN_DIR", deb.parent / "gone")
    assert locate_fashion_mnist() == data.Located(local, "data/")
    shutil.rmtree(local)
    assert locate_fashion_mnist() is None


def test_torchvision_layout_and_unpacked_files_are_found(isolated, monkeypatch, tmp_path, real_gz, real_raw):
    tv = link(real_raw, tmp_path / "tv" / "FashionMNIST" / "raw", gz=False)
    assert locate_fashion_mnist(tmp_path / "tv") == data.Located(tv, "root argument")
    monkeypatch.setenv("PT_DATA_DIR", str(tmp_path / "tv"))
    assert locate_fashion_mnist() == data.Located(tv, "$PT_DATA_DIR")
    mixed = link(real_gz, tmp_path / "mixed", STEMS[:2])
    link(real_raw, mixed, STEMS[2:], gz=False)
    assert locate_fashion_mnist(mixed) == data.Located(mixed, "root argument")


def test_incomplete_folder_is_skipped(isolated, monkeypatch, tmp_path, real_gz):
    env = link(real_gz, tmp_path / "env", STEMS[:3])  # one file missing
    deb = link(real_gz, tmp_path / "debian")
    monkeypatch.setenv("PT_DATA_DIR", str(env))
    monkeypatch.setattr(paths, "DEBIAN_DIR", deb)
    assert locate_fashion_mnist() == data.Located(deb, "Debian package")


def test_explicit_root_without_files_is_an_error_not_a_fallback(isolated, tmp_path, real_gz):
    link(real_gz, isolated / "FashionMNIST" / "raw")  # data/ would work ...
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(DataNotFoundError, match="empty") as info:  # ... but the user asked for this folder
        fashion_mnist(root=empty)
    assert "t10k-labels-idx1-ubyte" in str(info.value)


# ---------------------------------------------------------------------------------------------
# what fashion_mnist returns, and unpacking once


@pytest.fixture(scope="module")
def from_gz_root(tmp_path_factory, real_gz):
    """fashion_mnist(root=<gz folder>) into a private data dir: both splits and the data dir."""
    course = tmp_path_factory.mktemp("course-data")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("PT_COURSE_DATA", str(course))
        mp.delenv("PT_DATA_DIR", raising=False)
        mp.setattr(paths, "DEBIAN_DIR", course / "no-debian")
        train = fashion_mnist(train=True, root=real_gz)
        test = fashion_mnist(train=False, root=real_gz)
    return train, test, course


def test_returns_the_real_torchvision_dataset(from_gz_root, real_gz):
    train, test, course = from_gz_root
    assert type(train) is torchvision.datasets.FashionMNIST
    assert (len(train), len(test)) == (60000, 10000)
    assert train.train and not test.train
    assert Path(train.raw_folder) == course / "FashionMNIST" / "raw"
    img, label = train[0]
    assert img.size == (28, 28) and img.mode == "L" and isinstance(label, int)
    # every pixel and label equal what an independent IDX reader sees in the source files
    assert np.array_equal(train.data.numpy(), parse_idx(real_gz / "train-images-idx3-ubyte.gz"))
    assert np.array_equal(train.targets.numpy(), parse_idx(real_gz / "train-labels-idx1-ubyte.gz"))
    assert np.array_equal(test.data.numpy(), parse_idx(real_gz / "t10k-images-idx3-ubyte.gz"))
    assert np.array_equal(test.targets.numpy(), parse_idx(real_gz / "t10k-labels-idx1-ubyte.gz"))
    assert sorted(p.name for p in (course / "FashionMNIST" / "raw").iterdir()) == sorted(STEMS)


def test_transforms_are_passed_through(isolated, real_gz):
    to_float = v2.Compose([v2.ToImage(), v2.ToDtype(torch.float32, scale=True)])
    ds = fashion_mnist(train=False, root=real_gz, transform=to_float, target_transform=lambda y: y + 100)
    x, y = ds[3]
    assert x.shape == (1, 28, 28) and x.dtype == torch.float32 and 0 <= x.min() and x.max() <= 1
    assert torch.equal((x[0] * 255).round().to(torch.uint8), ds.data[3])
    assert y == int(ds.targets[3]) + 100


@pytest.mark.parametrize("gz", [True, False], ids=["gz-source", "unpacked-source"])
def test_raw_files_are_unpacked_once(isolated, tmp_path, real_gz, real_raw, gz):
    root = link(real_gz if gz else real_raw, tmp_path / "root", gz=gz)
    fashion_mnist(train=False, root=root)
    raw = isolated / "FashionMNIST" / "raw"
    first = mtimes(raw)
    assert sorted(first) == sorted(STEMS)
    assert not any(p.is_symlink() for p in raw.iterdir()), "the unpacked files must be real copies"
    fashion_mnist(train=True, root=root)
    fashion_mnist(train=False)  # found in data/ now (no Debian package in this test)
    assert mtimes(raw) == first, "a second call rewrote the unpacked files"


def test_gz_files_in_data_dir_are_unpacked_beside_them(isolated, real_gz):
    raw = link(real_gz, isolated / "FashionMNIST" / "raw")
    ds = fashion_mnist(train=False)
    assert len(ds) == 10000
    assert all((raw / stem).is_file() and not (raw / stem).is_symlink() for stem in STEMS)


def test_bad_unpacked_copy_is_replaced_from_a_good_source(isolated, tmp_path, real_gz):
    root = link(real_gz, tmp_path / "root")
    fashion_mnist(train=False, root=root)
    bad = isolated / "FashionMNIST" / "raw" / "t10k-labels-idx1-ubyte"
    bad.write_bytes(bad.read_bytes()[:5000])  # e.g. an interrupted copy
    ds = fashion_mnist(train=False, root=root)
    assert len(ds.targets) == 10000 and bad.stat().st_size == 10008


def test_fashion_mnist_tensors(from_gz_root, isolated, real_gz):
    x, y = fashion_mnist_tensors(train=False, root=real_gz)
    assert (x.shape, x.dtype, y.shape, y.dtype) == ((10000, 28, 28), torch.uint8, (10000,), torch.int64)
    assert torch.equal(x, from_gz_root[1].data) and torch.equal(y, from_gz_root[1].targets)


# ---------------------------------------------------------------------------------------------
# nothing found: download, or one error listing every way to provide the data


def test_nothing_found_and_download_fails_names_every_way(isolated, monkeypatch):
    def no_network(self):
        raise RuntimeError("Error downloading train-images-idx3-ubyte.gz: no route to host")

    monkeypatch.setattr(torchvision.datasets.FashionMNIST, "download", no_network)
    with pytest.raises(DataNotFoundError) as info:
        fashion_mnist()
    msg = str(info.value)
    assert isinstance(info.value, FileNotFoundError)
    for way in ("root=", "PT_DATA_DIR=/folder/with/the/files (where Fashion-MNIST is READ from)",
                "PT_COURSE_DATA when set, where the course WRITES everything",
                "apt-get install dataset-fashion-mnist", str(data.DEBIAN_DIR),
                str(isolated / "FashionMNIST" / "raw"), "internet", "no route to host"):
        assert way in msg, f"the error should mention {way!r}:\n{msg}"


def test_download_is_the_last_resort(isolated, monkeypatch, real_gz):
    calls = []

    def fake_download(self):  # what torchvision does: .gz and unpacked files in raw_folder
        calls.append(self.raw_folder)
        raw = link(real_gz, Path(self.raw_folder))
        for stem in STEMS:
            with gzip.open(raw / f"{stem}.gz") as fin, open(raw / stem, "wb") as fout:
                shutil.copyfileobj(fin, fout)

    monkeypatch.setattr(torchvision.datasets.FashionMNIST, "download", fake_download)
    ds = fashion_mnist(train=False)
    assert len(ds) == 10000 and calls == [str(isolated / "FashionMNIST" / "raw")]


# ---------------------------------------------------------------------------------------------
# corrupt files: a clear error naming the file, never a silent wrong shape


def idx_bytes(shape, dtype_code=0x08, body=None) -> bytes:
    header = bytes([0, 0, dtype_code, len(shape)]) + struct.pack(f">{len(shape)}I", *shape)
    return header + (body if body is not None else bytes(int(np.prod(shape))))


CORRUPTIONS = {
    # name: (function of the real file's bytes -> bad bytes, words the message must contain)
    "truncated data": (lambda b: b[: len(b) - 100], "truncated"),
    "truncated header": (lambda b: b[:6], "truncated"),
    "empty": (lambda b: b"", "truncated"),
    "padded": (lambda b: b + b"\0" * 16, "padded"),
    "wrong magic": (lambda b: b"\x1f\x8b\x08\x00" + b[4:], "magic"),
    "int32 IDX": (lambda b: b[:2] + b"\x0c" + b[3:], "magic"),
    "wrong ndim": (lambda b: idx_bytes((10000, 1)), "dimension"),
    "wrong count": (lambda b: idx_bytes((9999,)), "(9999,)"),
}


@pytest.mark.parametrize("packing", ["unpacked", "gz"])
@pytest.mark.parametrize("case", list(CORRUPTIONS))
def test_check_idx_names_the_file(tmp_path, real_raw, case, packing):
    make, words = CORRUPTIONS[case]
    bad = make((real_raw / "t10k-labels-idx1-ubyte").read_bytes())
    path = tmp_path / ("t10k-labels-idx1-ubyte" + (".gz" if packing == "gz" else ""))
    path.write_bytes(gzip.compress(bad) if packing == "gz" else bad)
    with pytest.raises(CorruptDataError) as info:
        check_idx(path, (10000,))
    assert str(path) in str(info.value) and words in str(info.value), str(info.value)


def test_check_idx_accepts_the_real_files(real_gz, real_raw):
    for stem in STEMS:
        check_idx(real_raw / stem, SHAPES[stem])
        check_idx(real_gz / f"{stem}.gz", SHAPES[stem])


@pytest.mark.parametrize("damage", ["cut gzip stream", "not gzip at all"])
def test_broken_gzip_names_the_file(tmp_path, real_gz, damage):
    good = (real_gz / "t10k-labels-idx1-ubyte.gz").read_bytes()
    path = tmp_path / "t10k-labels-idx1-ubyte.gz"
    path.write_bytes(good[: len(good) // 2] if damage == "cut gzip stream" else b"<html>404 Not Found</html>")
    with pytest.raises(CorruptDataError, match="cannot be read completely") as info:
        check_idx(path, (10000,))
    assert str(path) in str(info.value)


@pytest.mark.parametrize("gz", [True, False], ids=["gz", "unpacked"])
def test_truncated_copy_in_root_fails_loudly(isolated, tmp_path, real_gz, real_raw, gz):
    root = link(real_gz if gz else real_raw, tmp_path / "root", STEMS[:3], gz=gz)
    cut = (real_raw / "t10k-labels-idx1-ubyte").read_bytes()[:7000]
    bad = root / ("t10k-labels-idx1-ubyte" + (".gz" if gz else ""))
    bad.write_bytes(gzip.compress(cut) if gz else cut)
    with pytest.raises(CorruptDataError, match="truncated") as info:
        fashion_mnist(train=False, root=root)
    assert str(bad) in str(info.value)
    assert not (isolated / "FashionMNIST" / "raw" / "t10k-labels-idx1-ubyte").exists()


def test_only_copy_corrupt_in_data_dir_fails_loudly(isolated, real_raw):
    raw = link(real_raw, isolated / "FashionMNIST" / "raw", STEMS[:3], gz=False)
    bad = raw / "t10k-labels-idx1-ubyte"
    bad.write_bytes((real_raw / "t10k-labels-idx1-ubyte").read_bytes()[:-8])
    with pytest.raises(CorruptDataError) as info:
        fashion_mnist(train=False)
    assert str(bad) in str(info.value)


def test_corrupt_unpacked_file_beside_a_good_gz_uses_the_gz(isolated, real_gz, real_raw):
    raw = link(real_gz, isolated / "FashionMNIST" / "raw")
    (raw / "t10k-labels-idx1-ubyte").write_bytes((real_raw / "t10k-labels-idx1-ubyte").read_bytes()[:-8])
    ds = fashion_mnist(train=False)
    assert len(ds.targets) == 10000


# ---------------------------------------------------------------------------------------------
# TensorLoader


@pytest.fixture(scope="module")
def test_split(real_gz):
    return (torch.from_numpy(parse_idx(real_gz / "t10k-images-idx3-ubyte.gz").copy()),
            torch.from_numpy(parse_idx(real_gz / "t10k-labels-idx1-ubyte.gz").astype(np.int64)))


@pytest.mark.parametrize("drop_last, lengths", [(False, [256] * 39 + [16]), (True, [256] * 39)])
def test_batches_shapes_and_len(test_split, drop_last, lengths):
    x, y = test_split
    loader = TensorLoader(x, y, batch_size=256, drop_last=drop_last)
    assert len(loader) == len(lengths) and loader.num_samples == 10000
    got = [(xb.shape, xb.dtype, yb.shape, yb.dtype) for xb, yb in loader]
    assert got == [((n, 1, 28, 28), torch.float32, (n,), torch.int64) for n in lengths]


@pytest.mark.parametrize("n, batch_size, drop_last, expected", [
    (10, 3, False, 4), (10, 3, True, 3), (9, 3, True, 3), (2, 3, False, 1), (2, 3, True, 0)])
def test_len_matches_dataloader(n, batch_size, drop_last, expected):
    x, y = torch.zeros(n, 4, 4, dtype=torch.uint8), torch.arange(n)
    loader = TensorLoader(x, y, batch_size=batch_size, drop_last=drop_last)
    dataset = torch.utils.data.TensorDataset(x, y)
    reference = torch.utils.data.DataLoader(dataset, batch_size=batch_size, drop_last=drop_last)
    assert len(loader) == len(reference) == expected == len(list(loader))


@pytest.mark.parametrize("drop_last", [False, True])
def test_every_sample_exactly_once_per_epoch(drop_last):
    n = 1000
    loader = TensorLoader(torch.zeros(n, 2, 2, dtype=torch.uint8), torch.arange(n), batch_size=64, shuffle=True,
                          drop_last=drop_last)
    epochs = [torch.cat([yb for _, yb in loader]) for _ in range(3)]
    for seen in epochs:
        assert len(seen) == (n // 64 * 64 if drop_last else n)
        assert len(seen.unique()) == len(seen), "a sample came twice in one epoch"
    assert not torch.equal(epochs[0], epochs[1]), "shuffle=True must give a new order each epoch"
    assert torch.equal(torch.cat([yb for _, yb in TensorLoader(torch.zeros(n, 2, 2), torch.arange(n), batch_size=64)]),
                       torch.arange(n)), "shuffle=False keeps the order"


def test_normalisation_matches_torchvision(test_split):
    x, y = test_split
    reference = v2.Compose([v2.ToImage(), v2.ToDtype(torch.float32, scale=True),
                            v2.Normalize([FASHION_MNIST_MEAN], [FASHION_MNIST_STD])])
    xb, yb = next(iter(TensorLoader(x, y, batch_size=300)))
    want = torch.stack([reference(img.numpy()[:, :, None]) for img in x[:300]])
    torch.testing.assert_close(xb, want)
    assert torch.equal(yb, y[:300])
    xb2, _ = next(iter(TensorLoader(x, y, batch_size=300, mean=0.5, std=0.25)))
    torch.testing.assert_close(xb2, (x[:300, None].float() / 255 - 0.5) / 0.25)


def test_float_and_channel_inputs():
    g = torch.Generator().manual_seed(0)
    imgs = torch.rand(10, 3, 8, 8, generator=g)
    xb, _ = next(iter(TensorLoader(imgs, torch.arange(10), batch_size=10, mean=0.0, std=1.0)))
    torch.testing.assert_close(xb, imgs)  # float images are taken as already in [0, 1]
    masks = torch.randint(0, 3, (10, 8, 8), generator=g)
    _, mb = next(iter(TensorLoader(imgs, masks, batch_size=4, shuffle=True)))
    assert mb.shape == (4, 8, 8)


def test_statistics_constants_match_the_training_data(from_gz_root):
    pixels = from_gz_root[0].data.double() / 255
    assert round(pixels.mean().item(), 4) == FASHION_MNIST_MEAN
    assert round(pixels.std().item(), 4) == FASHION_MNIST_STD


def reference_candidates(img: torch.Tensor, p: int, flip: bool, crop: bool):
    """Every image the augmentation may produce from ``img`` (C,H,W) in [0,1], with its choice, via torchvision."""
    H, W = img.shape[-2:]
    out = []
    for flipped in ([False, True] if flip else [False]):
        base = v2.functional.horizontal_flip(img) if flipped else img
        offsets = [(oy, ox) for oy in range(2 * p + 1) for ox in range(2 * p + 1)] if crop else [(p, p)]
        padded = v2.functional.pad(base, [p], fill=0)
        for oy, ox in offsets:
            out.append(((flipped, oy, ox), v2.functional.crop(padded, oy, ox, H, W)))
    return out


@pytest.mark.parametrize("flip, crop", [(True, False), (False, True), (True, True)])
def test_flip_and_crop_match_torchvision(flip, crop):
    p, n = 2, 400
    g = torch.Generator().manual_seed(1)
    imgs = torch.randint(0, 256, (n, 1, 9, 7), generator=g, dtype=torch.uint8)  # noise: every choice is distinct
    loader = TensorLoader(imgs, torch.arange(n), batch_size=128, shuffle=True, mean=0.0, std=1.0,
                          flip=flip, crop_padding=p if crop else 0, seed=3)
    choices = []
    for xb, yb in loader:
        for out, i in zip(xb, yb):
            candidates = reference_candidates(imgs[i].float() / 255, p, flip, crop)
            matches = [c for c, ref in candidates if torch.equal(out, ref)]
            assert len(matches) == 1, f"sample {i}: matches {matches} of the torchvision candidates"
            choices.append(matches[0])
    flips = torch.tensor([c[0] for c in choices], dtype=torch.float)
    offsets = {(oy, ox) for _, oy, ox in choices}
    if flip:
        assert 0.4 < flips.mean() < 0.6, "flip should happen with probability 0.5"
    else:
        assert flips.sum() == 0
    assert offsets == ({(oy, ox) for oy in range(2 * p + 1) for ox in range(2 * p + 1)} if crop else {(p, p)})


def test_padding_is_black_after_normalisation():
    imgs = torch.full((64, 1, 5, 5), 255, dtype=torch.uint8)
    xb, _ = next(iter(TensorLoader(imgs, torch.arange(64), batch_size=64, crop_padding=2, seed=0)))
    black = torch.tensor((0 - FASHION_MNIST_MEAN) / FASHION_MNIST_STD)
    white = torch.tensor((1 - FASHION_MNIST_MEAN) / FASHION_MNIST_STD)
    is_black, is_white = torch.isclose(xb, black), torch.isclose(xb, white)
    assert torch.all(is_black | is_white), "padding must be 0 before normalisation, nothing else"
    assert is_black.any() and is_white.any()


def epoch(loader):
    return [(xb.clone(), yb.clone()) for xb, yb in loader]


def test_same_seed_same_batches_other_seed_differs():
    g = torch.Generator().manual_seed(0)
    imgs = torch.randint(0, 256, (300, 12, 12), generator=g, dtype=torch.uint8)
    kw = dict(batch_size=50, shuffle=True, flip=True, crop_padding=2)
    a = epoch(TensorLoader(imgs, torch.arange(300), seed=7, **kw))
    b = epoch(TensorLoader(imgs, torch.arange(300), seed=7, **kw))
    c = epoch(TensorLoader(imgs, torch.arange(300), seed=8, **kw))
    assert all(torch.equal(xa, xb) and torch.equal(ya, yb) for (xa, ya), (xb, yb) in zip(a, b))
    assert not torch.equal(a[0][1], c[0][1])


def test_batches_are_produced_on_the_device():
    loader = TensorLoader(torch.zeros(10, 4, 4, dtype=torch.uint8), torch.arange(10), batch_size=4, device="cpu")
    xb, yb = next(iter(loader))
    assert xb.device == yb.device == torch.device("cpu") == loader.images.device


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_cuda_batches_equal_cpu_batches():
    imgs = torch.randint(0, 256, (100, 10, 10), dtype=torch.uint8)
    kw = dict(batch_size=32, shuffle=True, flip=True, crop_padding=3, seed=5)
    cpu = epoch(TensorLoader(imgs, torch.arange(100), device="cpu", **kw))
    gpu = epoch(TensorLoader(imgs, torch.arange(100), device="cuda", **kw))
    assert gpu[0][0].device.type == "cuda"
    for (xc, yc), (xg, yg) in zip(cpu, gpu):
        assert torch.equal(yc, yg.cpu())
        torch.testing.assert_close(xc, xg.cpu())


BAD = {
    "images": dict(images=torch.zeros(5, 28 * 28, dtype=torch.uint8)),
    "5-D images": dict(images=torch.zeros(5, 1, 1, 2, 2, dtype=torch.uint8), match="images"),
    "int64 images": dict(images=torch.zeros(5, 2, 2, dtype=torch.int64), match="images"),
    "numpy images": dict(images=np.zeros((5, 2, 2), dtype=np.uint8), match="images"),
    "labels": dict(labels=torch.arange(4), match="5 images but 4 labels"),
    "batch_size": dict(batch_size=0),
    "negative batch_size": dict(batch_size=-3, match="batch_size"),
    "float batch_size": dict(batch_size=2.5, match="batch_size"),
    "crop_padding": dict(crop_padding=-1),
    "std": dict(std=0.0),
    "device": dict(device="gpu0"),
}


@pytest.mark.parametrize("case", list(BAD))
def test_bad_inputs_name_the_argument(case):
    kw = dict(BAD[case])
    match = kw.pop("match", case)
    args = dict(images=torch.zeros(5, 2, 2, dtype=torch.uint8), labels=torch.arange(5))
    args.update(kw)
    with pytest.raises((ValueError, TypeError), match=match):
        TensorLoader(args.pop("images"), args.pop("labels"), **args)
