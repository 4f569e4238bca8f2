"""How every lesson model is configured: a frozen dataclass per model (as nanoGPT's ``GPTConfig``).

Taught in notebooks/05_cnn.ipynb (a trained model is saved as its ``state_dict`` plus the constructor
arguments that rebuild it; ``pt_helpers.checkpoint.save_model`` / ``load_model``). The convention:

- Beside each model ``X`` sits ``XConfig``, a frozen, keyword-only dataclass: one field per constructor
  argument, one comment per field, and the argument checks in ``__post_init__`` (so a bad value fails
  when the config is made, whichever way the model is built).
- ``X(**fields)`` (what the lessons write, e.g. ``ViT(image_size=28, ...)``) and ``X(config)`` build the
  same model; the model keeps the dataclass as ``model.cfg``.
- ``model.config`` is ``dataclasses.asdict(model.cfg)``: the plain dict of keyword arguments that
  checkpoints store (``torch.load(weights_only=True)`` reads plain dicts, not dataclasses) and that
  ``X(**model.config)`` rebuilds from, as lessons 04, 05 and 07 do.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

__all__ = ["config_from"]

ConfigT = TypeVar("ConfigT")


def config_from(config_cls: type[ConfigT], config: ConfigT | None, kwargs: Mapping[str, Any]) -> ConfigT:
    """The configuration a model constructor was given: ``config`` itself, or ``config_cls(**kwargs)``.

    Args:
        config_cls: the model's dataclass, e.g. ``ViTConfig``.
        config: what was passed positionally (None when the caller used keyword arguments).
        kwargs: the keyword arguments (the dataclass's fields).
    Returns:
        An instance of ``config_cls`` (its ``__post_init__`` has checked the values).
    Raises:
        TypeError: ``config`` is not a ``config_cls``, both were given, or a keyword is not a field.
    """
    if config is None:
        return config_cls(**kwargs)
    if not isinstance(config, config_cls):
        raise TypeError(f"expected a {config_cls.__name__} or keyword arguments (they are keyword-only), "
                        f"got {type(config).__name__} {config!r}")
    if kwargs:
        raise TypeError(f"pass a {config_cls.__name__} or keyword arguments, not both (got {sorted(kwargs)}); "
                        "dataclasses.replace(config, name=value) makes a changed copy")
    return config
