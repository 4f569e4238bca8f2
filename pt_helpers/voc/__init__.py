"""PASCAL VOC detection evaluation: the metric, its files, and boxes from segmentation masks.

Taught in notebooks/09_voc_eval.ipynb. ``pt_helpers.voc`` gathers three small modules:

- :mod:`.metric` - pure NumPy: ``box_iou``, ``voc_ap``, ``match_detections``, ``voc_eval`` (the devkit's
  semantics, vectorised); :mod:`.all_boxes` - ``evaluate_detections`` for the ``all_boxes`` format;
- :mod:`.files` - VOC XML (read with defusedxml), the ``VOCdevkit/VOC2007`` tree, image sets and the
  devkit's results files;
- :mod:`.from_masks` - ``detections_from_probs``: connected components of a predicted mask as boxes;
- :mod:`.oracle` - ``perturbed_oracle``: ground truth damaged in controlled ways, as detections.

:mod:`.reference` keeps py-faster-rcnn's per-detection loop (``voc_eval_loop``) to check against.
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
from .metric import Detections, box_iou, match_detections, precision_envelope, voc_ap, voc_eval
from .oracle import perturbed_oracle

__all__ = [
    "box_iou", "voc_ap", "precision_envelope", "Detections", "match_detections", "voc_eval", "evaluate_detections",
    "VOCFormatError", "file_name", "parse_annotation", "write_annotation", "write_voc_dataset", "read_image_set",
    "read_voc_annotations", "write_results_files", "read_results_file",
    "detections_from_probs", "perturbed_oracle",
]
