"""Regenerates the PIL reference files in this folder (run with Pillow >= 9).

Each NAME.ref holds what PIL gives for NAME: ImageOps.exif_transpose, then
convert("RGB"), as uint32 LE width, uint32 LE height, then the RGB bytes.
resize_FILTER.ref is src13x11.png resized to 29x7 with that filter.
"""
import os
import struct

import numpy as np
from PIL import Image, ImageOps

HERE = os.path.dirname(os.path.abspath(__file__))


def ref(name, im):
    a = np.asarray(im.convert("RGB"))
    with open(os.path.join(HERE, name + ".ref"), "wb") as f:
        f.write(struct.pack("<II", a.shape[1], a.shape[0]) + a.tobytes())


def main():
    yy, xx = np.mgrid[0:23, 0:37]
    rgb = np.stack([(xx * 7 + yy * 3) % 256, (yy * 11) % 256, ((xx // 4 + yy // 4) % 2) * 200 + 20], -1)
    rgb = rgb.astype(np.uint8)
    alpha = ((xx * 31 + yy * 17) % 256).astype(np.uint8)
    img = Image.fromarray(rgb)
    rgba = Image.fromarray(np.dstack([rgb, alpha]), "RGBA")
    files = {
        "s420.jpg": lambda p: img.save(p, quality=90, subsampling=2),
        "s422.jpg": lambda p: img.save(p, quality=90, subsampling=1),
        "s444.jpg": lambda p: img.save(p, quality=90, subsampling=0),
        "cmyk.jpg": lambda p: img.convert("CMYK").save(p, quality=90),
        "lossy.webp": lambda p: img.save(p, quality=80),
        "lossy_alpha.webp": lambda p: rgba.save(p, quality=80),
        "lossless.webp": lambda p: rgba.save(p, lossless=True),
    }
    for name, save in files.items():
        p = os.path.join(HERE, name)
        save(p)
        ref(name, ImageOps.exif_transpose(Image.open(p)))
    src = Image.fromarray(rgb[:11, :13])
    src.save(os.path.join(HERE, "src13x11.png"))
    for fname, f in [("bicubic", Image.BICUBIC), ("bilinear", Image.BILINEAR), ("lanczos", Image.LANCZOS),
                     ("box", Image.BOX), ("hamming", Image.HAMMING)]:
        ref("resize_" + fname, src.resize((29, 7), f))
        ref("resize_down_" + fname, Image.fromarray(rgb).resize((5, 17), f))


main()
