"""VOC files: annotation XML, the VOCdevkit folder tree, image sets and the devkit's results files.

Taught in notebooks/09_voc_eval.ipynb. The metric (:mod:`pt_helpers.voc.metric`) never touches a
file; these functions read and write the files around it. Layout written by
:func:`write_voc_dataset` (what ``torchvision.datasets.VOCDetection`` and the devkit expect)::

    root/VOCdevkit/VOC2007/Annotations/000000.xml          one XML per image
                          /ImageSets/Main/test.txt          one image id per line
                          /ImageSets/Main/<class>_test.txt  "id  flag": 1 present, 0 difficult only, -1 absent
                          /JPEGImages/000000.jpg

(``<class>`` in file names goes through :func:`file_name`: ``T-shirt/top`` -> ``T-shirt_top``.)

Pixel convention: VOC files number pixels from 1 and boxes include both ends (``xmax - xmin + 1``
pixels wide). :class:`pt_helpers.canvas.FashionCanvas` boxes are 0-based, so 1 is added on writing.

XML is parsed with defusedxml: entity declarations and external references are refused. No
annotation cache: parsing is fast (lesson 09 times it), and a cache keyed by a file name is how
py-faster-rcnn's ``annots.pkl`` went stale.
"""

from __future__ import annotations

import math
import os
import re
import shutil
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import defusedxml.ElementTree as SafeET
import numpy as np
from defusedxml import DefusedXmlException
from PIL import Image

from ..plot.image import to_image

__all__ = ["VOCFormatError", "file_name", "parse_annotation", "write_annotation", "write_voc_dataset", "read_image_set",
           "read_voc_annotations", "write_results_files", "read_results_file"]

_COORDS = ("xmin", "ymin", "xmax", "ymax")
_ID = re.compile(r"^[A-Za-z0-9_.\-]+$")


def file_name(classname: str) -> str:
    """A class name made safe for the per-class files' names: ``"T-shirt/top"`` -> ``"T-shirt_top"``."""
    return re.sub(r"[^A-Za-z0-9_.\-]+", "_", classname)


class VOCFormatError(ValueError):
    """A VOC file that breaks the format; the message names the file and the field."""


def _text(node: ET.Element, tag: str, path: Path, where: str) -> str:
    child = node.find(tag)
    if child is None or child.text is None or not child.text.strip():
        raise VOCFormatError(f"{path}: {where}missing or empty <{tag}>")
    return child.text.strip()


def _number(node: ET.Element, tag: str, path: Path, where: str) -> float:
    text = _text(node, tag, path, where)
    try:
        value = float(text)
    except ValueError:
        raise VOCFormatError(f"{path}: {where}<{tag}> is {text!r}, expected a number") from None
    if not math.isfinite(value):
        raise VOCFormatError(f"{path}: {where}<{tag}> is {text!r}, expected a finite number")
    return value


def _flag(node: ET.Element, tag: str, path: Path, where: str) -> bool:
    child = node.find(tag)
    if child is None:  # some VOC2012 objects have no <difficult>: the devkit reads that as 0
        return False
    text = (child.text or "").strip()
    if text not in ("0", "1"):
        raise VOCFormatError(f"{path}: {where}<{tag}> is {text!r}, expected 0 or 1")
    return text == "1"


def parse_annotation(path: str | os.PathLike) -> dict[str, Any]:
    """Read one VOC annotation file.

    Returns:
        ``{"filename": str, "size": {"width", "height", "depth"}, "objects": [{"name", "bbox": [xmin,
        ymin, xmax, ymax] floats as in the file, "difficult": bool, "truncated": bool}]}``.
    Raises:
        VOCFormatError: malformed or unsafe XML, a missing tag, a coordinate that is not a number or
            an inverted box (``xmax < xmin``), naming the file and the field.
    """
    path = Path(path)
    try:
        root = SafeET.parse(path).getroot()
    except DefusedXmlException as err:
        raise VOCFormatError(f"{path}: refused unsafe XML ({type(err).__name__}: {err})") from None
    except ET.ParseError as err:
        raise VOCFormatError(f"{path}: malformed XML ({err})") from None
    if root.tag != "annotation":
        raise VOCFormatError(f"{path}: the root element is <{root.tag}>, expected <annotation>")
    size = root.find("size")
    if size is None:
        raise VOCFormatError(f"{path}: missing <size>")
    dims = {k: _number(size, k, path, "<size>/") for k in ("width", "height")}
    dims["depth"] = _number(size, "depth", path, "<size>/") if size.find("depth") is not None else 3
    if any(v <= 0 or v != int(v) for v in dims.values()):
        raise VOCFormatError(f"{path}: <size> is {dims}, expected positive whole numbers")
    out = {"filename": _text(root, "filename", path, ""), "size": {k: int(v) for k, v in dims.items()},
           "objects": []}
    for k, node in enumerate(root.findall("object")):
        where = f"object {k} "
        name = _text(node, "name", path, where)
        where = f"object {k} ({name}) "
        box = node.find("bndbox")
        if box is None:
            raise VOCFormatError(f"{path}: {where}missing <bndbox>")
        x1, y1, x2, y2 = (_number(box, c, path, where + "<bndbox>/") for c in _COORDS)
        if x2 < x1 or y2 < y1:
            raise VOCFormatError(f"{path}: {where}<bndbox> is inverted: xmin={x1:g} xmax={x2:g} ymin={y1:g} "
                                 f"ymax={y2:g}; expected xmax >= xmin and ymax >= ymin")
        out["objects"].append({"name": name, "bbox": [x1, y1, x2, y2],
                               "difficult": _flag(node, "difficult", path, where),
                               "truncated": _flag(node, "truncated", path, where)})
    return out


def _fmt(v: float) -> str:
    return str(int(v)) if float(v).is_integer() else repr(float(v))


def write_annotation(path: str | os.PathLike, *, filename: str, size: tuple[int, int, int],
                     objects: Iterable[Mapping[str, Any]], folder: str = "VOC2007") -> Path:
    """Write one VOC annotation file.

    Args:
        path: the ``.xml`` file to write.
        filename: the image file name (``000000.jpg``).
        size: ``(width, height, depth)``.
        objects: dicts with ``name``, ``bbox`` (xmin, ymin, xmax, ymax in the file's 1-based frame),
            optional ``difficult``, ``truncated`` (bools) and ``pose``.
        folder: the ``<folder>`` text (``VOC2007``).
    Returns:
        The path written.
    """
    width, height, depth = (int(v) for v in size)
    root = ET.Element("annotation")
    ET.SubElement(root, "folder").text = folder
    ET.SubElement(root, "filename").text = filename
    sz = ET.SubElement(root, "size")
    for tag, v in (("width", width), ("height", height), ("depth", depth)):
        ET.SubElement(sz, tag).text = str(v)
    ET.SubElement(root, "segmented").text = "0"
    for k, o in enumerate(objects):
        bbox = [float(v) for v in o["bbox"]]
        if len(bbox) != 4 or not all(map(math.isfinite, bbox)) or bbox[2] < bbox[0] or bbox[3] < bbox[1]:
            raise ValueError(f"write_annotation({path}): objects[{k}]['bbox'] = {o['bbox']!r}, expected 4 finite "
                             "numbers with xmax >= xmin and ymax >= ymin")
        node = ET.SubElement(root, "object")
        ET.SubElement(node, "name").text = str(o["name"])
        ET.SubElement(node, "pose").text = str(o.get("pose", "Unspecified"))
        ET.SubElement(node, "truncated").text = str(int(bool(o.get("truncated", False))))
        ET.SubElement(node, "difficult").text = str(int(bool(o.get("difficult", False))))
        box = ET.SubElement(node, "bndbox")
        for tag, v in zip(_COORDS, bbox):
            ET.SubElement(box, tag).text = _fmt(v)
    tree = ET.ElementTree(root)
    ET.indent(tree)
    path = Path(path)
    tree.write(path, encoding="utf-8", xml_declaration=False)
    return path


def write_voc_dataset(root: str | os.PathLike, samples: Iterable[Mapping[str, Any]], year: str = "2007",
                      image_set: str = "test", *, classes: Sequence[str], overwrite: bool = False) -> Path:
    """Write samples as a VOC tree ``root/VOCdevkit/VOC<year>`` (layout in the module docstring).

    Args:
        root: the folder that will hold ``VOCdevkit`` (what ``VOCDetection(root=...)`` takes).
        samples: dicts with ``image`` ((1 or 3, H, W) float in [0, 1] or uint8), ``boxes`` ((K, 4)
            0-based inclusive pixels), ``labels`` ((K,) ints indexing ``classes``), ``difficult`` and
            ``truncated`` ((K,) bools) - e.g. a :class:`~pt_helpers.canvas.FashionCanvas`.
        year: the four digits in ``VOC<year>``; image_set: the name of the image-set file.
        classes: class names, ``classes[0]`` = background.
        overwrite: replace the ``Annotations``, ``ImageSets`` and ``JPEGImages`` folders of an existing
            ``VOC<year>`` (otherwise an existing, non-empty tree is an error: stale files from a larger
            earlier set would be left behind).
    Returns:
        The ``VOC<year>`` folder. Image ids are ``000000``, ``000001``, ... in sample order.
    """
    if not re.fullmatch(r"\d{4}", str(year)):
        raise ValueError(f"write_voc_dataset(year={year!r}): expected four digits, e.g. '2007'")
    if not _ID.match(image_set):
        raise ValueError(f"write_voc_dataset(image_set={image_set!r}): expected letters, digits, '_', '-' or '.'")
    voc = Path(root) / "VOCdevkit" / f"VOC{year}"
    existing = [voc / d for d in ("Annotations", "ImageSets", "JPEGImages")
                if (voc / d).is_dir() and any((voc / d).iterdir())]
    if existing and not overwrite:
        raise FileExistsError(f"write_voc_dataset: {voc} already holds a data set; pass overwrite=True to replace its "
                              "Annotations, ImageSets and JPEGImages")
    for d in existing:
        shutil.rmtree(d)
    dirs = {d: voc / d for d in ("Annotations", "JPEGImages", "ImageSets/Main")}
    for d in dirs.values():
        d.mkdir(parents=True, exist_ok=True)
    ids, presence = [], {name: [] for name in classes[1:]}
    for i, s in enumerate(samples):
        img_id = f"{i:06d}"
        pixels = to_image(s["image"], scale="uint8")  # (H, W) or (H, W, 3) uint8, as save_image writes it
        Image.fromarray(pixels).save(dirs["JPEGImages"] / f"{img_id}.jpg", quality=95)
        boxes = np.asarray(s["boxes"], dtype=np.float64).reshape(-1, 4)
        labels = [int(v) for v in np.asarray(s["labels"]).reshape(-1)]
        if len(labels) != len(boxes) or any(not 0 < v < len(classes) for v in labels):
            raise ValueError(f"write_voc_dataset: sample {i} has {len(boxes)} boxes and labels {labels}; expected "
                             f"one label per box in 1..{len(classes) - 1}")
        difficult = np.asarray(s.get("difficult", np.zeros(len(labels), bool))).reshape(-1).tolist()
        truncated = np.asarray(s.get("truncated", np.zeros(len(labels), bool))).reshape(-1).tolist()
        objects = [{"name": classes[v], "bbox": (b + 1).tolist(), "difficult": d, "truncated": t}
                   for v, b, d, t in zip(labels, boxes, difficult, truncated)]
        depth = 1 if pixels.ndim == 2 else pixels.shape[-1]
        write_annotation(dirs["Annotations"] / f"{img_id}.xml", filename=f"{img_id}.jpg",
                         size=(pixels.shape[1], pixels.shape[0], depth), objects=objects, folder=f"VOC{year}")
        ids.append(img_id)
        for name in presence:
            mine = [o for o in objects if o["name"] == name]
            flag = -1 if not mine else (1 if any(not o["difficult"] for o in mine) else 0)
            presence[name].append(f"{img_id} {flag:2d}")
    (dirs["ImageSets/Main"] / f"{image_set}.txt").write_text("".join(f"{i}\n" for i in ids), encoding="utf-8")
    for name, lines in presence.items():
        (dirs["ImageSets/Main"] / f"{file_name(name)}_{image_set}.txt").write_text("".join(f"{x}\n" for x in lines),
                                                                        encoding="utf-8")
    return voc


def read_image_set(path: str | os.PathLike) -> list[str]:
    """Image ids of an image-set file: ``Main/test.txt`` (``id`` lines) or ``Main/<class>_test.txt``.

    A per-class file's ``id flag`` lines (flag 1 = class present, 0 = only difficult, -1 = absent)
    list *every* image of the set: all ids are returned whatever the flag (the flag is not a filter).
    """
    path = Path(path)
    ids = []
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        parts = line.split()
        if not parts:
            continue
        if len(parts) > 2 or (len(parts) == 2 and parts[1] not in ("-1", "0", "1")) or not _ID.match(parts[0]):
            raise VOCFormatError(f"{path}:{n}: {line!r}: expected 'image_id' or 'image_id flag' with flag -1, 0 or 1")
        ids.append(parts[0])
    return ids


def read_voc_annotations(voc_dir: str | os.PathLike, image_set: str = "test") -> dict[str, dict[str, Any]]:
    """``image_id -> parse_annotation(...)`` for every id of ``voc_dir/ImageSets/Main/<image_set>.txt``."""
    voc = Path(voc_dir)
    ids = read_image_set(voc / "ImageSets" / "Main" / f"{image_set}.txt")
    return {i: parse_annotation(voc / "Annotations" / f"{i}.xml") for i in ids}


def write_results_files(all_boxes: Sequence[Sequence[Any]], image_ids: Sequence[str], classes: Sequence[str],
                        out_dir: str | os.PathLike, *, image_set: str = "test",
                        zero_based: bool = True) -> dict[str, Path]:
    """Write the devkit's per-class results files ``comp4_det_<image_set>_<class>.txt``.

    Each line is ``image_id score xmin ymin xmax ymax``. Numbers are written in full precision (the
    devkit's ``{:.3f}`` score makes ties), boxes +1 when ``zero_based`` (VOC files are 1-based),
    as py-faster-rcnn does. ``all_boxes`` as in :func:`pt_helpers.voc.evaluate_detections`.
    Returns ``{class: path}`` for the non-background classes.
    """
    if len(all_boxes) != len(classes):
        raise ValueError(f"all_boxes has {len(all_boxes)} class rows, expected {len(classes)}")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    off = 1.0 if zero_based else 0.0
    paths = {}
    for c, name in enumerate(classes[1:], start=1):
        if len(all_boxes[c]) != len(image_ids):
            raise ValueError(f"all_boxes[{c}] has {len(all_boxes[c])} image entries, expected {len(image_ids)}")
        lines = []
        for img, dets in zip(image_ids, all_boxes[c]):
            arr = np.asarray(dets, dtype=np.float64)
            if arr.size and (arr.ndim != 2 or arr.shape[1] != 5):
                raise ValueError(f"all_boxes[{c}] for image {img!r}: expected shape (#dets, 5), got {arr.shape}")
            for x1, y1, x2, y2, score in arr.reshape(-1, 5).tolist():
                lines.append(f"{img} {score!r} {x1 + off!r} {y1 + off!r} {x2 + off!r} {y2 + off!r}\n")
        paths[name] = out_dir / f"comp4_det_{image_set}_{file_name(name)}.txt"
        paths[name].write_text("".join(lines), encoding="utf-8")
    return paths


def read_results_file(path: str | os.PathLike) -> list[tuple[str, float, float, float, float, float]]:
    """Detections ``(image_id, score, xmin, ymin, xmax, ymax)`` of one devkit results file."""
    path = Path(path)
    dets = []
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        parts = line.split()
        if not parts:
            continue
        if len(parts) != 6:
            raise VOCFormatError(f"{path}:{n}: {len(parts)} fields, expected 6: image_id score xmin ymin xmax ymax")
        try:
            nums = [float(v) for v in parts[1:]]
        except ValueError:
            raise VOCFormatError(f"{path}:{n}: {line!r}: score and box must be numbers") from None
        if not all(map(math.isfinite, nums)):
            raise VOCFormatError(f"{path}:{n}: {line!r}: score and box must be finite")
        dets.append((parts[0], *nums))
    return dets
