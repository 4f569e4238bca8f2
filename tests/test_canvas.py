"""FashionCanvas: determinism, mask/box consistency, occlusion, centre labels, balance, no leakage."""

from __future__ import annotations

import pytest
import torch

from pt_helpers.canvas import CANVAS_CLASSES, CENTRE_CLASSES, FashionCanvas
from pt_helpers.data import fashion_mnist_tensors


@pytest.fixture(scope="module")
def train_canvas() -> FashionCanvas:
    return FashionCanvas(n=400, seed=3, split="train")


def test_names():
    assert CANVAS_CLASSES[0] == "background" and len(CANVAS_CLASSES) == 11
    assert len(CENTRE_CLASSES) == 3


def test_shapes_and_dtypes(train_canvas):
    c = train_canvas
    assert c.images.shape == (400, 1, 64, 64) and c.images.dtype == torch.uint8
    assert c.masks.shape == (400, 64, 64) and c.masks.dtype == torch.int64
    assert c.centre_labels.shape == (400,) and c.centre_labels.dtype == torch.int64
    item = c[5]
    assert item["image"].shape == (1, 64, 64) and item["image"].dtype == torch.float32
    assert 0 <= item["image"].min() and item["image"].max() <= 1
    assert item["boxes"].shape == (len(item["labels"]), 4)
    assert len(c) == 400


def test_deterministic_by_seed():
    a, b = FashionCanvas(n=30, seed=7), FashionCanvas(n=30, seed=7)
    c = FashionCanvas(n=30, seed=8)
    assert torch.equal(a.images, b.images) and torch.equal(a.masks, b.masks)
    assert all(torch.equal(x, y) for x, y in zip(a.boxes, b.boxes))
    assert not torch.equal(a.images, c.images)


def test_prefix_stable_when_n_grows():
    """Canvas i does not depend on n: a bigger set extends a smaller one."""
    small, big = FashionCanvas(n=10, seed=1), FashionCanvas(n=25, seed=1)
    assert torch.equal(small.images, big.images[:10])


def test_item_counts_within_bounds(train_canvas):
    counts = torch.tensor([len(lab) for lab in train_canvas.labels])
    assert counts.max() <= 4 and counts.min() >= 0
    c1 = FashionCanvas(n=100, seed=2, min_items=1)
    assert min(len(lab) for lab in c1.labels) >= 1


def test_mask_matches_boxes_and_labels(train_canvas):
    c = train_canvas
    for i in range(len(c)):
        mask, boxes, labels, inst = c.masks[i], c.boxes[i], c.labels[i], c.instances[i]
        assert set(mask.unique().tolist()) <= set([0] + labels.tolist())
        # every non-background pixel belongs to exactly one listed item, and boxes are tight around it
        assert torch.equal(mask > 0, inst > 0)
        for k, (box, lab) in enumerate(zip(boxes, labels)):
            ys, xs = torch.nonzero(inst == k + 1, as_tuple=True)
            assert len(ys) > 0, "fully occluded items must be dropped"
            assert box.tolist() == [xs.min().item(), ys.min().item(), xs.max().item(), ys.max().item()]
            assert (mask[ys, xs] == lab).all()
        # image is non-zero only where some item is (background stays black)
        assert (c.images[i, 0][mask == 0] == 0).all()


def test_later_items_occlude_earlier(train_canvas):
    """Re-painting the items in order reproduces the instance map: later ones on top."""
    c = train_canvas
    found_overlap = False
    for i in range(len(c)):
        sil = c.silhouettes(i)  # full-canvas bool masks of the listed items, in paint order
        if len(sil) < 2:
            continue
        painted = torch.zeros_like(c.instances[i])
        for k, s in enumerate(sil):
            painted[s] = k + 1
        assert torch.equal(painted, c.instances[i])
        found_overlap |= bool((sil[0] & sil[1]).any())
    assert found_overlap, "the generator should produce some overlapping items"


def test_centre_labels_follow_definition(train_canvas):
    c = train_canvas
    h = 64 // 2
    for i in range(len(c)):
        covers = bool((c.masks[i, h - 1:h + 1, h - 1:h + 1] > 0).any())
        present = len(c.labels[i]) > 0
        want = 0 if covers else (1 if present else 2)
        assert c.centre_labels[i].item() == want


def test_centre_classes_all_present_and_item_classes_balanced():
    c = FashionCanvas(n=1500, seed=0)
    counts = torch.bincount(c.centre_labels, minlength=3)
    assert (counts > 0.1 * len(c)).all(), counts
    labels = torch.cat(c.labels)
    per_class = torch.bincount(labels, minlength=11)[1:].float()
    assert per_class.min() > 0.7 * per_class.mean(), per_class  # uniform sampling of items


def test_flags_difficult_and_truncated(train_canvas):
    c = train_canvas
    diff = torch.cat(c.difficult)
    trunc = torch.cat(c.truncated)
    assert diff.dtype == torch.bool and trunc.dtype == torch.bool
    assert 0 < trunc.float().mean() < 0.5
    for i in range(len(c)):
        for k, box in enumerate(c.boxes[i]):
            touches_edge = box[0] == 0 or box[1] == 0 or box[2] == 63 or box[3] == 63
            if c.truncated[i][k]:
                assert touches_edge


def test_no_training_item_leaks_into_test_canvases():
    test = FashionCanvas(n=300, seed=0, split="test")
    val = FashionCanvas(n=300, seed=0, split="val")
    train = FashionCanvas(n=300, seed=0, split="train")
    assert all(s.max() < 10000 for s in test.sources if len(s))
    assert all(s.min() >= 50000 for s in val.sources if len(s))
    assert all(s.max() < 50000 for s in train.sources if len(s))
    # and pixel-level: every test item's source really comes from the test split
    test_images, test_labels = fashion_mnist_tensors(train=False)
    for i in range(20):
        for src, lab in zip(test.sources[i], test.labels[i]):
            assert test_labels[src].item() + 1 == lab.item()
    assert test_images.shape[0] == 10000


def test_bad_arguments():
    with pytest.raises(ValueError, match="split"):
        FashionCanvas(n=5, split="validation")
    with pytest.raises(ValueError, match="min_items"):
        FashionCanvas(n=5, min_items=3, max_items=2)
    with pytest.raises(ValueError, match="size"):
        FashionCanvas(n=5, size=16)
    with pytest.raises(ValueError, match="n="):
        FashionCanvas(n=0)


def test_generation_is_fast_enough():
    import time

    t = time.perf_counter()
    FashionCanvas(n=2000, seed=5)
    assert time.perf_counter() - t < 20
