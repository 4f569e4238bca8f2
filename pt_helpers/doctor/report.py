"""The doctor's report as a compact, readable table (see :mod:`pt_helpers.doctor`).

Taught in notebooks/00_setup.ipynb. Pure formatting: a report dict in, text out.
"""

from __future__ import annotations

import textwrap
from typing import Any

__all__ = ["rows", "format_report"]

WIDTH = 110


def _gpu_present(rep: dict[str, Any]) -> bool:
    return bool(rep.get("cuda", {}).get("available") or rep.get("nvidia_smi", {}).get("found"))


_LEVEL = {"ok": "ok", "info": "info", "warn": "WARN", "fail": "FAIL"}


def _system_rows(rep: dict[str, Any]) -> list[tuple[str, str, str]]:
    py, system = rep["python"], rep["system"]
    found = system["findings"]
    py_finding = next(f for f in found if f["topic"] == "Python")
    where = ", ".join(t for t in (py["executable"], py["platform"]) if t)
    value = f"{py['version']} ({where})" if py_finding["status"] == "ok" else py_finding["message"]
    out = [("python", _LEVEL[py_finding["status"]], value)]
    out += [(f["topic"] if f["topic"] == "system" else f"  {f['topic']}", _LEVEL[f["status"]], f["message"])
            for f in found if f["topic"] != "Python"]
    return out


def _torch_rows(rep: dict[str, Any]) -> list[tuple[str, str, str]]:
    t, tv = rep["torch"], rep["torchvision"]
    if not t["ok"]:
        return [("torch", "FAIL", f"does not import: {t['error']}")]
    build = f"CUDA build {t['cuda_build']}" if t["cuda_build"] else "CPU-only build"
    out = [("torch", "ok", f"{t['version']} ({build}" + (f", cuDNN {t['cudnn_text']})" if t["cudnn_text"] else ")"))]
    if tv["ok"]:
        out.append(("torchvision", "ok", f"{tv['version']}: compiled ops work (torchvision.ops.nms ran)"))
    else:
        out.append(("torchvision", "FAIL", f"{tv.get('version') or 'not installed'}: {tv['error']}"))
        if tv.get("diagnosis"):
            out.append(("  diagnosis", "", tv["diagnosis"]))
    cuda = rep["cuda"]
    if cuda["available"]:
        out.append(("CUDA", "ok", f"available to torch, {cuda['device_count']} device(s)"))
        out += [(f"  GPU {d['index']}", "", f"{d['name']}, compute capability {d['capability']}")
                for d in cuda["devices"]]
    else:
        out.append(("CUDA", "info", f"not available to torch ({cuda['device_count']} devices)"
                    + ("; Apple MPS is available" if cuda.get("mps") else "")))
    dev = rep["device"]
    out.append(("device", "ok", f"{dev['device']}: a 2x2 matmul gives the right answer") if dev["ok"]
               else ("device", "FAIL", dev["error"]))
    return out


def _smi_rows(rep: dict[str, Any]) -> list[tuple[str, str, str]]:
    smi = rep["nvidia_smi"]
    if not smi["found"]:
        return [("nvidia-smi", "info", "not on PATH (no NVIDIA driver installed here)")]
    if smi.get("error"):
        return [("nvidia-smi", "WARN", f"found but failed: {smi['error']}")]
    gpus = "; ".join(f"{g.get('name')} ({g.get('memory')}, driver {g.get('driver')})" for g in smi["gpus"])
    return [("nvidia-smi", "ok", f"driver supports CUDA up to {smi.get('driver_cuda')}; {gpus or 'no GPU listed'}")]


def _ort_rows(rep: dict[str, Any]) -> list[tuple[str, str, str]]:
    ort = rep["onnxruntime"]
    if not ort["installed"]:
        return [("onnxruntime", "info", "not installed")]
    if "version" not in ort:
        return [("onnxruntime", "WARN", f"does not import: {ort['error']}")]
    built = f", built for CUDA {ort['build_cuda']}" if ort.get("build_cuda") else ""
    out = [("onnxruntime", "ok", f"{ort['version']} ({ort.get('package') or 'onnxruntime'}{built})"),
           ("  listed", "", ", ".join(ort["listed"])),
           ("  initialise", "ok" if ort["working"] else "WARN", ", ".join(ort["working"]) or "none")]
    if ort.get("error"):
        out.append(("  test model", "WARN", ort["error"]))
    level = "WARN" if _gpu_present(rep) else "info"
    for provider, why in ort["failed"].items():
        name = f"  {provider.replace('ExecutionProvider', ' EP')}"
        out.append((name, level, f"listed but does not initialise: {why}"))
    trt = rep["tensorrt"]
    if not trt["installed"]:
        out.append(("TensorRT", "info", "not installed (import tensorrt failed)"))
    else:
        out.append(("TensorRT", "ok" if "version" in trt else "WARN", trt.get("version") or trt.get("error", "")))
    return out


def rows(rep: dict[str, Any]) -> list[tuple[str, str, str]]:
    """The report as ``(component, status, value)`` rows; status is ok / info / WARN / FAIL or blank."""
    out = _system_rows(rep) + _torch_rows(rep) + _smi_rows(rep) + _ort_rows(rep)
    pk = rep["packages"]
    missing = [k for k, v in pk.items() if v is None]
    listed = ", ".join(f"{k} {v}" for k, v in pk.items() if v)
    if missing:
        listed += f"; missing: {', '.join(missing)}"
    out.append(("packages", "WARN" if missing else "ok", listed))
    data = rep["data"]
    missing_data = data.get("error") or "not found yet (lesson 03 shows the four ways to get it)"
    out.append(("Fashion-MNIST", "ok", f"{data['path']} [{data['source']}]") if data["found"] else
               ("Fashion-MNIST", "info", missing_data))
    tables = "installed set vs pt_helpers.doctor.compat (ORT through 1.31, torch through 2.14)"
    out.append(("compatibility", "", tables))
    out += [(f"  {f['topic']}", _LEVEL[f["status"]], f["message"]) for f in rep["compat"]]
    if rep["usable"]:
        out.append(("verdict", "ok", "usable: the course runs here (exit code 0)"))
    else:
        out.append(("verdict", "FAIL", "not usable (exit code 1): " + " | ".join(rep["problems"])))
    return out


def format_report(rep: dict[str, Any]) -> str:
    """A compact table: one line per component (long values wrap under the value column)."""
    table = rows(rep)
    w1 = max(len(r[0]) for r in table)
    lead = w1 + 2 + 4 + 2
    lines = ["PyTorch Workbook doctor (python -m pt_helpers.doctor): paste this into bug reports"]
    for name, status, value in table:
        lines.append(textwrap.fill(value, width=WIDTH, initial_indent=f"{name:<{w1}}  {status:<4}  ",
                                   subsequent_indent=" " * lead, break_on_hyphens=False, break_long_words=False))
    return "\n".join(lines)
