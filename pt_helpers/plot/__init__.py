"""Every figure of the course, and the one tensor-to-image converter they share.

Figures are built with the object-oriented API (``Figure()``, not ``pyplot``): each function returns a
``matplotlib.figure.Figure`` and touches no global state, so a notebook shows a figure exactly once, when
it is the last expression of a cell (or passed to ``display``).

==================  ==========================================================  ==========================
module              what                                                        taught in
==================  ==========================================================  ==========================
``plot.image``      :func:`to_image` (tensor -> image array), :func:`to_numpy`  03_data (figures, visdom,
                                                                                VOC JPEG files use it)
``plot.basic``      :func:`image_grid`, :func:`curves`, :func:`bar_chart`       03_data, 04_mlp
``plot.seg``        coloured masks over images, confusion heat map              07_unet
``plot.voc``        boxes on images, IoU on a pixel grid, PR curves, AP bars    09_voc_eval
==================  ==========================================================  ==========================

``from pt_helpers.plot import image_grid`` works as before; the lesson-specific figures are imported
from their module (``from pt_helpers.plot.seg import mask_overlays``).
"""

from .basic import bar_chart, curves, image_grid
from .image import to_image, to_numpy

__all__ = ["image_grid", "curves", "bar_chart", "to_image", "to_numpy"]
