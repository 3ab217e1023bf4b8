"""Writes the `decode` target's seed files into OUT_DIR (scripts/fuzz runs it).

The real files first: ../shared/testdata's PNGs and DICOMs, and pydicom's own test
files (every transfer syntax, bit depth and photometric it ships). Then small images in
every raster format the decoder reads (PNG at 1/8/16 bits, gray/RGB/alpha/palette,
JPEG, BMP, GIF, TIFF, WebP), made with Pillow from the test PNGs: a fuzzer mutates a
4 KB file hundreds of times faster than a 400 KB one, and reaches the same parsers.

Usage: python decode_seeds.py TESTDATA_DIR OUT_DIR [MAX_BYTES]
"""

import io
import os
import shutil
import sys


def main():
    testdata, out = sys.argv[1], sys.argv[2]
    max_bytes = int(sys.argv[3]) if len(sys.argv) > 3 else 1 << 20
    os.makedirs(out, exist_ok=True)
    written = 0

    def keep(path, name):
        nonlocal written
        if os.path.getsize(path) <= max_bytes:
            shutil.copyfile(path, os.path.join(out, name))
            written += 1

    pngs = []
    for root, _, files in os.walk(testdata):
        for f in sorted(files):
            if f.lower().endswith((".png", ".dcm")):
                keep(os.path.join(root, f), "testdata-" + f)
                if f.endswith(".png"):
                    pngs.append(os.path.join(root, f))

    try:
        import pydicom.data

        base = os.path.join(os.path.dirname(pydicom.data.__file__), "test_files")
        for root, _, files in os.walk(base):
            for f in sorted(files):
                path = os.path.join(root, f)
                if f.endswith((".txt", ".json", ".dump", ".icc", ".gz", ".py")):
                    continue
                with open(path, "rb") as fh:
                    head = fh.read(132)
                # DICOM with its preamble, or a bare data set (group 0002/0008 first).
                if head[128:132] == b"DICM" or head[:2] in (b"\x02\x00", b"\x08\x00"):
                    keep(path, "pydicom-" + os.path.relpath(path, base).replace(os.sep, "_"))
    except ImportError:
        print("decode_seeds: pydicom not found, its test files are left out", file=sys.stderr)

    try:
        from PIL import Image
    except ImportError:
        print("decode_seeds: Pillow not found, no small raster seeds", file=sys.stderr)
        pngs = []
    for path in pngs:
        stem = os.path.splitext(os.path.basename(path))[0]
        small = Image.open(path).convert("RGB")
        small.thumbnail((40, 40))
        gray = small.convert("L")
        variants = [
            ("gray.png", gray, "PNG", {}),
            ("rgb.png", small, "PNG", {}),
            ("rgba.png", small.convert("RGBA"), "PNG", {}),
            ("la.png", gray.convert("LA"), "PNG", {}),
            ("pal.png", small.convert("P", palette=Image.ADAPTIVE, colors=16), "PNG", {}),
            ("bw.png", gray.convert("1"), "PNG", {}),
            ("gray16.png", gray.point(lambda v: v * 257, "I").convert("I;16"), "PNG", {}),
            ("interlaced.png", small, "PNG", {"interlace": 1}),
            ("jpg", small, "JPEG", {"quality": 80}),
            ("progressive.jpg", gray, "JPEG", {"progressive": True}),
            ("bmp", small, "BMP", {}),
            ("gif", small.convert("P", palette=Image.ADAPTIVE), "GIF", {}),
            ("tif", small, "TIFF", {}),
            ("lzw.tif", gray, "TIFF", {"compression": "tiff_lzw"}),
            ("webp", small, "WEBP", {"lossless": True}),
            ("lossy.webp", small, "WEBP", {"quality": 70}),
        ]
        for suffix, image, fmt, options in variants:
            buf = io.BytesIO()
            try:
                image.save(buf, fmt, **options)
            except (OSError, ValueError) as e:
                print(f"decode_seeds: {stem}.{suffix}: {e}", file=sys.stderr)
                continue
            with open(os.path.join(out, f"small-{stem}.{suffix}"), "wb") as fh:
                fh.write(buf.getvalue())
            written += 1
    print(f"seeds: {written} decode inputs in {out}")


if __name__ == "__main__":
    main()
