//! Fuzz target: a file's bytes through what the compute worker does with them
//! (`src/worker/handler.rs`'s `prepare`): the whole pipeline — decode (every raster
//! format and DICOM, under the decoder's own pixel budget `MAX_SIDE`/`MAX_SAMPLES`),
//! windowing, resizing, PNG encoding — then the thumbnail. It must return, never panic,
//! hang or allocate beyond the budget. Run with `scripts/fuzz decode`.
//!
//! The options a user may pick are chosen from the input's length rather than from its
//! bytes, so that every seed file stays a valid file of its format while the fuzzer
//! still walks every windowing, fit, frame and compression choice.
#![no_main]

use libfuzzer_sys::fuzz_target;
use medinsight_core::pipeline::{
    prepare, thumbnail, Fit, FrameChoice, PngCompression, PrepareOptions, Windowing, SIDE,
};

fn options(len: usize) -> PrepareOptions {
    let window = match len % 6 {
        0 => Windowing::Microsoft,
        1 => Windowing::FromFile,
        2 => Windowing::Percentile {
            low: 0.5,
            high: 99.5,
        },
        3 => Windowing::MinMax,
        4 => Windowing::Manual {
            center: 40.0,
            width: 400.0,
        },
        // A degenerate window: no width at all.
        _ => Windowing::Manual {
            center: 0.0,
            width: 0.0,
        },
    };
    let len = len / 6;
    let fit = [Fit::Stretch, Fit::Letterbox][len % 2];
    let frame = [
        FrameChoice::First,
        FrameChoice::Middle,
        FrameChoice::Index(1),
    ][(len / 2) % 3];
    let compression = [
        PngCompression::Balanced,
        PngCompression::Fast,
        PngCompression::High,
    ][(len / 6) % 3];
    PrepareOptions {
        window,
        frame,
        fit,
        compression,
    }
}

fuzz_target!(|data: &[u8]| {
    if let Ok(p) = prepare(data, options(data.len())) {
        // What the worker shows of a prepared image.
        let _ = thumbnail::thumbnail(&p.pixels, SIDE, SIDE, p.channels);
    }
});
