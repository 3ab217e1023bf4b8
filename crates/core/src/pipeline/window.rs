//! Modality values → 8 bits: the step where Microsoft's reference client and a careful
//! one differ most.
//!
//! CR, CT and MR pixels are 10 to 16 bits of physical values (after the modality LUT:
//! rescale slope and intercept). The model wants 8 bits. Microsoft's client
//! (`healthcareai_toolkit`: SimpleITK reads every DICOM as float32, then
//! `normalize_image_to_uint8(percentiles=(0.01, 0.99))`) clips *every* DICOM, colour
//! included, and every other image deeper than 8 bits to its own 1st–99th percentiles,
//! stretches to 0–255 and truncates, ignoring the window stored in the file; SimpleITK
//! has already inverted MONOCHROME1. 8-bit PNG/JPEG pass unchanged. The model learnt from
//! images prepared that way, and users compare our vectors with Microsoft's notebooks, so
//! that is the default here ([`Windowing::Microsoft`]). The file's own window (DICOM's
//! LINEAR VOI function, PS3.3 C.11.2.1.2), a percentile clip, min–max or a manual window
//! stay one choice away. MONOCHROME1 is always inverted, so bone is bright.

use serde::{Deserialize, Serialize};

use super::decode::{Samples, Source};

/// How to map a source's values to 0–255.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Windowing {
    /// What Microsoft's client does: every DICOM and every image deeper than 8 bits is
    /// clipped to its 1st–99th percentiles, stretched and truncated to 8 bits; 8-bit
    /// images unchanged. The default.
    #[default]
    Microsoft,
    /// The file's Window Center/Width (DICOM); 8-bit pixels unchanged; otherwise the
    /// 1st–99th percentile clip.
    FromFile,
    /// Clip to the `low`–`high` percentiles (0–100) and stretch. Microsoft's client uses
    /// 1–99.
    Percentile { low: f32, high: f32 },
    /// Stretch the minimum to 0 and the maximum to 255.
    MinMax,
    /// A window in modality units (Hounsfield units for CT), DICOM's LINEAR function.
    Manual { center: f64, width: f64 },
}

impl Windowing {
    /// Microsoft's percentiles, also the fallback of [`Windowing::FromFile`].
    pub const MICROSOFT_PERCENTILES: Windowing = Windowing::Percentile {
        low: 1.0,
        high: 99.0,
    };
}

/// Which rule produced the 8-bit values.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum WindowKind {
    /// 8-bit pixels kept as they were.
    AsIs,
    /// The window stored in the DICOM file.
    File,
    Percentile,
    MinMax,
    Manual,
}

/// The window actually applied, in the source's units, for users to see and reuse.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct AppliedWindow {
    pub kind: WindowKind,
    pub center: f64,
    pub width: f64,
    /// MONOCHROME1 was inverted (after windowing) so that high values are bright.
    pub inverted: bool,
}

impl std::fmt::Display for AppliedWindow {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let kind = match self.kind {
            WindowKind::AsIs => {
                return write!(
                    f,
                    "8-bit as is{}",
                    if self.inverted { ", inverted" } else { "" }
                )
            }
            WindowKind::File => "file window",
            WindowKind::Percentile => "percentile window",
            WindowKind::MinMax => "min–max window",
            WindowKind::Manual => "manual window",
        };
        write!(
            f,
            "{kind} C={} W={}",
            round3(self.center),
            round3(self.width)
        )?;
        if self.inverted {
            f.write_str(", MONOCHROME1 inverted")?;
        }
        Ok(())
    }
}

fn round3(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}

/// The mapping from a value to 0–255.
#[derive(Clone, Copy, Debug)]
enum Map {
    /// Nothing to do (8-bit input kept).
    Identity,
    /// DICOM LINEAR: centre and width as stored, rounded.
    Dicom { center: f64, width: f64 },
    /// `low` → 0, `high` → 255 (the other way round when `invert`), clipped, and
    /// truncated to an integer as numpy's `astype(uint8)` does in Microsoft's client:
    /// rounding would shift every level by half a step against the images the model
    /// learnt from. `invert` maps MONOCHROME1 before truncating, as SimpleITK inverts
    /// before Microsoft's client normalises.
    Linear { low: f64, high: f64, invert: bool },
}

impl Map {
    #[inline]
    fn apply(self, x: f32) -> u8 {
        let x = f64::from(x);
        match self {
            Map::Identity => round_byte(x),
            Map::Dicom { center, width } => {
                let w = width.max(1.0);
                let (lo, hi) = (
                    center - 0.5 - (w - 1.0) / 2.0,
                    center - 0.5 + (w - 1.0) / 2.0,
                );
                round_byte(if x <= lo {
                    0.0
                } else if x > hi {
                    255.0
                } else {
                    ((x - (center - 0.5)) / (w - 1.0).max(f64::MIN_POSITIVE) + 0.5) * 255.0
                })
            }
            Map::Linear { low, high, invert } => {
                let t = if high > low {
                    (x.clamp(low, high) - low) / (high - low)
                } else {
                    f64::from(u8::from(x > low))
                };
                // `as u8` truncates and saturates (NaN → 0).
                ((if invert { 1.0 - t } else { t }) * 255.0) as u8
            }
        }
    }

    /// Whether the map already turned MONOCHROME1 around.
    fn inverts(self) -> bool {
        matches!(self, Map::Linear { invert: true, .. })
    }
}

fn round_byte(y: f64) -> u8 {
    y.round().clamp(0.0, 255.0) as u8
}

/// Windows `source` to 8 bits per sample (same channel layout).
pub fn apply(source: &Source, windowing: Windowing) -> (Vec<u8>, AppliedWindow) {
    let (map, kind) = choose(source, windowing);
    let (center, width) = match map {
        Map::Identity => (127.5, 256.0),
        Map::Dicom { center, width } => (center, width),
        Map::Linear { low, high, .. } => ((low + high) / 2.0, high - low),
    };
    let mut out: Vec<u8> = match (&source.samples, map) {
        (Samples::U8(v), Map::Identity) => v.clone(),
        (Samples::U8(v), m) => v.iter().map(|&x| m.apply(f32::from(x))).collect(),
        (Samples::F32(v), m) => v.iter().map(|&x| m.apply(x)).collect(),
    };
    if source.monochrome1 && !map.inverts() {
        out.iter_mut().for_each(|v| *v = 255 - *v);
    }
    (
        out,
        AppliedWindow {
            kind,
            center,
            width,
            inverted: source.monochrome1,
        },
    )
}

fn choose(source: &Source, windowing: Windowing) -> (Map, WindowKind) {
    let linear = |(low, high)| Map::Linear {
        low,
        high,
        invert: source.monochrome1,
    };
    match windowing {
        Windowing::Microsoft => match &source.samples {
            Samples::U8(_) if !source.is_dicom() => (Map::Identity, WindowKind::AsIs),
            _ => choose(source, Windowing::MICROSOFT_PERCENTILES),
        },
        Windowing::FromFile => match (source.file_window, &source.samples) {
            (Some((center, width)), _) => (Map::Dicom { center, width }, WindowKind::File),
            (None, Samples::U8(_)) => (Map::Identity, WindowKind::AsIs),
            (None, Samples::F32(_)) => choose(source, Windowing::MICROSOFT_PERCENTILES),
        },
        Windowing::Percentile { low, high } => (
            linear(percentiles(&source.samples, low, high)),
            WindowKind::Percentile,
        ),
        Windowing::MinMax => (
            linear(percentiles(&source.samples, 0.0, 100.0)),
            WindowKind::MinMax,
        ),
        Windowing::Manual { center, width } => (Map::Dicom { center, width }, WindowKind::Manual),
    }
}

/// The `low` and `high` percentiles (0–100) of the finite samples, interpolated
/// linearly between neighbours as numpy's default does.
pub fn percentiles(samples: &Samples, low: f32, high: f32) -> (f64, f64) {
    let (low, high) = (low.clamp(0.0, 100.0), high.clamp(0.0, 100.0));
    let (low, high) = (low.min(high), high.max(low));
    match samples {
        // Bytes: a 256-bin histogram gives the same order statistics without sorting
        // (a 3000² RGB photo: 27 M samples).
        Samples::U8(v) if !v.is_empty() => {
            let mut counts = vec![0usize; 256];
            v.iter().for_each(|&x| counts[usize::from(x)] += 1);
            counted_percentiles(&counts, 0.0, v.len(), low, high)
        }
        Samples::U8(_) => (0.0, 0.0),
        Samples::F32(v) => {
            if let Some(p) = integer_percentiles(v, low, high) {
                return p;
            }
            let mut values: Vec<f32> = v.iter().copied().filter(|x| x.is_finite()).collect();
            if values.is_empty() {
                return (0.0, 0.0);
            }
            (percentile(&mut values, low), percentile(&mut values, high))
        }
    }
}

/// Most distinct values a counting histogram may span (a few MB of counts).
const MAX_HISTOGRAM_SPAN: f32 = (1 << 20) as f32;

/// Percentiles by counting, for samples that are all integers within a modest range:
/// what 10–16-bit DICOM pixels are after an integer rescale. Exact, and linear in the
/// number of samples; `None` for anything else (the sorting path then applies).
fn integer_percentiles(values: &[f32], low: f32, high: f32) -> Option<(f64, f64)> {
    let (mut min, mut max) = (f32::INFINITY, f32::NEG_INFINITY);
    for &x in values {
        if x.fract() != 0.0 {
            return None; // also NaN and ±infinity
        }
        min = min.min(x);
        max = max.max(x);
    }
    if values.is_empty() || max - min >= MAX_HISTOGRAM_SPAN {
        return None;
    }
    let mut counts = vec![0usize; (max - min) as usize + 1];
    values.iter().for_each(|&x| counts[(x - min) as usize] += 1);
    Some(counted_percentiles(
        &counts,
        f64::from(min),
        values.len(),
        low,
        high,
    ))
}

/// Percentiles, interpolated as numpy does, of `n` samples whose histogram is `counts`
/// with bin `i` holding the value `base + i`.
fn counted_percentiles(counts: &[usize], base: f64, n: usize, low: f32, high: f32) -> (f64, f64) {
    // The k-th smallest value (0-based), walking the cumulative counts.
    let kth = |k: usize| {
        let mut seen = 0;
        let bin = counts.iter().position(|&c| {
            seen += c;
            seen > k
        });
        base + bin.unwrap_or(counts.len() - 1) as f64
    };
    let at = |p: f32| {
        let rank = f64::from(p) / 100.0 * (n - 1) as f64;
        let k = rank.floor() as usize;
        let (lo, hi) = (kth(k), kth((k + 1).min(n - 1)));
        lo + (rank - k as f64) * (hi - lo)
    };
    (at(low), at(high))
}

fn percentile(values: &mut [f32], p: f32) -> f64 {
    let n = values.len();
    let rank = f64::from(p) / 100.0 * (n - 1) as f64;
    let k = rank.floor() as usize;
    let frac = rank - k as f64;
    let (_, &mut at_k, right) = values.select_nth_unstable_by(k, f32::total_cmp);
    let at_k = f64::from(at_k);
    if frac == 0.0 || right.is_empty() {
        return at_k;
    }
    let next = right.iter().copied().fold(f32::INFINITY, f32::min);
    at_k + frac * (f64::from(next) - at_k)
}

#[cfg(test)]
mod tests {
    use super::super::decode::{SourceInfo, DICOM_FORMAT};
    use super::*;

    fn source(samples: Samples, file_window: Option<(f64, f64)>, monochrome1: bool) -> Source {
        let len = match &samples {
            Samples::U8(v) => v.len(),
            Samples::F32(v) => v.len(),
        };
        Source {
            width: len as u32,
            height: 1,
            channels: 1,
            samples,
            monochrome1,
            file_window,
            info: SourceInfo::default(),
        }
    }

    #[test]
    fn percentiles_match_numpy() {
        // numpy.percentile(np.arange(101), [1, 99]) == [1, 99]; of [0, 10]: 2.5 → 0.25
        let s = Samples::F32((0..=100).map(|x| x as f32).collect());
        assert_eq!(percentiles(&s, 1.0, 99.0), (1.0, 99.0));
        let s = Samples::F32(vec![10.0, 0.0]);
        assert_eq!(percentiles(&s, 2.5, 100.0), (0.25, 10.0));
        let s = Samples::F32(vec![f32::NAN, 3.0, 1.0, 2.0]);
        assert_eq!(percentiles(&s, 50.0, 50.0), (2.0, 2.0));
        // The counting paths agree with the sorting path.
        let ints: Vec<f32> = (0..5000u32)
            .map(|i| (i * 7919 % 4093) as f32 - 1024.0)
            .collect();
        let halves: Vec<f32> = ints.iter().map(|x| x + 0.5).collect();
        for (lo, hi) in [(0.0, 100.0), (1.0, 99.0), (2.5, 97.5)] {
            let counted = percentiles(&Samples::F32(ints.clone()), lo, hi);
            let shifted = percentiles(&Samples::F32(halves.clone()), lo, hi);
            assert!(
                integer_percentiles(&ints, lo, hi).is_some()
                    && integer_percentiles(&halves, lo, hi).is_none()
            );
            assert_eq!((counted.0 + 0.5, counted.1 + 0.5), shifted, "{lo}–{hi}");
        }
        let bytes: Vec<u8> = (0..1000u32).map(|i| (i * 7919 % 251) as u8).collect();
        let floats = Samples::F32(bytes.iter().map(|&b| f32::from(b)).collect());
        for (lo, hi) in [(0.0, 100.0), (1.0, 99.0), (0.5, 99.5), (33.3, 66.6)] {
            assert_eq!(
                percentiles(&Samples::U8(bytes.clone()), lo, hi),
                percentiles(&floats, lo, hi),
                "{lo}–{hi}"
            );
        }
    }

    #[test]
    fn dicom_linear_window_follows_the_standard() {
        // PS3.3 C.11.2.1.2.1 with c = 40, w = 400 (a CT soft-tissue window):
        // x <= -160.5 → 0, x > 239.5 → 255, else ((x - 39.5) / 399 + 0.5) * 255.
        let m = Map::Dicom {
            center: 40.0,
            width: 400.0,
        };
        assert_eq!(m.apply(-1000.0), 0);
        assert_eq!(m.apply(-160.5), 0);
        assert_eq!(m.apply(40.0), 128); // (0.5/399 + 0.5) * 255 = 127.82
        assert_eq!(m.apply(239.0), 255); // 254.68 rounds up
        assert_eq!(m.apply(3000.0), 255);
    }

    #[test]
    fn from_file_prefers_the_file_window_then_keeps_8_bit_then_clips() {
        let (_, w) = apply(
            &source(Samples::F32(vec![0.0, 100.0]), Some((50.0, 100.0)), false),
            Windowing::FromFile,
        );
        assert_eq!((w.kind, w.center, w.width), (WindowKind::File, 50.0, 100.0));
        let (out, w) = apply(
            &source(Samples::U8(vec![0, 7, 255]), None, false),
            Windowing::FromFile,
        );
        assert_eq!((out, w.kind), (vec![0, 7, 255], WindowKind::AsIs));
        let values: Vec<f32> = (0..=1000).map(|x| x as f32).collect();
        let (out, w) = apply(
            &source(Samples::F32(values), None, false),
            Windowing::FromFile,
        );
        assert_eq!(w.kind, WindowKind::Percentile);
        assert_eq!((w.center, w.width), (500.0, 980.0));
        assert_eq!(
            (out[0], out[10], out[500], out[990], out[1000]),
            (0, 0, 127, 255, 255)
        );
    }

    #[test]
    fn microsoft_default_stretches_every_dicom_and_deep_image_keeps_8_bit_rasters() {
        // An 8-bit PNG passes unchanged.
        let (out, w) = apply(
            &source(Samples::U8(vec![3, 7, 200]), None, false),
            Windowing::default(),
        );
        assert_eq!((out, w.kind), (vec![3, 7, 200], WindowKind::AsIs));
        // An 8-bit (colour) DICOM is stretched to its percentiles: SimpleITK hands
        // Microsoft's client float32, which it always normalises.
        let mut dicom = source(Samples::U8((0..=100).collect()), Some((50.0, 10.0)), false);
        dicom.info.format = DICOM_FORMAT.into();
        let (out, w) = apply(&dicom, Windowing::default());
        assert_eq!(
            w.kind,
            WindowKind::Percentile,
            "the stored window is ignored"
        );
        assert_eq!((w.center, w.width), (50.0, 98.0));
        // (x − 1) / 98 × 255, truncated: 50 → 127.55 → 127, 98 → 252.4 → 252.
        assert_eq!(
            (out[0], out[1], out[50], out[98], out[100]),
            (0, 0, 127, 252, 255)
        );
        // Deeper than 8 bits: the same, wherever it came from.
        let values: Vec<f32> = (0..=1000).map(|x| x as f32 * 4.0).collect();
        let (_, w) = apply(
            &source(Samples::F32(values), Some((9.0, 9.0)), false),
            Windowing::default(),
        );
        assert_eq!(w.kind, WindowKind::Percentile);
    }

    #[test]
    fn monochrome1_under_a_linear_map_is_inverted_before_truncating() {
        // SimpleITK inverts first, then the client stretches and truncates:
        // y = ⌊(hi − x) / (hi − lo) × 255⌋, not 255 − ⌊(x − lo) / (hi − lo) × 255⌋.
        let values: Vec<f32> = (0..=1000).map(|x| x as f32).collect();
        let (out, w) = apply(
            &source(Samples::F32(values), None, true),
            Windowing::default(),
        );
        assert!(w.inverted);
        let expected = |x: f64| ((990.0 - x.clamp(10.0, 990.0)) / 980.0 * 255.0) as u8;
        for x in [0usize, 10, 11, 333, 500, 989, 1000] {
            assert_eq!(out[x], expected(x as f64), "x = {x}");
        }
        assert_ne!(
            out[11],
            255 - ((1.0 / 980.0 * 255.0) as u8),
            "would be the other order"
        );
    }

    #[test]
    fn monochrome1_is_inverted_after_windowing() {
        let (out, w) = apply(
            &source(Samples::F32(vec![0.0, 1023.0]), None, true),
            Windowing::MinMax,
        );
        assert_eq!(out, vec![255, 0]);
        assert!(w.inverted);
        assert_eq!(
            w.to_string(),
            "min–max window C=511.5 W=1023, MONOCHROME1 inverted"
        );
    }

    #[test]
    fn flat_image_does_not_divide_by_zero() {
        let (out, _) = apply(
            &source(Samples::F32(vec![5.0; 4]), None, false),
            Windowing::MinMax,
        );
        assert_eq!(out, vec![0; 4]);
    }

    #[test]
    fn manual_window_applies_to_8_bit_too() {
        let (out, w) = apply(
            &source(Samples::U8(vec![0, 100, 200]), None, false),
            Windowing::Manual {
                center: 100.0,
                width: 101.0,
            },
        );
        assert_eq!(w.kind, WindowKind::Manual);
        assert_eq!(out, vec![0, 129, 255]);
    }
}
