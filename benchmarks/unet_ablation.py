"""Ablation for lesson 07's U-Net on FashionCanvas (issue 17): which ingredients lift test mIoU to >= 0.75.

Every row trains a base-16 U-Net with ``pt_helpers.train.fit`` (as lesson 07 does) on the lesson's data (train
canvases ``FashionCanvas(seed=0, split="train", min_items=2, max_items=5)``, val ``n=500, split="val"``, test
``n=2000, split="test"``) and is scored on the validation split; the test split is scored once per row, at the
end. Rows: the lesson's scratch baseline and each ingredient added alone (lesson 07 reads the results file and
trains its own headline recipe). Ingredients:

- ``pretrain``: the U-Net's encoder (``inc``, ``down1`` .. ``down4``) is first trained as a classifier on
  Fashion-MNIST train images 0..49,999 (the canvas train split's items; val and test items stay unseen), each
  resized to 17..39 px (the canvas item sizes) and put at a random place on a 40x40 black crop, optionally with
  a second item behind it (clutter); then loaded into the U-Net with ``load_partial`` and fine-tuned with a
  lower encoder learning rate (two parameter groups).
- ``steps``: more canvases (the generator is deterministic by seed and index: the first 6,000 canvases are the
  lesson's) and so more optimiser steps.
- ``wce``: class-weighted cross-entropy (weights ~ 1/sqrt(pixel frequency), normalised) + Dice.
- ``continue``: the baseline trained as in the lesson, then ``more_canvases`` fresh canvases (seed 1) for
  ``more_epochs`` with a second OneCycle schedule peaking at ``more_lr`` (a warm start: lesson 07's headline).
- ``--set base=24``: a wider U-Net (channels x1.5, compute x2.25 per step).

Usage::

    .venv/bin/python benchmarks/unet_ablation.py                       # every row (~30 min on 2 cores)
    .venv/bin/python benchmarks/unet_ablation.py --rows scratch +pretrain
    .venv/bin/python benchmarks/unet_ablation.py --rows +steps --set n_train=24000   # 3,000 steps
    .venv/bin/python benchmarks/unet_ablation.py --quick               # tiny data, a smoke test (~1 min)

On a machine shared with other jobs use ``--threads 1`` (and ``OMP_WAIT_POLICY=PASSIVE``): two OpenMP threads
that are descheduled spin at their barriers and waste most of their CPU time. ``--set epochs=1 pretrain_steps=400``
runs a row on a shorter schedule (its name gets the suffix); ``cpu_seconds`` (process CPU time) is the cost measure
that survives a loaded machine (single-thread here: scratch U-Net ~0.3 CPU-s per step, pretraining ~0.22).

Results: ``benchmarks/results/unet_ablation.json`` (one record per row; rows of earlier runs with other names
are kept). Seconds are wall-clock training time (pretraining included, evaluation excluded) on this machine;
its speed swings by 30 %.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
import time
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path

import torch
import torch.nn.functional as F

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from pt_helpers.callbacks import Callback  # noqa: E402
from pt_helpers.canvas import CANVAS_CLASSES, FashionCanvas  # noqa: E402
from pt_helpers.checkpoint import load_partial  # noqa: E402
from pt_helpers.data import TensorLoader, fashion_mnist_tensors  # noqa: E402
from pt_helpers.env import seed_everything  # noqa: E402
from pt_helpers.metrics import evaluate_segmentation, soft_dice_loss  # noqa: E402
from pt_helpers.models.unet import ENCODER_STAGES, UNet, UNetEncoderClassifier  # noqa: E402
from pt_helpers.train import fit  # noqa: E402

RESULTS = ROOT / "benchmarks" / "results" / "unet_ablation.json"
WATCH = ("Shirt", "Coat", "Pullover", "T-shirt/top")


@dataclass(frozen=True)
class Recipe:
    name: str
    n_train: int = 6000  # training canvases (the lesson: 6,000)
    epochs: int = 3
    batch: int = 16
    lr: float = 4e-3  # decoder (and scratch encoder) max learning rate, OneCycle
    base: int = 16
    pretrain_steps: int = 0  # classifier steps for the encoder (0 = scratch)
    pretrain_batch: int = 64
    pretrain_lr: float = 4e-3
    pretrain_crop: int = 40
    clutter: bool = True  # a second item behind the pretraining item
    encoder_lr: float = 1e-3  # max learning rate of a pretrained encoder during fine-tuning
    class_weights: bool = False
    more_canvases: int = 0  # > 0: after the schedule above, train on this many fresh canvases (another seed)
    more_epochs: int = 1  # ... for this many epochs, with a second OneCycle schedule
    more_lr: float = 2e-3  # ... peaking at this learning rate
    curve_every: int = 0  # steps between val mIoU measurements (0: none)
    notes: str = ""
    extra: dict = field(default_factory=dict)


_NOT_SETTABLE = ("name", "notes", "extra")  # Recipe fields that are labels, not settings

ROWS = [
    Recipe("scratch", notes="the lesson's baseline: base 16, 6,000 canvases, batch 16, 3 epochs, CE + Dice"),
    Recipe("+pretrain", pretrain_steps=800, curve_every=125,
           notes="encoder pretrained as a scale-augmented classifier (800 steps of 64 crops 40x40, a second item "
                 "behind), loaded with load_partial, fine-tuned at enc lr 1e-3, the lesson's schedule, CE + Dice"),
    Recipe("+pretrain-noclutter", pretrain_steps=800, clutter=False, notes="as +pretrain, one item per crop"),
    Recipe("+steps", n_train=12000, epochs=2, notes="12,000 canvases x 2 epochs: 1,500 steps instead of 1,125"),
    Recipe("+wce", class_weights=True, notes="class-weighted CE (1/sqrt frequency) + Dice"),
    Recipe("+continue", more_canvases=6000, notes="the lesson's model, then more_epochs on more_canvases fresh "
           "canvases (seed 1) with a second OneCycle peaking at more_lr: the baseline warm-started (lesson 07's "
           "headline with more_canvases=19200)"),
]


def canvas_splits(n_train: int, quick: bool):
    if quick:
        return (FashionCanvas(n=min(n_train, 300), seed=0, split="train", min_items=2, max_items=5),
                FashionCanvas(n=100, seed=0, split="val"), FashionCanvas(n=100, seed=0, split="test"))
    return (FashionCanvas(n=n_train, seed=0, split="train", min_items=2, max_items=5),
            FashionCanvas(n=500, seed=0, split="val"), FashionCanvas(n=2000, seed=0, split="test"))


class ScaledItems:
    """Batches of Fashion-MNIST items resized to 17..39 px at random places on a black ``crop`` x ``crop`` image."""

    def __init__(self, images: torch.Tensor, labels: torch.Tensor, *, crop: int, batch: int, clutter: bool,
                 mean: float, std: float, seed: int = 0) -> None:
        self.images, self.labels = images.float()[:, None], labels  # (N, 1, 28, 28) in 0..255
        self.crop, self.batch, self.clutter, self.mean, self.std = crop, batch, clutter, mean, std
        self.g = torch.Generator().manual_seed(seed)

    def _place(self, out: torch.Tensor, items: torch.Tensor) -> None:
        B, side_ = len(items), int(torch.randint(17, 40, (), generator=self.g))  # one size per batch
        resized = F.interpolate(items, size=(side_, side_), mode="bilinear", antialias=True,
                                align_corners=False).clamp(0, 255)
        lo, hi = -side_ // 4, self.crop - 3 * side_ // 4
        ys = torch.randint(lo, hi + 1, (B,), generator=self.g).tolist()
        xs = torch.randint(lo, hi + 1, (B,), generator=self.g).tolist()
        for b, (y0, x0) in enumerate(zip(ys, xs)):
            y1, x1, y2, x2 = max(y0, 0), max(x0, 0), min(y0 + side_, self.crop), min(x0 + side_, self.crop)
            patch = resized[b, 0, y1 - y0:y2 - y0, x1 - x0:x2 - x0]
            region = out[b, 0, y1:y2, x1:x2]
            region[patch > 0.5] = patch[patch > 0.5]  # paint the silhouette over what is there

    def batch_(self) -> tuple[torch.Tensor, torch.Tensor]:
        idx = torch.randint(0, len(self.images), (self.batch,), generator=self.g)
        out = torch.zeros(self.batch, 1, self.crop, self.crop)
        if self.clutter:
            other = torch.randint(0, len(self.images), (self.batch,), generator=self.g)
            self._place(out, self.images[other])
        self._place(out, self.images[idx])
        return (out / 255 - self.mean) / self.std, self.labels[idx]


def pretrain_encoder(r: Recipe, mean: float, std: float, quick: bool) -> tuple[dict, float]:
    images, labels = fashion_mnist_tensors(train=True)
    images, labels = images[:50000], labels[:50000]  # the canvas train split's items only
    clf = UNetEncoderClassifier(n_channels=1, n_classes=10, base_channels=r.base, bilinear=True)
    steps = 20 if quick else r.pretrain_steps
    opt = torch.optim.AdamW(clf.parameters(), lr=r.pretrain_lr, weight_decay=1e-4)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=r.pretrain_lr, total_steps=steps, pct_start=0.2)
    data = ScaledItems(images, labels, crop=r.pretrain_crop, batch=r.pretrain_batch, clutter=r.clutter,
                       mean=mean, std=std)
    clf.train()
    t0 = time.perf_counter()
    correct = seen = 0
    for step in range(steps):
        x, y = data.batch_()
        out = clf(x)
        loss = F.cross_entropy(out, y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        sched.step()
        if (step + 1) % 200 == 0:
            print(f"  pretrain step {step + 1}/{steps}: loss {loss.item():.3f}, {time.perf_counter() - t0:.0f} s",
                  flush=True)
        if step >= steps - 50:
            correct += int((out.argmax(1) == y).sum())
            seen += len(y)
    seconds = time.perf_counter() - t0
    print(f"  pretrain: {steps} steps, {seconds:.0f} s, train accuracy (last 50 steps) {correct / seen:.3f}",
          flush=True)
    return clf.state_dict(), seconds


def class_weight_vector(masks: torch.Tensor) -> torch.Tensor:
    freq = torch.bincount(masks.flatten(), minlength=len(CANVAS_CLASSES)).double() / masks.numel()
    w = freq.clamp_min(1e-6).rsqrt()
    return (w / (w * freq).sum()).float()  # pixel-weighted mean weight 1


class ValCurve(Callback):
    """Validation mIoU every ``every`` optimiser steps (0: never); its evaluation time is kept apart."""

    def __init__(self, val_loader, *, every: int, steps_before: int, seconds_before: float) -> None:
        self.val_loader, self.every = val_loader, every
        self.steps_before, self.seconds_before = steps_before, seconds_before  # earlier phases of the row
        self.points: list[dict] = []
        self.eval_seconds = 0.0

    def on_train_begin(self, info: dict) -> None:
        self.model, self.total = info["model"], info["epochs"] * info["steps_per_epoch"]
        self.start, self.eval_seconds = time.perf_counter(), 0.0

    def on_batch_end(self, step: int, logs: dict) -> None:
        if not self.every or ((step + 1) % self.every and step + 1 != self.total):
            return
        t0 = time.perf_counter()
        m = evaluate_segmentation(self.model, self.val_loader, num_classes=11, device="cpu")["miou"]
        self.model.train()
        self.eval_seconds += time.perf_counter() - t0
        seconds = self.seconds_before + time.perf_counter() - self.start - self.eval_seconds
        self.points.append({"step": self.steps_before + step + 1, "seconds": round(seconds, 1),
                            "val_miou": round(m, 4)})
        print(f"  step {self.steps_before + step + 1}: val mIoU {m:.4f}", flush=True)


def train_phase(model, loader, groups: list[dict], max_lr: list[float], epochs: int, loss_fn, curve: ValCurve) -> float:
    """One AdamW + OneCycle schedule with ``train.fit`` (as lesson 07 trains); seconds without curve evaluations."""
    opt = torch.optim.AdamW(groups, lr=max_lr[-1], weight_decay=1e-4)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=max_lr, total_steps=epochs * len(loader), pct_start=0.2)
    t0 = time.perf_counter()
    fit(model, loader, None, epochs=epochs, optimizer=opt, loss_fn=loss_fn, scheduler=sched,
        scheduler_interval="batch", device="cpu", callbacks=[curve], quiet=True)
    return time.perf_counter() - t0 - curve.eval_seconds


def run(r: Recipe, quick: bool) -> dict:
    print(f"== {r.name}: {r.notes}", flush=True)
    seed_everything(0)
    train_set, val_set, test_set = canvas_splits(r.n_train, quick)
    mean = (train_set.images[:6000].float() / 255).mean().item()
    std = (train_set.images[:6000].float() / 255).std().item()
    kw = dict(mean=mean, std=std)
    train_loader = TensorLoader(train_set.images, train_set.masks, batch_size=r.batch, shuffle=True,
                                drop_last=True, seed=0, **kw)
    val_loader = TensorLoader(val_set.images, val_set.masks, batch_size=250, **kw)
    test_loader = TensorLoader(test_set.images, test_set.masks, batch_size=250, **kw)
    epochs = 1 if quick else r.epochs

    seed_everything(0)
    model = UNet(n_channels=1, n_classes=11, base_channels=r.base, bilinear=True)
    pre_seconds = pre_cpu = 0.0
    if r.pretrain_steps:
        c0 = time.process_time()
        state, pre_seconds = pretrain_encoder(r, mean, std, quick)
        pre_cpu = time.process_time() - c0
        report = load_partial(model, state, require=ENCODER_STAGES)  # raises if the encoder does not fit
        print("  " + str(report).replace("\n", "\n  "), flush=True)
        enc = [p for n, p in model.named_parameters() if n.split(".")[0] in ENCODER_STAGES]
        dec = [p for n, p in model.named_parameters() if n.split(".")[0] not in ENCODER_STAGES]
        groups, max_lr = [{"params": enc}, {"params": dec}], [r.encoder_lr, r.lr]
    else:
        groups, max_lr = [{"params": list(model.parameters())}], [r.lr]
    model = model.to(memory_format=torch.channels_last)
    weight = class_weight_vector(train_set.masks) if r.class_weights else None

    def loss_fn(logits: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return F.cross_entropy(logits, y, weight=weight) + soft_dice_loss(logits, y)

    curve = ValCurve(val_loader, every=r.curve_every, steps_before=0, seconds_before=pre_seconds)
    cpu0 = time.process_time() - pre_cpu
    train_seconds = train_phase(model, train_loader, groups, max_lr, epochs, loss_fn, curve)
    step = epochs * len(train_loader)
    phase1 = None
    if r.more_canvases:  # warm start: the trained model goes on, on canvases it has never seen
        phase1 = {"val_miou": round(evaluate_segmentation(model, val_loader, num_classes=11, device="cpu")["miou"], 4),
                  "optimizer_steps": step, "train_seconds": round(train_seconds, 1)}
        print(f"  phase 1: val mIoU {phase1['val_miou']:.4f} after {step} steps, {train_seconds:.0f} s", flush=True)
        more = FashionCanvas(n=min(r.more_canvases, 300) if quick else r.more_canvases, seed=1, split="train",
                             min_items=2, max_items=5)
        more_loader = TensorLoader(more.images, more.masks, batch_size=r.batch, shuffle=True, drop_last=True,
                                   seed=1, **kw)
        curve.steps_before, curve.seconds_before = step, pre_seconds + train_seconds
        train_seconds += train_phase(model, more_loader, [{"params": list(model.parameters())}], [r.more_lr],
                                     r.more_epochs, loss_fn, curve)
        step += r.more_epochs * len(more_loader)
    seconds = pre_seconds + train_seconds
    cpu_seconds = time.process_time() - cpu0
    val = evaluate_segmentation(model, val_loader, num_classes=11, device="cpu")
    test = evaluate_segmentation(model, test_loader, num_classes=11, device="cpu")  # once, at the end
    per_class = {name: round(float(test["iou"][CANVAS_CLASSES.index(name)]), 4) for name in WATCH}
    val_class = {name: round(float(val["iou"][CANVAS_CLASSES.index(name)]), 4) for name in WATCH}
    rec = {"recipe": r.name, "notes": r.notes, "val_miou": round(val["miou"], 4), "test_miou": round(test["miou"], 4),
           "test_iou": per_class, "val_iou": val_class,
           "test_iou_all": dict(zip(CANVAS_CLASSES, [round(float(v), 4) for v in test["iou"]])),
           "optimizer_steps": step, "phase1": phase1,
           "pretrain_steps": (20 if quick else r.pretrain_steps) if r.pretrain_steps else 0,
           "train_seconds": round(seconds, 1), "cpu_seconds": round(cpu_seconds, 1),
           "pretrain_seconds": round(pre_seconds, 1),
           "config": {k: v for k, v in asdict(r).items() if k not in _NOT_SETTABLE},
           "curve": curve.points, "quick": quick, "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
           "torch": torch.__version__, "threads": torch.get_num_threads(),
           "command": " ".join([Path(sys.executable).name, *sys.argv])}
    print(f"  -> val mIoU {rec['val_miou']:.4f} | test mIoU {rec['test_miou']:.4f} | {per_class} | "
          f"{step} steps, {seconds:.0f} s", flush=True)
    return rec


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--rows", nargs="*", help=f"recipes to run (default: all of {[r.name for r in ROWS]})")
    ap.add_argument("--quick", action="store_true", help="tiny data and 1 epoch: a smoke test, not a result")
    ap.add_argument("--out", type=Path, default=RESULTS)
    ap.add_argument("--threads", type=int, default=2, help="torch threads (1 on a machine shared with other jobs)")
    ap.add_argument("--set", nargs="*", default=[], metavar="FIELD=VALUE",
                    help="override recipe fields for every row run, e.g. --set encoder_lr=2e-3 (name gets a suffix)")
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    by_name = {r.name: r for r in ROWS}
    names = args.rows or list(by_name)
    unknown = [n for n in names if n not in by_name]
    if unknown:
        ap.error(f"unknown rows {unknown}; known: {list(by_name)}")
    overrides = {}
    for item in args.set:
        key, _, value = item.partition("=")
        settable = [f.name for f in fields(Recipe) if f.name not in _NOT_SETTABLE]
        if key not in settable or not value:
            ap.error(f"--set {item!r}: expected FIELD=VALUE with FIELD one of {settable}")
        overrides[key] = type(getattr(ROWS[0], key))(value) if not isinstance(getattr(ROWS[0], key), bool) \
            else value.lower() in ("1", "true", "yes")
    suffix = "".join(f" [{k}={v}]" for k, v in overrides.items())
    for name in names:
        rec = run(replace(by_name[name], name=name + suffix, **overrides), args.quick)
        if args.quick:
            continue
        old = json.loads(args.out.read_text()) if args.out.exists() else {"rows": []}  # read late: runs may share it
        old["rows"] = [row for row in old["rows"] if row["recipe"] != rec["recipe"]] + [rec]
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(old, indent=1) + "\n")
    print(f"wrote {args.out}" if not args.quick else "quick mode: nothing written")


if __name__ == "__main__":
    main()
