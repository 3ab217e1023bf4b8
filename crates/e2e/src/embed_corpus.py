"""The embed benchmark's corpus: N medical images of realistic sizes and formats, made
from the shared test images (../shared/testdata) so that their content is anatomy, not
noise, and varied per file (a seeded crop, flip and sensor noise) so that no two files
are the same bytes.

Run by `embed_bench` (crates/e2e/src/embed_bench.rs) with the project's Python
(`MEDINSIGHT_PYTHON`: numpy, pydicom, Pillow, installed by scripts/bootstrap):

    python - OUT N SEED TESTDATA < embed_corpus.py

The mix, in shares of N (what a hospital export or a research folder holds):
  30 %  CT 512x512, int16, rescale -1024 (one in three RLE Lossless, the rest explicit
        VR little endian uncompressed; 0.5 MB each)
  10 %  MR 256x256, uint16 (explicit VR little endian)
  10 %  CR 2140x1760, 12-bit in uint16, MONOCHROME1 (uncompressed, 7.5 MB)
  15 %  PNG 2048x2048 8-bit grey radiographs
   5 %  PNG 2048x2048 16-bit grey (12 bits used)
   5 %  PNG 1024x1024 RGB histology tiles
  15 %  JPEG 1600x1200 RGB photographs (fundus), quality 90
   5 %  JPEG 2000x2000 grey radiographs, quality 92
Prints one line: the files written and their total bytes.
"""

import os
import sys

import numpy as np
import pydicom
from PIL import Image
from pydicom.dataset import FileDataset, FileMetaDataset
from pydicom.uid import (
    CTImageStorage,
    ComputedRadiographyImageStorage,
    ExplicitVRLittleEndian,
    MRImageStorage,
    RLELossless,
    generate_uid,
)

out, n, seed, testdata = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
rng = np.random.default_rng(seed)


def base(name, mode="L"):
    return np.asarray(Image.open(os.path.join(testdata, name)).convert(mode), dtype=np.float32)


GREY = [base(n) for n in ["xray_chest_pa.png", "xray_tibia.png", "ct_head.png", "ct_abdomen.png", "mri_shoulder.png", "mri_abdomen.png"]]
RGB = [base(n, "RGB") for n in ["fundus_retina.png", "histo_he_tile.png", "histo_ihc_colon.png", "us_doppler.png"]]
CR = pydicom.dcmread(os.path.join(testdata, "dicom/RG3_UNCR.dcm")).pixel_array.astype(np.float32)


def varied(img, h, w):
    """A seeded crop (80-100 % of each side), maybe flipped, resized to h x w."""
    ih, iw = img.shape[:2]
    ch, cw = int(ih * rng.uniform(0.8, 1.0)), int(iw * rng.uniform(0.8, 1.0))
    y, x = rng.integers(0, ih - ch + 1), rng.integers(0, iw - cw + 1)
    crop = img[y : y + ch, x : x + cw]
    if rng.random() < 0.5:
        crop = crop[:, ::-1]
    chans = [crop] if crop.ndim == 2 else [crop[..., c] for c in range(crop.shape[2])]
    resized = [np.asarray(Image.fromarray(c).resize((w, h), Image.BICUBIC)) for c in chans]
    return resized[0] if crop.ndim == 2 else np.stack(resized, axis=-1)


def noisy(a, sigma, lo, hi, dtype):
    return np.clip(a + rng.normal(0, sigma, a.shape), lo, hi).astype(dtype)


def dicom(path, pixels, sop_class, modality, photometric, bits_stored, signed, intercept=None, rle=False):
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = sop_class
    meta.MediaStorageSOPInstanceUID = generate_uid()
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds = FileDataset(path, {}, file_meta=meta, preamble=b"\0" * 128)
    ds.SOPClassUID, ds.SOPInstanceUID = sop_class, meta.MediaStorageSOPInstanceUID
    ds.StudyInstanceUID, ds.SeriesInstanceUID = generate_uid(), generate_uid()
    ds.Modality, ds.PatientName, ds.PatientID = modality, "Bench^Synthetic", "BENCH"
    ds.Rows, ds.Columns = pixels.shape
    ds.SamplesPerPixel, ds.PhotometricInterpretation = 1, photometric
    ds.BitsAllocated, ds.BitsStored, ds.HighBit = 16, bits_stored, bits_stored - 1
    ds.PixelRepresentation = 1 if signed else 0
    if intercept is not None:
        ds.RescaleIntercept, ds.RescaleSlope = intercept, 1
    ds.PixelData = pixels.tobytes()
    if rle:
        ds.compress(RLELossless)
    ds.save_as(path, enforce_file_format=True)


plan = (
    [("ct", 0.20), ("ct-rle", 0.10), ("mr", 0.10), ("cr", 0.10), ("png8", 0.15), ("png16", 0.05),
     ("png-rgb", 0.05), ("jpeg-rgb", 0.15), ("jpeg-grey", 0.05)]
)
counts = [int(round(share * n)) for _, share in plan]
counts[0] += n - sum(counts)
os.makedirs(out, exist_ok=True)
total = 0
i = 0
for (kind, _), count in zip(plan, counts):
    for _ in range(count):
        i += 1
        g = GREY[i % len(GREY)]
        if kind in ("ct", "ct-rle"):
            hu = varied(g, 512, 512) * 8.0 - 1024.0  # 0-255 grey to -1024..1016 HU
            path = os.path.join(out, f"{i:04d}-ct.dcm")
            dicom(path, noisy(hu + 1024.0, 6, 0, 4095, np.int16), CTImageStorage, "CT",
                  "MONOCHROME2", 12, True, intercept=-1024, rle=kind == "ct-rle")
        elif kind == "mr":
            path = os.path.join(out, f"{i:04d}-mr.dcm")
            dicom(path, noisy(varied(g, 256, 256) * 12.0, 10, 0, 4095, np.uint16), MRImageStorage, "MR",
                  "MONOCHROME2", 12, False)
        elif kind == "cr":
            path = os.path.join(out, f"{i:04d}-cr.dcm")
            dicom(path, noisy(varied(CR, 2140, 1760) * 4.0, 8, 0, 4095, np.uint16),
                  ComputedRadiographyImageStorage, "CR", "MONOCHROME1", 12, False)
        elif kind == "png8":
            path = os.path.join(out, f"{i:04d}-xray.png")
            Image.fromarray(noisy(varied(GREY[i % 2], 2048, 2048), 2, 0, 255, np.uint8)).save(path)
        elif kind == "png16":
            path = os.path.join(out, f"{i:04d}-xray16.png")
            Image.fromarray(noisy(varied(GREY[i % 2], 2048, 2048) * 16.0, 8, 0, 4095, np.uint16)).save(path)
        elif kind == "png-rgb":
            path = os.path.join(out, f"{i:04d}-histo.png")
            Image.fromarray(noisy(varied(RGB[1 + i % 2], 1024, 1024), 2, 0, 255, np.uint8)).save(path)
        elif kind == "jpeg-rgb":
            path = os.path.join(out, f"{i:04d}-photo.jpg")
            Image.fromarray(noisy(varied(RGB[0], 1200, 1600), 2, 0, 255, np.uint8)).save(path, quality=90)
        else:
            path = os.path.join(out, f"{i:04d}-xray.jpg")
            Image.fromarray(noisy(varied(GREY[i % 2], 2000, 2000), 2, 0, 255, np.uint8)).save(path, quality=92)
        total += os.path.getsize(path)
print(f"{i} files, {total} bytes")
