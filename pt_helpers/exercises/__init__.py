"""Checkers the workbook's exercises call: friendly feedback, never the answer.

One module per lesson (``pt_helpers.exercises.l02`` for lesson 02, ...), all built on
:mod:`pt_helpers.exercises.core`. A checker prints one ``✓`` line when the learner's answer is right
and raises :class:`ExerciseError` (an ``AssertionError``) with a hint when it is not, including the
blank case (``...`` left in place, so the function returns ``None``).
"""

from .core import ExerciseError, passed

__all__ = ["ExerciseError", "passed"]
