"""PASCAL VOC detection evaluation: the metric, its files, and boxes from segmentation masks.

Taught in notebooks/09_voc_eval.ipynb. ``pt_helpers.voc`` gathers these modules:

- :mod:`.metric` - ``box_iou``, ``Detections``, ``match_detections``, ``precision_recall``, ``voc_ap``,
  ``voc_eval``: the devkit's evaluation of one class, in the devkit's order (``match="devkit"``, the
  official devkit's IoU >= 0.5, by default; ``match="py-faster-rcnn"`` for its voc_eval.py's IoU > 0.5);
- :mod:`.matching` - the vectorised greedy matching that :mod:`.metric` and :mod:`.all_boxes` share
  (``Objects``: the annotations as columns, read once for every class);
- :mod:`.all_boxes` - ``evaluate_detections``: every class of py-faster-rcnn's ``all_boxes`` format;
- :mod:`.files` - VOC XML (read with defusedxml), the ``VOCdevkit/VOC2007`` tree, image sets and the
  devkit's results files;
- :mod:`.from_masks` - ``detections_from_probs``: connected components of a predicted mask as boxes;
- :mod:`.oracle` - ``perturbed_oracle``: ground truth damaged in controlled ways, as detections;
- :mod:`.reference` - the per-detection loops ``voc_eval`` is checked and timed against:
  py-faster-rcnn's (``voc_eval_loop``) and a plain-Python one (``voc_eval_python``); not re-exported.

The figures (boxes, IoU, PR curve, AP bars) are in :mod:`pt_helpers.plot.voc`.
"""

from .all_boxes import evaluate_detections
from .files import (
    VOCFormatError,
    file_name,
    parse_annotation,
    read_image_set,
    read_results_file,
    read_voc_annotations,
    write_annotation,
    write_results_files,
    write_voc_dataset,
)
from .from_masks import detections_from_probs
from .matching import Objects
from .metric import Detections, box_iou, match_detections, precision_envelope, precision_recall, voc_ap, voc_eval
from .oracle import perturbed_oracle

__all__ = [
    "box_iou", "voc_ap", "precision_envelope", "precision_recall", "Detections", "Objects", "match_detections",
    "voc_eval", "evaluate_detections",
    "VOCFormatError", "file_name", "parse_annotation", "write_annotation", "write_voc_dataset", "read_image_set",
    "read_voc_annotations", "write_results_files", "read_results_file",
    "detections_from_probs", "perturbed_oracle",
]
