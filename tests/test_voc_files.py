"""pt_helpers.voc files: XML, the VOCdevkit tree (read back by torchvision), image sets, results files."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torchvision

from pt_helpers.voc import (
    VOCFormatError,
    detections_from_probs,
    evaluate_detections,
    file_name,
    parse_annotation,
    read_image_set,
    read_results_file,
    read_voc_annotations,
    voc_eval,
    write_annotation,
    write_results_files,
    write_voc_dataset,
)

GOOD = """<annotation>
  <folder>VOC2007</folder>
  <filename>000001.jpg</filename>
  <size><width>353</width><height>500</height><depth>3</depth></size>
  <object>
    <name>dog</name><pose>Left</pose><truncated>1</truncated><difficult>0</difficult>
    <bndbox><xmin>48</xmin><ymin>240</ymin><xmax>195</xmax><ymax>371</ymax></bndbox>
  </object>
  <object>
    <name>person</name><pose>Left</pose><truncated>1</truncated><difficult>1</difficult>
    <bndbox><xmin>8</xmin><ymin>12.5</ymin><xmax>352</xmax><ymax>498</ymax></bndbox>
  </object>
</annotation>
"""


def write(tmp_path: Path, text: str, name: str = "a.xml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_parse_annotation_reads_every_field(tmp_path):
    ann = parse_annotation(write(tmp_path, GOOD))
    assert ann["filename"] == "000001.jpg"
    assert ann["size"] == {"width": 353, "height": 500, "depth": 3}
    assert ann["objects"] == [
        {"name": "dog", "bbox": [48.0, 240.0, 195.0, 371.0], "difficult": False, "truncated": True},
        {"name": "person", "bbox": [8.0, 12.5, 352.0, 498.0], "difficult": True, "truncated": True},
    ]


def test_parse_annotation_defaults_missing_flags_to_zero(tmp_path):
    text = GOOD.replace("<truncated>1</truncated><difficult>0</difficult>", "")
    ann = parse_annotation(write(tmp_path, text))
    assert ann["objects"][0]["difficult"] is False and ann["objects"][0]["truncated"] is False


@pytest.mark.parametrize("old, new, field", [
    ("</annotation>", "", "malformed XML"),
    ("<filename>000001.jpg</filename>", "", "<filename>"),
    ("<width>353</width>", "", "<size>/missing or empty <width>"),
    ("<width>353</width>", "<width>-4</width>", "<size>"),
    ("<name>dog</name>", "", "object 0 missing or empty <name>"),
    ("<bndbox><xmin>48</xmin><ymin>240</ymin><xmax>195</xmax><ymax>371</ymax></bndbox>", "",
     "object 0 \\(dog\\) missing <bndbox>"),
    ("<xmin>48</xmin>", "", "object 0 \\(dog\\) <bndbox>/missing or empty <xmin>"),
    ("<xmin>48</xmin>", "<xmin>forty</xmin>", "object 0 \\(dog\\) <bndbox>/<xmin> is 'forty', expected a number"),
    ("<ymax>498</ymax>", "<ymax>nan</ymax>", "object 1 \\(person\\) <bndbox>/<ymax> is 'nan', expected a finite"),
    ("<xmin>48</xmin>", "<xmin>300</xmin>", "object 0 \\(dog\\) <bndbox> is inverted"),
    ("<difficult>1</difficult>", "<difficult>yes</difficult>", "object 1 \\(person\\) <difficult> is 'yes'"),
])
def test_parse_annotation_errors_name_file_and_field(tmp_path, old, new, field):
    assert old in GOOD
    path = write(tmp_path, GOOD.replace(old, new, 1), "broken_000001.xml")
    with pytest.raises(VOCFormatError, match=field) as info:
        parse_annotation(path)
    assert "broken_000001.xml" in str(info.value)


def test_parse_annotation_wrong_root(tmp_path):
    with pytest.raises(VOCFormatError, match="<annotations>, expected <annotation>"):
        parse_annotation(write(tmp_path, "<annotations/>"))


@pytest.mark.parametrize("doc", [
    # "billion laughs": nested entity expansion
    '<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;">]>'
    "<annotation><filename>&lol2;</filename></annotation>",
    # external entity: would read a local file into the annotation
    '<?xml version="1.0"?><!DOCTYPE a [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>'
    "<annotation><filename>&xxe;</filename></annotation>",
])
def test_parse_annotation_refuses_entities(tmp_path, doc):
    with pytest.raises(VOCFormatError, match="unsafe XML.*Entities"):
        parse_annotation(write(tmp_path, doc))


def test_write_then_parse_round_trip(tmp_path):
    objects = [{"name": "cat", "bbox": [1, 2, 30, 40], "difficult": True, "truncated": False},
               {"name": "A&B <shirt>", "bbox": [5.5, 6, 7, 8], "difficult": False, "truncated": True}]
    path = write_annotation(tmp_path / "x.xml", filename="x.jpg", size=(64, 48, 1), objects=objects)
    ann = parse_annotation(path)
    assert ann["size"] == {"width": 64, "height": 48, "depth": 1}
    assert [o["name"] for o in ann["objects"]] == ["cat", "A&B <shirt>"]
    assert [o["bbox"] for o in ann["objects"]] == [[1, 2, 30, 40], [5.5, 6, 7, 8]]
    assert [(o["difficult"], o["truncated"]) for o in ann["objects"]] == [(True, False), (False, True)]


def test_write_annotation_rejects_inverted_box(tmp_path):
    with pytest.raises(ValueError, match=r"objects\[0\]\['bbox'\]"):
        write_annotation(tmp_path / "x.xml", filename="x.jpg", size=(9, 9, 1),
                         objects=[{"name": "cat", "bbox": [5, 0, 1, 1]}])


@pytest.fixture(scope="module")
def canvas():
    from pt_helpers.canvas import FashionCanvas
    return FashionCanvas(n=12, split="test", seed=5)


@pytest.fixture(scope="module")
def voc_tree(canvas, tmp_path_factory):
    from pt_helpers.canvas import CANVAS_CLASSES
    root = tmp_path_factory.mktemp("voc")
    return root, write_voc_dataset(root, canvas, classes=CANVAS_CLASSES)


def test_voc_tree_layout(voc_tree, canvas):
    root, voc = voc_tree
    assert voc == root / "VOCdevkit" / "VOC2007"
    ids = read_image_set(voc / "ImageSets" / "Main" / "test.txt")
    assert ids == [f"{i:06d}" for i in range(len(canvas))]
    assert sorted(p.name for p in (voc / "JPEGImages").iterdir()) == [f"{i}.jpg" for i in ids]
    assert sorted(p.name for p in (voc / "Annotations").iterdir()) == [f"{i}.xml" for i in ids]


def test_torchvision_vocdetection_reads_the_tree(voc_tree, canvas):
    from pt_helpers.canvas import CANVAS_CLASSES
    root, _ = voc_tree
    ds = torchvision.datasets.VOCDetection(str(root), year="2007", image_set="test", download=False)
    assert len(ds) == len(canvas)
    for i in range(len(canvas)):
        image, target = ds[i]
        assert image.size == (canvas.size, canvas.size)
        pixels = np.asarray(image.convert("L"), dtype=np.float64)
        assert np.abs(pixels - canvas.images[i, 0].numpy()).mean() < 3, "JPEG keeps the image (lossy, q=95)"
        objs = target["annotation"].get("object", [])
        assert len(objs) == len(canvas.labels[i])
        for o, box, label, hard in zip(objs, canvas.boxes[i], canvas.labels[i], canvas.difficult[i]):
            assert o["name"] == CANVAS_CLASSES[int(label)]
            got = [float(o["bndbox"][k]) for k in ("xmin", "ymin", "xmax", "ymax")]
            assert got == (box + 1).tolist(), "VOC files are 1-based"
            assert o["difficult"] == str(int(hard))
    assert sum(len(x) for x in canvas.labels) > 10


def test_per_class_image_sets_flag_presence(voc_tree, canvas):
    from pt_helpers.canvas import CANVAS_CLASSES
    _, voc = voc_tree
    anns = read_voc_annotations(voc)
    for name in CANVAS_CLASSES[1:]:
        path = voc / "ImageSets" / "Main" / f"{file_name(name)}_test.txt"
        lines = path.read_text().splitlines()
        assert read_image_set(path) == list(anns)
        for line in lines:
            img, flag = line.split()
            mine = [o for o in anns[img]["objects"] if o["name"] == name]
            want = -1 if not mine else (1 if any(not o["difficult"] for o in mine) else 0)
            assert int(flag) == want


def test_write_voc_dataset_other_year_and_bad_arguments(tmp_path, canvas):
    from pt_helpers.canvas import CANVAS_CLASSES
    voc = write_voc_dataset(tmp_path, [canvas[0]], year="2012", image_set="val", classes=CANVAS_CLASSES)
    assert voc.name == "VOC2012" and (voc / "ImageSets" / "Main" / "val.txt").is_file()
    assert len(torchvision.datasets.VOCDetection(str(tmp_path), year="2012", image_set="val")) == 1
    with pytest.raises(ValueError, match="year='07'"):
        write_voc_dataset(tmp_path, [canvas[0]], year="07", classes=CANVAS_CLASSES)
    with pytest.raises(ValueError, match="image_set='../x'"):
        write_voc_dataset(tmp_path, [canvas[0]], image_set="../x", classes=CANVAS_CLASSES)
    bad = dict(canvas[0], labels=canvas[0]["labels"] * 0)
    with pytest.raises(ValueError, match="sample 0"):
        write_voc_dataset(tmp_path, [bad], classes=CANVAS_CLASSES)


def test_write_voc_dataset_refuses_to_mix_with_an_existing_tree(tmp_path, canvas):
    from pt_helpers.canvas import CANVAS_CLASSES
    voc = write_voc_dataset(tmp_path, [canvas[i] for i in range(3)], classes=CANVAS_CLASSES)
    with pytest.raises(FileExistsError, match="overwrite=True"):
        write_voc_dataset(tmp_path, [canvas[0]], classes=CANVAS_CLASSES)
    write_voc_dataset(tmp_path, [canvas[0]], classes=CANVAS_CLASSES, overwrite=True)
    assert sorted(p.name for p in (voc / "Annotations").iterdir()) == ["000000.xml"], "no stale files left"
    assert read_image_set(voc / "ImageSets" / "Main" / "test.txt") == ["000000"]


@pytest.mark.parametrize("line", ["000001 2", "000001 1 extra", "bad/id"])
def test_read_image_set_rejects_malformed_lines(tmp_path, line):
    path = write(tmp_path, f"000000\n{line}\n", "test.txt")
    with pytest.raises(VOCFormatError, match=r"test.txt:2"):
        read_image_set(path)


def test_read_image_set_per_class_keeps_every_flag(tmp_path):
    path = write(tmp_path, "000000 -1\n000001  1\n000002  0\n", "cat_test.txt")
    assert read_image_set(path) == ["000000", "000001", "000002"]


# --- results files ------------------------------------------------------------------------------------

def _random_all_boxes(rng, image_ids, n_classes):
    all_boxes = [[[] for _ in image_ids] for _ in range(n_classes)]
    for c in range(1, n_classes):
        for i in range(len(image_ids)):
            k = rng.integers(0, 4)
            xy = rng.uniform(0, 40, size=(k, 2))
            rows = np.column_stack([xy, xy + rng.uniform(1, 20, size=(k, 2)), rng.random(k)])
            all_boxes[c][i] = rows.astype(np.float32)
    return all_boxes


def test_results_files_round_trip_and_evaluate_the_same(tmp_path, voc_tree):
    from pt_helpers.canvas import CANVAS_CLASSES
    _, voc = voc_tree
    anns = read_voc_annotations(voc)
    image_ids = list(anns)
    all_boxes = _random_all_boxes(np.random.default_rng(0), image_ids, len(CANVAS_CLASSES))
    paths = write_results_files(all_boxes, image_ids, CANVAS_CLASSES, tmp_path / "results")
    assert set(paths) == set(CANVAS_CLASSES[1:])
    assert paths["Trouser"].name == "comp4_det_test_Trouser.txt"
    assert paths["T-shirt/top"].name == "comp4_det_test_T-shirt_top.txt", "'/' cannot be in a file name"
    res = evaluate_detections(all_boxes, image_ids, anns, CANVAS_CLASSES, use_07_metric=True)
    for name, path in paths.items():
        dets = read_results_file(path)
        assert len(dets) == res["n_det"][name]
        if dets:
            img, score, *box = dets[0]
            i = image_ids.index(img)
            row = np.asarray(all_boxes[CANVAS_CLASSES.index(name)][i], dtype=np.float64)[0]
            assert score == row[4] and box == (row[:4] + 1).tolist(), "full precision, +1 for the 1-based files"
        _, _, ap = voc_eval(dets, anns, name, use_07_metric=True)
        assert ap == res["ap"][name] or (np.isnan(ap) and np.isnan(res["ap"][name]))


@pytest.mark.parametrize("line, what", [
    ("000001 0.9 1 2 3", "5 fields, expected 6"),
    ("000001 high 1 2 3 4", "must be numbers"),
    ("000001 0.9 1 2 inf 4", "must be finite"),
])
def test_read_results_file_errors_name_file_and_line(tmp_path, line, what):
    path = write(tmp_path, f"000000 0.5 1 2 3 4\n{line}\n", "comp4_det_test_cat.txt")
    with pytest.raises(VOCFormatError, match=f"comp4_det_test_cat.txt:2: .*{what}"):
        read_results_file(path)


# --- boxes from masks -----------------------------------------------------------------------------------

def test_detections_from_probs_by_hand():
    C, H, W = 3, 12, 16
    probs = np.zeros((C, H, W))
    probs[0] = 1.0
    # class 1: two separate blobs; class 2: one blob touching class 1's second blob; a 2-pixel speck of 2
    for c, (y1, y2, x1, x2), p in [(1, (1, 3, 1, 4), 0.8), (1, (6, 9, 2, 5), 0.6), (2, (6, 9, 6, 10), 0.9),
                                   (2, (0, 0, 14, 15), 0.7)]:
        probs[:, y1:y2 + 1, x1:x2 + 1] = (1 - p) / (C - 1)
        probs[c, y1:y2 + 1, x1:x2 + 1] = p
    probs[1, 1, 1] = 0.9  # one pixel more confident: the score is the component's mean
    probs[0, 1, 1] = 0.05
    probs[2, 1, 1] = 0.05
    dets = detections_from_probs(probs, min_pixels=3)
    assert len(dets) == 3 and dets[0].shape == (0, 5)
    want1 = sorted([[1, 1, 4, 3, (0.8 * 11 + 0.9) / 12], [2, 6, 5, 9, 0.6]])
    np.testing.assert_allclose(sorted(dets[1].tolist()), want1)
    np.testing.assert_allclose(dets[2], [[6, 6, 10, 9, 0.9]])  # the 2-pixel speck is dropped
    assert len(detections_from_probs(probs, min_pixels=1)[2]) == 2


def test_detections_from_probs_connectivity_and_errors():
    probs = np.zeros((2, 4, 4))
    probs[0] = 1
    for y, x in [(0, 0), (1, 1)]:  # diagonal neighbours
        probs[:, y, x] = [0, 1]
    assert len(detections_from_probs(probs, min_pixels=1, connectivity=2)[1]) == 1
    assert len(detections_from_probs(probs, min_pixels=1, connectivity=1)[1]) == 2
    with pytest.raises(ValueError, match="\\(C, H, W\\)"):
        detections_from_probs(probs[0])
    with pytest.raises(ValueError, match="connectivity"):
        detections_from_probs(probs, connectivity=3)
