#!/usr/bin/env python3
"""Write the benchmark's images: the ten photos shipped in data/images plus a
mirrored and a cropped copy (12 PNGs), to the folder given.

    python bench/make_images.py OUT_DIR
"""
import sys
from pathlib import Path

from PIL import Image, ImageOps

REPO = Path(__file__).resolve().parent.parent
PHOTOS = ["astronaut.png", "camera.png", "chelsea.png", "china.jpg", "coffee.png", "flower.jpg",
          "horse.png", "motorcycle_left.png", "motorcycle_right.png", "rocket.jpg"]


def main(out):
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    for name in PHOTOS:
        im = Image.open(REPO / "data" / "images" / name).convert("RGB")
        im.save(out / (Path(name).stem + ".png"))
    chelsea = Image.open(REPO / "data" / "images" / "chelsea.png").convert("RGB")
    ImageOps.mirror(chelsea).save(out / "chelsea_mirrored.png")
    rocket = Image.open(REPO / "data" / "images" / "rocket.jpg").convert("RGB")
    w, h = rocket.size
    rocket.crop((w // 4, 0, w // 4 + h, h)).save(out / "rocket_cropped.png")
    print(f"wrote {len(list(out.glob('*.png')))} images to {out}")


if __name__ == "__main__":
    main(sys.argv[1])
