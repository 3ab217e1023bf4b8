//! Each stage of the image pipeline, timed on the realistic large inputs: the 6 MB
//! full-size CR (`RG3_UNCR.dcm`, 1760², 10-bit, MONOCHROME1) and a large 8-bit RGB PNG
//! (a 3000² histology-like image made at start from the shared IHC tile). Criterion
//! times each stage; a summary then prints milliseconds per stage, the bytes on the wire
//! against the original file, the thumbnail made beside the PNG (milliseconds, bytes),
//! and the PNG compression trade-off (bytes saved against milliseconds spent) that chose
//! the default. Run: `cargo bench -p medinsight-core`.

mod common;

use common::median_ms;
use std::hint::black_box;
use std::io::Cursor;
use std::path::PathBuf;

use criterion::{criterion_group, Criterion};
use medinsight_core::pipeline::decode::{decode, FrameChoice, Source};
use medinsight_core::pipeline::{
    encode, prepare, resize, thumbnail, window, AppliedWindow, Fit, PngCompression, PrepareOptions,
    Windowing, SIDE,
};

fn testdata(rel: &str) -> Vec<u8> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/testdata")
        .join(rel);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn inputs() -> Vec<(&'static str, Vec<u8>)> {
    let tile = image::load_from_memory(&testdata("histo_ihc_colon.png")).unwrap();
    let big = tile.resize_exact(3000, 3000, image::imageops::FilterType::CatmullRom);
    let mut png = Vec::new();
    big.write_to(&mut Cursor::new(&mut png), image::ImageFormat::Png)
        .unwrap();
    vec![
        ("RG3_UNCR.dcm", testdata("dicom/RG3_UNCR.dcm")),
        ("ihc_3000x3000.png", png),
    ]
}

/// Every stage's output for one input, computed once, so each stage is timed on the
/// previous stage's real output.
struct Staged {
    source: Source,
    eight: Vec<u8>,
    applied: AppliedWindow,
    small: Vec<u8>,
    png: Vec<u8>,
}

impl Staged {
    fn new(bytes: &[u8]) -> Self {
        let source = decode(bytes, FrameChoice::Middle).unwrap();
        let (eight, applied) = window::apply(&source, Windowing::FromFile);
        let small = resize_stage(&source, &eight);
        let png = encode_stage(&source, &small, PngCompression::default());
        Self {
            source,
            eight,
            applied,
            small,
            png,
        }
    }
}

fn resize_stage(source: &Source, eight: &[u8]) -> Vec<u8> {
    resize::to_model_size(
        eight,
        source.width,
        source.height,
        source.channels,
        Fit::Stretch,
    )
    .unwrap()
}

fn encode_stage(source: &Source, small: &[u8], level: PngCompression) -> Vec<u8> {
    encode::png(small, SIDE, SIDE, source.channels, level).unwrap()
}

fn stages(c: &mut Criterion) {
    for (name, bytes) in inputs() {
        let s = Staged::new(&bytes);
        let mut group = c.benchmark_group(name);
        group.sample_size(10);
        group.bench_function("decode", |b| {
            b.iter(|| decode(black_box(&bytes), FrameChoice::Middle).unwrap())
        });
        group.bench_function("window", |b| {
            b.iter(|| window::apply(black_box(&s.source), Windowing::FromFile))
        });
        group.bench_function("window_percentile", |b| {
            b.iter(|| window::apply(black_box(&s.source), Windowing::MICROSOFT_PERCENTILES))
        });
        group.bench_function("resize", |b| {
            b.iter(|| resize_stage(&s.source, black_box(&s.eight)))
        });
        group.bench_function("encode_png", |b| {
            b.iter(|| encode_stage(&s.source, black_box(&s.small), PngCompression::default()))
        });
        group.bench_function("base64", |b| b.iter(|| encode::base64(black_box(&s.png))));
        group.bench_function("whole_chain", |b| {
            b.iter(|| prepare(black_box(&bytes), PrepareOptions::default()).unwrap())
        });
        group.finish();
    }
}

fn summary() {
    println!("\n== pipeline summary (median of 9 runs) ==");
    for (name, bytes) in inputs() {
        let s = Staged::new(&bytes);
        let b64 = encode::base64(&s.png);
        let ms = [
            (
                "decode",
                median_ms(9, || decode(&bytes, FrameChoice::Middle).unwrap()),
            ),
            (
                "window",
                median_ms(9, || window::apply(&s.source, Windowing::FromFile)),
            ),
            ("resize", median_ms(9, || resize_stage(&s.source, &s.eight))),
            (
                "encode",
                median_ms(9, || {
                    encode_stage(&s.source, &s.small, PngCompression::default())
                }),
            ),
            ("base64", median_ms(9, || encode::base64(&s.png))),
        ];
        // Made once per image beside the PNG, for the cards (not part of the wire).
        let c = s.source.channels;
        let thumbnail_ms = median_ms(9, || thumbnail::thumbnail(&s.small, SIDE, SIDE, c).unwrap());
        let thumbnail_bytes = thumbnail::thumbnail(&s.small, SIDE, SIDE, c).unwrap().len();
        let total: f64 = ms.iter().map(|(_, t)| t).sum();
        let (w, h, c) = (s.source.width, s.source.height, s.source.channels);
        println!("{name}: {w}×{h}×{c} → 512²×{c} ({})", s.applied);
        for (stage, t) in ms {
            println!("  {stage:<7} {t:8.2} ms");
        }
        println!(
            "  total   {total:8.2} ms; file {} bytes → PNG {} bytes, base64 {} bytes = {:.2} % of the file on the wire",
            bytes.len(),
            s.png.len(),
            b64.len(),
            100.0 * b64.len() as f64 / bytes.len() as f64
        );
        println!(
            "  thumbnail {thumbnail_ms:6.2} ms, {thumbnail_bytes} bytes (JPEG {}², beside the PNG)",
            thumbnail::THUMBNAIL_SIDE
        );
        println!("  PNG compression on this image (bytes, ms; ratio against Fast):");
        let fast_ms = median_ms(9, || {
            encode_stage(&s.source, &s.small, PngCompression::Fast)
        });
        let fast_bytes = encode_stage(&s.source, &s.small, PngCompression::Fast).len();
        for level in [
            PngCompression::Fast,
            PngCompression::Balanced,
            PngCompression::High,
        ] {
            let size = encode_stage(&s.source, &s.small, level).len();
            let t = median_ms(9, || encode_stage(&s.source, &s.small, level));
            let label = format!("{level:?}");
            println!(
                "    {label:<9} {size:>8} bytes ({:5.3}×)  {t:7.2} ms ({:5.2}×)",
                size as f64 / fast_bytes as f64,
                t / fast_ms
            );
        }
    }
}

criterion_group!(benches, stages);

fn main() {
    benches();
    summary();
    Criterion::default().configure_from_args().final_summary();
}
