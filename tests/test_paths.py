"""pt_helpers.paths: where Fashion-MNIST is READ from ($PT_DATA_DIR) and where the course WRITES ($PT_COURSE_DATA).

The search order itself (with the real files) is tested in tests/test_data.py; here: the two variables, the
order of the folders searched, and that env and data hand out these very objects.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from pt_helpers import data, env, paths


def test_data_dir_is_where_the_course_writes(tmp_path, monkeypatch):
    target = tmp_path / "written" / "here"
    monkeypatch.setenv("PT_COURSE_DATA", str(target))
    monkeypatch.setenv("PT_DATA_DIR", str(tmp_path / "read-only"))  # READ location: never the write location
    assert paths.data_dir() == target and target.is_dir()
    assert paths.fashion_mnist_raw_dir() == target / "FashionMNIST" / "raw"
    assert not (tmp_path / "read-only").exists(), "nothing may be created where Fashion-MNIST is read from"


def test_data_dir_defaults_to_the_checkout(monkeypatch):
    monkeypatch.delenv("PT_COURSE_DATA", raising=False)
    root = paths.project_root()
    assert root == Path(paths.__file__).resolve().parents[1]  # the tests run from an editable checkout
    assert paths.data_dir() == root / "data"


def test_sources_in_order_read_variable_before_debian_before_the_written_copy(tmp_path, monkeypatch):
    monkeypatch.setenv("PT_COURSE_DATA", str(tmp_path / "course"))
    monkeypatch.setenv("PT_DATA_DIR", str(tmp_path / "mine"))
    got = paths.fashion_mnist_sources(tmp_path / "root")
    assert got == [
        (tmp_path / "root", "root argument"),
        (tmp_path / "root" / "FashionMNIST" / "raw", "root argument"),
        (tmp_path / "mine", "$PT_DATA_DIR"),
        (tmp_path / "mine" / "FashionMNIST" / "raw", "$PT_DATA_DIR"),
        (paths.DEBIAN_DIR, "Debian package"),
        (tmp_path / "course" / "FashionMNIST" / "raw", "data/"),
    ]
    monkeypatch.delenv("PT_DATA_DIR")
    assert [source for _, source in paths.fashion_mnist_sources()] == ["Debian package", "data/"]


def test_find_idx_file_prefers_the_unpacked_file(tmp_path):
    stem = "t10k-labels-idx1-ubyte"
    assert paths.find_idx_file(tmp_path, stem) is None
    (tmp_path / f"{stem}.gz").write_bytes(b"")
    assert paths.find_idx_file(tmp_path, stem) == tmp_path / f"{stem}.gz"
    (tmp_path / stem).write_bytes(b"")
    assert paths.find_idx_file(tmp_path, stem) == tmp_path / stem


def test_explicit_root_without_the_files_names_it(tmp_path):
    with pytest.raises(paths.DataNotFoundError, match="typo"):
        paths.locate_fashion_mnist(tmp_path / "typo")


def test_env_and_data_re_export_the_same_objects():
    """The notebooks' `from pt_helpers.env import data_dir, project_root` and data's search names still work."""
    assert env.data_dir is paths.data_dir and env.project_root is paths.project_root
    for name in ("DEBIAN_DIR", "DataNotFoundError", "Located", "locate_fashion_mnist"):
        assert getattr(data, name) is getattr(paths, name), name
        assert name in data.__all__


def test_both_variables_are_explained_in_one_docstring_with_the_same_words():
    doc = paths.__doc__
    assert "``PT_DATA_DIR`` -- where Fashion-MNIST is READ from" in doc
    assert "``PT_COURSE_DATA`` -- where the course WRITES everything" in doc
    assert (paths.READ_VARIABLE, paths.WRITE_VARIABLE) == ("PT_DATA_DIR", "PT_COURSE_DATA")
    for module in (env, data):
        assert "READ" in module.__doc__ and "WRITE" in module.__doc__, module.__name__
        assert "pt_helpers.paths" in module.__doc__


def test_paths_needs_no_torch():
    """The doctor may use it when torch is broken: importing it must not import torch."""
    code = "import sys, pt_helpers.paths; sys.exit('torch' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], check=False).returncode == 0
