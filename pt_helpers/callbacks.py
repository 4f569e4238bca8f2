"""The callback protocol of :func:`pt_helpers.train.fit` (minGPT-style hooks, no hidden state).

Taught in notebooks/05_cnn.ipynb. Subclass :class:`Callback` and override what you need; ``fit``
calls every hook of every callback in order. Hooks observe; they must not change the model.
"""

from __future__ import annotations

from typing import Any

__all__ = ["Callback"]


class Callback:
    """Base class: every hook does nothing.

    ``logs`` keys used by ``fit``:
      * ``on_train_begin(info)``: ``{"epochs": int, "steps_per_epoch": int, "model": nn.Module}``
      * ``on_batch_end(step, logs)``: ``{"epoch": int, "loss": float, "lr": float}`` (step counts from 0
        over the whole run)
      * ``on_epoch_end(epoch, logs)``: ``{"train_loss", "train_acc", "val_loss", "val_acc", "lr",
        "seconds"}`` (floats; ``val_*`` are None without a validation loader)
      * ``on_train_end(history)``: the history dict ``fit`` returns.
    """

    def on_train_begin(self, info: dict[str, Any]) -> None:
        pass

    def on_batch_end(self, step: int, logs: dict[str, Any]) -> None:
        pass

    def on_epoch_end(self, epoch: int, logs: dict[str, Any]) -> None:
        pass

    def on_train_end(self, history: dict[str, Any]) -> None:
        pass
