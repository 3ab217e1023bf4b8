//! Each stage of the image pipeline, timed on the realistic large inputs: the 6 MB
//! full-size CR (`RG3_UNCR.dcm`, 1760², 10-bit, MONOCHROME1) and a large 8-bit RGB PNG
//! (a 3000² histology-like image made at start from the shared IHC tile). Criterion
//! times each stage; a summary then prints milliseconds per stage, the bytes on the wire
//! against the original file, and the PNG compression trade-off (bytes saved against
//! milliseconds spent) that chose the default. Run: `cargo bench -p medinsight-core`.

use std::hint::black_box;
use std::io::Cursor;
use std::path::PathBuf;
use std::time::Instant;

use criterion::{criterion_group, Criterion};
use medinsight_core::pipeline::decode::{decode, FrameChoice};
use medinsight_core::pipeline::{
    encode, prepare, resize, window, Fit, PngCompression, PrepareOptions, Windowing, SIDE,
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

fn stages(c: &mut Criterion) {
    for (name, bytes) in inputs() {
        let mut group = c.benchmark_group(name);
        group.sample_size(10);
        group.bench_function("decode", |b| {
            b.iter(|| decode(black_box(&bytes), FrameChoice::Middle).unwrap())
        });
        let source = decode(&bytes, FrameChoice::Middle).unwrap();
        group.bench_function("window", |b| {
            b.iter(|| window::apply(black_box(&source), Windowing::FromFile))
        });
        group.bench_function("window_percentile", |b| {
            b.iter(|| window::apply(black_box(&source), Windowing::MICROSOFT_PERCENTILES))
        });
        let (eight, _) = window::apply(&source, Windowing::FromFile);
        group.bench_function("resize", |b| {
            b.iter(|| {
                resize::to_model_size(
                    black_box(&eight),
                    source.width,
                    source.height,
                    source.channels,
                    Fit::Stretch,
                )
                .unwrap()
            })
        });
        let small = resize::to_model_size(
            &eight,
            source.width,
            source.height,
            source.channels,
            Fit::Stretch,
        )
        .unwrap();
        group.bench_function("encode_png", |b| {
            b.iter(|| {
                encode::png(
                    black_box(&small),
                    SIDE,
                    SIDE,
                    source.channels,
                    PngCompression::default(),
                )
                .unwrap()
            })
        });
        let png = encode::png(
            &small,
            SIDE,
            SIDE,
            source.channels,
            PngCompression::default(),
        )
        .unwrap();
        group.bench_function("base64", |b| b.iter(|| encode::base64(black_box(&png))));
        group.bench_function("whole_chain", |b| {
            b.iter(|| prepare(black_box(&bytes), PrepareOptions::default()).unwrap())
        });
        group.finish();
    }
}

/// Median of `runs` timings of `f`, in milliseconds.
fn median_ms<T>(runs: usize, mut f: impl FnMut() -> T) -> f64 {
    let mut times: Vec<f64> = (0..runs)
        .map(|_| {
            let t = Instant::now();
            black_box(f());
            t.elapsed().as_secs_f64() * 1e3
        })
        .collect();
    times.sort_by(f64::total_cmp);
    times[runs / 2]
}

fn summary() {
    println!("\n== pipeline summary (median of 9 runs) ==");
    for (name, bytes) in inputs() {
        let source = decode(&bytes, FrameChoice::Middle).unwrap();
        let (eight, applied) = window::apply(&source, Windowing::FromFile);
        let small = resize::to_model_size(
            &eight,
            source.width,
            source.height,
            source.channels,
            Fit::Stretch,
        )
        .unwrap();
        let png = encode::png(
            &small,
            SIDE,
            SIDE,
            source.channels,
            PngCompression::default(),
        )
        .unwrap();
        let b64 = encode::base64(&png);
        let ms = [
            (
                "decode",
                median_ms(9, || decode(&bytes, FrameChoice::Middle).unwrap()),
            ),
            (
                "window",
                median_ms(9, || window::apply(&source, Windowing::FromFile)),
            ),
            (
                "resize",
                median_ms(9, || {
                    resize::to_model_size(
                        &eight,
                        source.width,
                        source.height,
                        source.channels,
                        Fit::Stretch,
                    )
                    .unwrap()
                }),
            ),
            (
                "encode",
                median_ms(9, || {
                    encode::png(
                        &small,
                        SIDE,
                        SIDE,
                        source.channels,
                        PngCompression::default(),
                    )
                    .unwrap()
                }),
            ),
            ("base64", median_ms(9, || encode::base64(&png))),
        ];
        let total: f64 = ms.iter().map(|(_, t)| t).sum();
        println!(
            "{name}: {}×{}×{} → 512²×{} ({applied})",
            source.width, source.height, source.channels, source.channels
        );
        for (stage, t) in ms {
            println!("  {stage:<7} {t:8.2} ms");
        }
        println!(
            "  total   {total:8.2} ms; file {} bytes → PNG {} bytes, base64 {} bytes = {:.2} % of the file on the wire",
            bytes.len(),
            png.len(),
            b64.len(),
            100.0 * b64.len() as f64 / bytes.len() as f64
        );
        println!("  PNG compression on this image (bytes, ms; ratio against Fast):");
        let fast_ms = median_ms(9, || {
            encode::png(&small, SIDE, SIDE, source.channels, PngCompression::Fast).unwrap()
        });
        let fast_bytes = encode::png(&small, SIDE, SIDE, source.channels, PngCompression::Fast)
            .unwrap()
            .len();
        for level in [
            PngCompression::Fast,
            PngCompression::Balanced,
            PngCompression::High,
        ] {
            let bytes = encode::png(&small, SIDE, SIDE, source.channels, level)
                .unwrap()
                .len();
            let t = median_ms(9, || {
                encode::png(&small, SIDE, SIDE, source.channels, level).unwrap()
            });
            println!(
                "    {level:<9?} {bytes:>8} bytes ({:5.3}×)  {t:7.2} ms ({:5.2}×)",
                bytes as f64 / fast_bytes as f64,
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
