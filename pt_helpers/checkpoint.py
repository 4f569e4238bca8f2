"""Checkpoints: atomic saves, ``weights_only`` loads, RNG states, and partial loading with a report.

Taught in notebooks/05_cnn.ipynb. A training checkpoint holds everything a run needs to continue
as if it had never stopped: model, optimizer, scheduler, the epoch count, the history, and every
random number generator (Python, NumPy, torch CPU and CUDA, and the data loader's own generator).
It is written to a temporary file and renamed (``os.replace``), so a crash mid-save never leaves a
half-written checkpoint, and it is read with ``torch.load(weights_only=True)``, which refuses to run
code hidden in a pickle. All RNG states are stored as tensors, lists and numbers for that reason.
"""

from __future__ import annotations

import os
import pickle
import random
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field, is_dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

__all__ = ["save_checkpoint", "load_checkpoint", "capture_rng", "restore_rng", "loader_generators", "save_model",
           "load_model", "load_partial", "LoadReport", "PartialLoadError"]

CHECKPOINT_FORMAT = "pt_helpers.checkpoint/1"
MODEL_FORMAT = "pt_helpers.model/1"
PathLike = str | os.PathLike


# ---------------------------------------------------------------- files

def _atomic_save(obj: Any, path: PathLike) -> Path:
    """``torch.save`` to a temporary file in the same folder, fsync, then ``os.replace`` onto ``path``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    try:
        with open(tmp, "wb") as fh:
            torch.save(obj, fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)  # atomic on POSIX and Windows: readers see the old or the new file
    finally:
        if tmp.exists():
            tmp.unlink()
    return path


def _safe_load(path: PathLike, map_location: Any = "cpu") -> Any:
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such checkpoint file")
    with path.open("rb") as f:
        head = f.read(4)
    if head != b"PK\x03\x04" and head[:1] != b"\x80":  # torch.save's zip archive, or a legacy pickle
        raise ValueError(f"{path}: not a PyTorch checkpoint (" + ("the file is empty" if not head else
                         f"torch.save writes a zip archive; this file starts with {head!r}") + ")")
    try:
        return torch.load(path, map_location=map_location, weights_only=True)
    except pickle.UnpicklingError as err:
        raise ValueError(
            f"{path}: torch.load(weights_only=True) refused it: it holds pickled Python objects "
            "(typically a whole model saved with torch.save(model, ...)). Save model.state_dict() "
            "instead; load such a file with weights_only=False only if you trust who made it.") from err
    except (RuntimeError, OSError, EOFError, KeyError) as err:  # what torch raises for a cut or damaged archive
        raise ValueError(f"{path}: looks like a PyTorch checkpoint but could not be read: truncated or damaged "
                         f"(an interrupted save or copy?): {type(err).__name__}: {err}") from err


# ---------------------------------------------------------------- RNG states

def capture_rng() -> dict[str, Any]:
    """Every global generator's state, as values ``torch.load(weights_only=True)`` accepts."""
    np_state = np.random.get_state()  # noqa: NPY002 - the legacy global generator is what code seeds
    return {
        "python": random.getstate(),  # (version, tuple of 625 ints, gauss_next)
        "numpy": {"name": np_state[0], "keys": torch.from_numpy(np_state[1].astype(np.int64)),
                  "pos": int(np_state[2]), "has_gauss": int(np_state[3]), "cached_gaussian": float(np_state[4])},
        "torch": torch.get_rng_state(),
        "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else [],
    }


def restore_rng(state: Mapping[str, Any]) -> None:
    """Put back what :func:`capture_rng` returned (CUDA states only when the GPU count matches)."""
    try:
        py = state["python"]
        random.setstate((py[0], tuple(py[1]), py[2]))
        n = state["numpy"]
        keys = n["keys"].numpy().astype(np.uint32)
        np.random.set_state((n["name"], keys, n["pos"], n["has_gauss"], n["cached_gaussian"]))  # noqa: NPY002
        torch.set_rng_state(state["torch"])
    except (KeyError, TypeError, IndexError, AttributeError) as err:
        raise ValueError(f"restore_rng(state): expected the dict capture_rng() returns ({err!r})") from err
    cuda = state.get("cuda") or []
    if cuda and torch.cuda.is_available() and len(cuda) == torch.cuda.device_count():
        torch.cuda.set_rng_state_all(cuda)


def loader_generators(loader: Any) -> list[torch.Generator]:
    """The ``torch.Generator`` objects a loader draws from (TensorLoader's, or a DataLoader's/sampler's).

    A ``DataLoader(shuffle=True)`` without ``generator=`` draws its shuffling seed from the global torch
    generator, which :func:`capture_rng` already covers.
    """
    found: list[torch.Generator] = []
    batch_sampler = getattr(loader, "batch_sampler", None)
    candidates = [loader, getattr(loader, "sampler", None), getattr(batch_sampler, "sampler", None)]
    for obj in candidates:
        g = getattr(obj, "generator", None)
        if isinstance(g, torch.Generator) and all(g is not f for f in found):
            found.append(g)
    return found


# ---------------------------------------------------------------- training checkpoints

def save_checkpoint(path: PathLike, *, model: nn.Module, epoch: int, optimizer: torch.optim.Optimizer | None = None,
                    scheduler: Any = None, history: Mapping[str, list] | None = None,
                    loaders: Iterable[Any] = ()) -> Path:
    """Save a resumable training state atomically.

    Args:
        path: the file (folders are created).
        model, optimizer, scheduler: saved through their ``state_dict()``.
        epoch: number of epochs completed (training continues with the next one).
        history: the history dict of :func:`pt_helpers.train.fit` so far.
        loaders: data loaders whose own generators (see :func:`loader_generators`) are saved.
    Returns:
        The path written.
    """
    if not isinstance(epoch, int) or isinstance(epoch, bool) or epoch < 0:
        raise ValueError(f"save_checkpoint(epoch={epoch!r}): expected the number of completed epochs (int >= 0)")
    state = {
        "format": CHECKPOINT_FORMAT,
        "epoch": epoch,
        "model": model.state_dict(),
        "optimizer": optimizer.state_dict() if optimizer is not None else None,
        "scheduler": scheduler.state_dict() if scheduler is not None else None,
        "history": {k: list(v) for k, v in (history or {}).items()},
        "rng": capture_rng(),
        "loader_rng": [[g.get_state() for g in loader_generators(ld)] for ld in loaders],
    }
    return _atomic_save(state, path)


def load_checkpoint(path: PathLike, *, model: nn.Module | None = None, optimizer: torch.optim.Optimizer | None = None,
                    scheduler: Any = None, map_location: Any = "cpu") -> dict[str, Any]:
    """Read a :func:`save_checkpoint` file with ``weights_only=True`` and load it into the objects given.

    RNG states are *not* restored here (call :func:`restore_rng` when training really continues).
    Returns:
        The checkpoint dict: ``epoch``, ``history``, ``rng``, ``loader_rng``, and the state dicts.
    """
    state = _safe_load(path, map_location)
    if not isinstance(state, dict) or state.get("format") != CHECKPOINT_FORMAT:
        raise ValueError(f"{path}: not a training checkpoint written by save_checkpoint "
                         "(for bare state_dicts use model.load_state_dict or load_partial)")
    if model is not None:
        model.load_state_dict(state["model"])
    if optimizer is not None:
        if state["optimizer"] is None:
            raise ValueError(f"{path}: holds no optimizer state, but an optimizer was passed")
        optimizer.load_state_dict(state["optimizer"])
    if scheduler is not None:
        if state["scheduler"] is None:
            raise ValueError(f"{path}: holds no scheduler state, but a scheduler was passed")
        scheduler.load_state_dict(state["scheduler"])
    return state


# ---------------------------------------------------------------- trained models for later lessons

def save_model(path: PathLike, model: nn.Module, *, kwargs: Any = None, **meta: Any) -> Path:
    """Save a trained model as its state_dict plus the constructor kwargs that rebuild it.

    The file stores the kwargs as a plain dict (``torch.load(weights_only=True)`` reads no dataclasses),
    so ``load_model`` calls ``cls(**kwargs)``. The lesson models keep them as ``model.config``, the dict
    of their frozen config dataclass ``model.cfg`` (see :mod:`pt_helpers.models.config`).

    Args:
        kwargs: the keyword arguments of ``type(model)(**kwargs)``, as a mapping or a dataclass
            instance (e.g. ``model.cfg``); default ``model.config``.
        meta: small facts to keep with it (test accuracy, epochs, ...): numbers, strings, lists.
    """
    where = "kwargs" if kwargs is not None else f"{type(model).__name__}.config"
    if kwargs is None:
        kwargs = getattr(model, "config", None)
    if is_dataclass(kwargs) and not isinstance(kwargs, type):
        kwargs = asdict(kwargs)
    if not isinstance(kwargs, Mapping):
        raise ValueError(f"save_model: {where} is {type(kwargs).__name__}, expected a dict or a dataclass instance "
                         "(for a model without a `config`, pass kwargs=)")
    state = {"format": MODEL_FORMAT, "class": type(model).__name__, "kwargs": dict(kwargs),
             "state_dict": {k: v.detach().cpu() for k, v in model.state_dict().items()}, "meta": dict(meta)}
    return _atomic_save(state, path)


def load_model(path: PathLike, cls: type[nn.Module], *, map_location: Any = "cpu") -> nn.Module:
    """Rebuild ``cls(**kwargs)`` from a :func:`save_model` file and load its weights (strict); eval mode.

    Files written before the lesson models had config dataclasses hold the same kwargs dict (a
    ``FashionCNN``'s ``channels`` as a list; fields added later are missing and take their defaults).
    """
    state = _safe_load(path, map_location)
    if not isinstance(state, dict) or state.get("format") != MODEL_FORMAT:
        raise ValueError(f"{path}: not a model file written by save_model")
    if state["class"] != cls.__name__:
        raise ValueError(f"{path}: holds a {state['class']}, but cls={cls.__name__} was passed")
    model = cls(**state["kwargs"])
    model.load_state_dict(state["state_dict"])
    return model.eval()


# ---------------------------------------------------------------- partial loading

_PREFIXES = ("module.", "_orig_mod.")  # DataParallel/DistributedDataParallel, torch.compile


def _shorten(keys: list[str], limit: int = 6) -> str:
    shown = ", ".join(keys[:limit])
    return shown + (f", ... and {len(keys) - limit} more" if len(keys) > limit else "")


def _shape_lines(mismatched: list[tuple[str, tuple, tuple]], *, limit: int, indent: str,
                 more: str = "more") -> list[str]:
    lines = [f"{indent}{key}: checkpoint {a} vs model {b}" for key, a, b in mismatched[:limit]]
    return lines + ([f"{indent}... and {len(mismatched) - limit} {more}"] if len(mismatched) > limit else [])


@dataclass
class LoadReport:
    """What :func:`load_partial` did. ``str(report)`` is a readable summary."""

    matched: list[str] = field(default_factory=list)  # loaded into the model
    missing: list[str] = field(default_factory=list)  # model keys absent from the checkpoint: kept
    unexpected: list[str] = field(default_factory=list)  # checkpoint keys the model lacks: ignored
    shape_mismatched: list[tuple[str, tuple, tuple]] = field(default_factory=list)  # (key, ckpt, model)
    bn_counters_missing: list[str] = field(default_factory=list)  # num_batches_tracked absent (old files)
    bn_counters_unexpected: list[str] = field(default_factory=list)  # counters the model does not track
    prefix_note: str = ""  # e.g. "stripped 'module.' from the checkpoint keys"
    model_keys: int = 0

    @property
    def ok(self) -> bool:
        """Every model tensor was loaded and nothing in the checkpoint was left over."""
        return not (self.missing or self.unexpected or self.shape_mismatched)

    def __str__(self) -> str:
        lines = [f"load_partial: loaded {len(self.matched)} of {self.model_keys} model tensors"
                 + (" (complete)" if self.ok else "")]
        if len(self.matched) < self.model_keys / 2:
            lines[0] += ": most names or shapes differ; is this a checkpoint of another architecture?"
        if self.prefix_note:
            lines.append(f"  prefix: {self.prefix_note}")
        if self.missing:
            lines.append(f"  missing from the checkpoint, kept as they were ({len(self.missing)}): "
                         f"{_shorten(self.missing)}")
        if self.unexpected:
            lines.append(f"  in the checkpoint only, ignored ({len(self.unexpected)}): {_shorten(self.unexpected)}")
        if self.shape_mismatched:
            lines.append(f"  shape mismatch, skipped ({len(self.shape_mismatched)}):")
            lines += _shape_lines(self.shape_mismatched, limit=6, indent="    ")
        if self.bn_counters_missing:
            lines.append(f"  BatchNorm num_batches_tracked missing for {len(self.bn_counters_missing)} layer(s) "
                         "(older checkpoint; harmless unless momentum=None): kept the model's counters")
        if self.bn_counters_unexpected:
            lines.append(f"  BatchNorm num_batches_tracked in the checkpoint for {len(self.bn_counters_unexpected)} "
                         "layer(s) that do not track statistics: ignored")
        return "\n".join(lines)


def _rename(keys: Iterable[str], how: str) -> dict[str, str]:
    """Map checkpoint key -> model key for one renaming rule ("", "-module.", "+module.", ...)."""
    if not how:
        return {k: k for k in keys}
    sign, prefix = how[0], how[1:]
    if sign == "-":
        return {k: k[len(prefix):] for k in keys if k.startswith(prefix)}
    return {k: prefix + k for k in keys}


def _layer_of(model: nn.Module, key: str) -> nn.Module | None:
    """The BatchNorm layer a ``...num_batches_tracked`` key belongs to, if the model has it."""
    try:
        layer = model.get_submodule(key.rsplit(".", 1)[0]) if "." in key else None
    except AttributeError:
        return None
    return layer if isinstance(layer, nn.modules.batchnorm._NormBase) else None


def load_partial(model: nn.Module, state: Mapping[str, torch.Tensor] | PathLike, *,
                 require: Iterable[str] = ()) -> LoadReport:
    """Load every checkpoint tensor whose name and shape match the model; report everything else.

    Handles a ``module.`` prefix on either side (DataParallel / DDP, also torch.compile's
    ``_orig_mod.``), BatchNorm ``num_batches_tracked`` counters that older checkpoints lack, extra
    or missing layers and changed shapes (e.g. a new classifier head). Tensors that do not match keep
    their current values. Without ``require`` nothing raises for a mismatched architecture: read the report.

    Args:
        model: the model to load into (changed in place).
        state: a state_dict, a dict holding one under ``"model"`` or ``"state_dict"``, or a file path.
        require: names of the model's submodules (e.g. a U-Net's encoder stages ``("inc", "down1", ...)``)
            every tensor of which must be loaded. If one is missing from the checkpoint or has another
            shape, :class:`PartialLoadError` names the keys and shapes and *nothing* is loaded.
    Returns:
        A :class:`LoadReport`; ``print(report)`` summarises it, ``report.ok`` says it was complete.
    """
    if isinstance(require, str):
        raise TypeError(f"load_partial(require={require!r}): expected a list of module names, e.g. [{require!r}]")
    require = tuple(require)
    if isinstance(state, (str, os.PathLike)):
        state = _safe_load(state)
    if not isinstance(state, Mapping):
        raise TypeError("load_partial(state): expected a state_dict, a checkpoint dict or a path, "
                        f"got {type(state).__name__}")
    for key in ("model", "state_dict"):
        if isinstance(state.get(key), Mapping):
            state = state[key]
            break
    own = model.state_dict()
    rules = [""] + [s + p for p in _PREFIXES for s in "-+"]
    best = max(rules, key=lambda r: len(set(_rename(state, r).values()) & set(own)))  # first wins a tie
    mapping = _rename(state, best)
    report = LoadReport(model_keys=len(own))
    if best:
        verb = "stripped" if best[0] == "-" else "added"
        report.prefix_note = f"{verb} {best[1:]!r} {'from' if verb == 'stripped' else 'to'} the checkpoint keys"
    to_load = {}
    renamed = set(mapping.values())
    for ckpt_key, value in state.items():
        key = mapping.get(ckpt_key)
        if key is None or key not in own:
            name = key or ckpt_key
            layer = _layer_of(model, name) if name.endswith("num_batches_tracked") else None
            (report.bn_counters_unexpected if layer is not None else report.unexpected).append(name)
        elif tuple(value.shape) != tuple(own[key].shape):
            report.shape_mismatched.append((key, tuple(value.shape), tuple(own[key].shape)))
        else:
            to_load[key] = value
            report.matched.append(key)
    seen = set(to_load) | {k for k, _, _ in report.shape_mismatched}
    for key in own:
        if key not in seen:
            old_style = key.endswith("num_batches_tracked") and key[:-19] + "running_mean" in renamed
            (report.bn_counters_missing if old_style else report.missing).append(key)
    if require:
        _check_required(report, own, require)
    model.load_state_dict(to_load, strict=False)
    return report


class PartialLoadError(ValueError):
    """:func:`load_partial` with ``require=``: the checkpoint does not fit the required part (``.report``)."""

    def __init__(self, message: str, report: LoadReport) -> None:
        super().__init__(message)
        self.report = report


def _check_required(report: LoadReport, own: Mapping[str, torch.Tensor], require: tuple[str, ...]) -> None:
    def under(key: str, name: str) -> bool:  # key belongs to the submodule (or is the tensor) called name
        return key == name or key.startswith(name + ".")

    def inside(key: str) -> bool:
        return any(under(key, name) for name in require)

    unknown = [name for name in require if not any(under(k, name) for k in own)]
    if unknown:
        raise ValueError(f"load_partial(require={list(require)}): no model key belongs to {unknown}; "
                         f"the model's top-level modules are {sorted({k.split('.')[0] for k in own})}")
    missing = [k for k in report.missing if inside(k)]
    shapes = [(k, a, b) for k, a, b in report.shape_mismatched if inside(k)]
    if missing or shapes:
        lines = [f"load_partial(require={list(require)}): the checkpoint does not fit the required part of the "
                 "model; nothing was loaded"]
        lines += _shape_lines(shapes, limit=10, indent="  ", more="more shape mismatches")
        if missing:
            lines.append(f"  missing from the checkpoint ({len(missing)}): {_shorten(missing)}")
        if shapes:
            lines.append("  (was the checkpoint made for other sizes, e.g. another base_channels?)")
        raise PartialLoadError("\n".join(lines), report)
