//! The default rendering is Microsoft's: for every shared test DICOM, the 8-bit image
//! `PrepareOptions::default()` makes (decode + window, at native size) matches what
//! Microsoft's reference client (healthcareai_toolkit) makes of the same file, as
//! emulated with pydicom and numpy by fixtures/toolkit_rendering.py: modality LUT,
//! MONOCHROME1 inverted, first frame, 1st–99th percentile clip, truncation to 8 bits,
//! the file's window ignored. MedImageInsight was trained on images rendered that way,
//! so a default that differs feeds it images unlike its training data. The Python is
//! the one scripts/bootstrap set up (`MEDINSIGHT_PYTHON`, else `python3`) with the
//! pinned pydicom and Pillow of requirements-test.txt; without them this test fails.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use medinsight_core::pipeline::decode::{decode, FrameChoice};
use medinsight_core::pipeline::{window, PrepareOptions};

/// Shared test DICOMs that pydicom cannot decode with the packages pinned in
/// requirements-test.txt, each with the reason. Empty: with Pillow all nine decode. A
/// file that fails and is not listed here fails the test.
const UNDECODABLE: &[(&str, &str)] = &[];

/// Least Pearson correlation between our rendering and the toolkit's.
const MIN_CORRELATION: f64 = 0.999;
/// Least share of samples within one grey level of the toolkit's (rounding here and
/// truncation there, or float32 there and f64 here, may differ by one level).
const MIN_WITHIN_ONE: f64 = 0.99;
/// Least share of samples exactly equal: catches rounding where the toolkit truncates
/// (which stays within one level everywhere but leaves only about half equal).
const MIN_EQUAL: f64 = 0.95;

fn python() -> String {
    std::env::var("MEDINSIGHT_PYTHON").unwrap_or_else(|_| "python3".into())
}

fn script() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/toolkit_rendering.py")
}

fn dicom_dir() -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/testdata/dicom");
    assert!(
        dir.is_dir(),
        "the shared test DICOMs are missing: expected {} (the repo's ../shared/testdata)",
        dir.display()
    );
    dir
}

/// A scratch folder of this process and test, removed on drop (failures included).
struct Scratch(PathBuf);

impl Scratch {
    fn new(test: &str) -> Self {
        let dir =
            std::env::temp_dir().join(format!("medinsight-toolkit-{}-{test}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        Scratch(dir)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Fails, with what to do, unless the Python has numpy, pydicom and Pillow.
fn require_python() {
    let out = Command::new(python())
        .args([
            "-c",
            "import numpy, pydicom, PIL; print(numpy.__version__, pydicom.__version__, PIL.__version__)",
        ])
        .output()
        .unwrap_or_else(|e| panic!("could not run {} (run scripts/bootstrap): {e}", python()));
    assert!(
        out.status.success(),
        "{} lacks numpy, pydicom or Pillow (run scripts/bootstrap): {}",
        python(),
        String::from_utf8_lossy(&out.stderr)
    );
    println!(
        "reference: numpy, pydicom, Pillow {}",
        String::from_utf8_lossy(&out.stdout).trim()
    );
}

/// An 8-bit image: height, width, channels (1 or 3), samples interleaved.
#[derive(Debug, PartialEq)]
struct Rendering {
    shape: (usize, usize, usize),
    samples: Vec<u8>,
}

/// The toolkit's rendering of `dicom`, or pydicom's error output.
fn theirs(dicom: &Path, scratch: &Scratch) -> Result<Rendering, String> {
    let npy = scratch.0.join(format!(
        "{}.npy",
        dicom.file_name().unwrap().to_string_lossy()
    ));
    let out = Command::new(python())
        .arg(script())
        .arg(dicom)
        .arg(&npy)
        .output()
        .unwrap_or_else(|e| panic!("could not run {} (run scripts/bootstrap): {e}", python()));
    if !out.status.success() {
        return Err(String::from_utf8_lossy(&out.stderr).into_owned());
    }
    let bytes = std::fs::read(&npy).unwrap();
    let file = npyz::NpyFile::new(&bytes[..]).unwrap();
    let shape: Vec<usize> = file.shape().iter().map(|&n| n as usize).collect();
    assert_eq!(
        file.order(),
        npyz::Order::C,
        "{}: not C order",
        npy.display()
    );
    let shape = match shape[..] {
        [h, w] => (h, w, 1),
        [h, w, 3] => (h, w, 3),
        _ => panic!("{}: unexpected shape {shape:?}", npy.display()),
    };
    let samples = file
        .into_vec::<u8>()
        .unwrap_or_else(|e| panic!("{}: not uint8: {e}", npy.display()));
    Ok(Rendering { shape, samples })
}

/// Our rendering with the default options, at native size.
fn ours(bytes: &[u8], frame: FrameChoice) -> Rendering {
    let options = PrepareOptions::default();
    let source = decode(bytes, frame).unwrap();
    let (samples, _) = window::apply(&source, options.window);
    Rendering {
        shape: (
            source.height as usize,
            source.width as usize,
            usize::from(source.channels),
        ),
        samples,
    }
}

/// Pearson correlation, shares of samples equal and within one level, largest
/// difference.
#[derive(Clone, Copy, Debug)]
struct Agreement {
    correlation: f64,
    equal: f64,
    within_one: f64,
    max_diff: u8,
}

impl Agreement {
    fn of(a: &[u8], b: &[u8]) -> Self {
        assert_eq!(a.len(), b.len());
        let n = a.len() as f64;
        let mean = |v: &[u8]| v.iter().map(|&x| f64::from(x)).sum::<f64>() / n;
        let (ma, mb) = (mean(a), mean(b));
        let (mut sab, mut saa, mut sbb) = (0.0, 0.0, 0.0);
        let (mut equal, mut within, mut max_diff) = (0usize, 0usize, 0u8);
        for (&x, &y) in a.iter().zip(b) {
            let (dx, dy) = (f64::from(x) - ma, f64::from(y) - mb);
            sab += dx * dy;
            saa += dx * dx;
            sbb += dy * dy;
            let d = x.abs_diff(y);
            equal += usize::from(d == 0);
            within += usize::from(d <= 1);
            max_diff = max_diff.max(d);
        }
        // Identical flat images correlate perfectly; the formula would give 0/0.
        let correlation = if a == b {
            1.0
        } else {
            sab / (saa * sbb).sqrt()
        };
        Agreement {
            correlation,
            equal: equal as f64 / n,
            within_one: within as f64 / n,
            max_diff,
        }
    }

    fn passes(&self) -> bool {
        self.correlation >= MIN_CORRELATION
            && self.within_one >= MIN_WITHIN_ONE
            && self.equal >= MIN_EQUAL
    }
}

impl std::fmt::Display for Agreement {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "r = {:.8}, equal {:.3} %, within 1 level {:.3} %, max |diff| {}",
            self.correlation,
            self.equal * 100.0,
            self.within_one * 100.0,
            self.max_diff
        )
    }
}

/// `Ok` with the agreement when the shapes match, else what differs.
fn compare(ours: &Rendering, theirs: &Rendering) -> Result<Agreement, String> {
    if ours.shape != theirs.shape {
        return Err(format!(
            "shape (h, w, channels) {:?} here, {:?} in the toolkit",
            ours.shape, theirs.shape
        ));
    }
    Ok(Agreement::of(&ours.samples, &theirs.samples))
}

#[test]
fn default_rendering_matches_the_toolkit_for_every_shared_dicom() {
    require_python();
    let scratch = Scratch::new("files");
    let mut paths: Vec<PathBuf> = std::fs::read_dir(dicom_dir())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().and_then(|e| e.to_str()) == Some("dcm"))
        .collect();
    paths.sort();
    assert_eq!(paths.len(), 9, "the nine DICOMs of the shared test data");
    let default = PrepareOptions::default();
    println!(
        "ours: window {:?}, frame {:?}; pass: r >= {MIN_CORRELATION}, within 1 level >= {} %, equal >= {} %",
        default.window,
        default.frame,
        MIN_WITHIN_ONE * 100.0,
        MIN_EQUAL * 100.0
    );
    let mut failures = Vec::new();
    for path in &paths {
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let listed = UNDECODABLE.iter().find(|(n, _)| *n == name);
        let reference = match (theirs(path, &scratch), listed) {
            (Ok(r), None) => r,
            (Err(_), Some((_, why))) => {
                println!("{name:28} not compared: pydicom cannot decode it ({why})");
                continue;
            }
            (Ok(_), Some(_)) => {
                failures.push(format!(
                    "{name}: listed in UNDECODABLE but pydicom renders it; remove it from the list"
                ));
                continue;
            }
            (Err(stderr), None) => {
                failures.push(format!(
                    "{name}: the toolkit emulation failed (if pydicom cannot decode it with the \
                     pinned packages, list it in UNDECODABLE with the reason):\n{stderr}"
                ));
                continue;
            }
        };
        let bytes = std::fs::read(path).unwrap();
        match compare(&ours(&bytes, default.frame), &reference) {
            Ok(agreement) => {
                println!("{name:28} {agreement}");
                if !agreement.passes() {
                    failures.push(format!("{name}: {agreement}"));
                }
            }
            Err(why) => {
                println!("{name:28} {why}");
                failures.push(format!("{name}: {why}"));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "the default rendering differs from Microsoft's client on {} file(s):\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// `MR_small` made into a 3-frame DICOM whose frames render differently even after
/// percentile normalisation: frame 0 as is, frame 1 upside down, frame 2 rotated 180°.
fn three_frame_mr() -> Vec<u8> {
    let bytes = std::fs::read(dicom_dir().join("MR_small.dcm")).unwrap();
    // 16-bit samples as stored; flipping moves them whole, never changes their bits.
    common::multi_frame(&bytes, |original, columns| {
        let upside_down = original.chunks(columns).rev().flatten().copied().collect();
        let rotated = original.iter().rev().copied().collect();
        vec![original.to_vec(), upside_down, rotated]
    })
}

#[test]
fn multi_frame_dicom_renders_its_first_frame_like_the_toolkit() {
    require_python();
    let scratch = Scratch::new("multiframe");
    let path = scratch.0.join("MR_small_3_frames.dcm");
    let multi = three_frame_mr();
    std::fs::write(&path, &multi).unwrap();
    let reference = theirs(&path, &scratch).unwrap_or_else(|e| panic!("{e}"));

    // The emulation itself takes frame 0: the same picture as the single-frame file.
    let single = theirs(&dicom_dir().join("MR_small.dcm"), &scratch).unwrap();
    assert!(
        reference == single,
        "the toolkit emulation must take frame 0"
    );

    // The frames are told apart: ours on frame 1 or 2 would not pass.
    for other in [1, 2] {
        let wrong = compare(&ours(&multi, FrameChoice::Index(other)), &reference).unwrap();
        assert!(
            !wrong.passes(),
            "frame {other} is indistinguishable from frame 0 ({wrong})"
        );
    }

    let source = decode(&multi, PrepareOptions::default().frame).unwrap();
    let agreement = compare(&ours(&multi, PrepareOptions::default().frame), &reference)
        .unwrap_or_else(|e| panic!("{e}"));
    println!(
        "MR_small, 3 frames: default frame {} of {}: {agreement}",
        source.info.frame, source.info.frames
    );
    assert!(
        agreement.passes(),
        "the default uses frame {} of {}, the toolkit frame 0: {agreement}",
        source.info.frame,
        source.info.frames
    );
}
