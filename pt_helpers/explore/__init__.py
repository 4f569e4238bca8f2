"""Interactive explorers (ipywidgets 8): play with what a lesson taught, one builder function each.

Each explorer keeps its computation in plain, tested functions, draws one setting with a ``..._figure``
function that returns a ``matplotlib.figure.Figure`` (a notebook shows the default view as a static figure,
readable without a kernel), and has one builder that returns the widget: controls plus an
``ipywidgets.Image`` redrawn on every change.

=================================  ===========================================  ======================
builder                            what                                         lesson
=================================  ===========================================  ======================
``conv.conv_explorer``             a kernel over an image: stride, padding,     05_cnn
                                   dilation, the output-size formula
``schedules.schedule_explorer``    learning-rate schedules and their parameters 05_cnn
``seg.segmentation_explorer``      test canvases: truth, prediction, errors,    07_unet
                                   one class highlighted with its IoU
``attention.attention_explorer``   ViT class-token attention per block and      08_vit_swin
                                   head, attention rollout; Swin's windows
                                   and shifts per block
``detection.detection_explorer``   IoU and score thresholds: TP, FP and missed  09_voc_eval
                                   boxes on a canvas, the PR curve and AP
=================================  ===========================================  ======================

Every builder returns an :class:`~.widget.ExplorerBox`, whose plain-text copy in a saved notebook says what it is.
"""

from .attention import attention_explorer
from .conv import conv_explorer
from .detection import detection_explorer
from .schedules import schedule_explorer
from .seg import segmentation_explorer
from .widget import ExplorerBox

__all__ = ["conv_explorer", "schedule_explorer", "segmentation_explorer", "attention_explorer", "detection_explorer",
           "ExplorerBox"]
