//! Colours for numbers: heatmaps of cosines and strips of embedding values.
//!
//! Viridis (perceptually uniform, readable by the colour-blind, dark at the low end so
//! it suits a dark page) for values in 0–1, and a blue–black–orange diverging map for
//! signed values (embedding components), black at zero. Both are interpolated from a
//! few control points of the published maps: exact to within a few units per channel,
//! which a display cannot show anyway.

/// Viridis at 9 evenly spaced points, from matplotlib's table.
const VIRIDIS: [[u8; 3]; 9] = [
    [68, 1, 84],
    [71, 44, 122],
    [59, 81, 139],
    [44, 113, 142],
    [33, 144, 141],
    [39, 173, 129],
    [92, 200, 99],
    [170, 220, 50],
    [253, 231, 37],
];

fn lerp(points: &[[u8; 3]], t: f64) -> [u8; 3] {
    let t = if t.is_nan() { 0.0 } else { t.clamp(0.0, 1.0) };
    let x = t * (points.len() - 1) as f64;
    let i = (x.floor() as usize).min(points.len() - 2);
    let f = x - i as f64;
    let (a, b) = (points[i], points[i + 1]);
    std::array::from_fn(|c| {
        (f64::from(a[c]) + (f64::from(b[c]) - f64::from(a[c])) * f).round() as u8
    })
}

/// Viridis colour of `t` in 0–1 (clamped; NaN as 0).
pub fn viridis(t: f64) -> [u8; 3] {
    lerp(&VIRIDIS, t)
}

/// Diverging colour of `v` in −1…1 (clamped): blue below zero, orange above.
pub fn diverging(v: f64) -> [u8; 3] {
    const NEG: [[u8; 3]; 2] = [[0, 0, 0], [80, 160, 255]];
    const POS: [[u8; 3]; 2] = [[0, 0, 0], [255, 170, 60]];
    if v < 0.0 {
        lerp(&NEG, -v)
    } else {
        lerp(&POS, v)
    }
}

/// RGBA pixels for a `rows × cols` matrix of values mapped to 0–1 by `(v − lo)/(hi − lo)`,
/// ready for a canvas `ImageData`.
pub fn matrix_rgba(values: &[f32], lo: f64, hi: f64) -> Vec<u8> {
    let span = if hi > lo { hi - lo } else { 1.0 };
    values
        .iter()
        .flat_map(|&v| {
            let [r, g, b] = viridis((f64::from(v) - lo) / span);
            [r, g, b, 255]
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn viridis_ends_and_middle_are_the_published_colours() {
        assert_eq!(viridis(0.0), [68, 1, 84]);
        assert_eq!(viridis(1.0), [253, 231, 37]);
        assert_eq!(viridis(0.5), [33, 144, 141]);
        assert_eq!(viridis(2.0), viridis(1.0));
        assert_eq!(viridis(f64::NAN), viridis(0.0));
    }

    #[test]
    fn viridis_brightens_monotonically() {
        let luma = |c: [u8; 3]| 0.2126 * c[0] as f64 + 0.7152 * c[1] as f64 + 0.0722 * c[2] as f64;
        let mut last = -1.0;
        for i in 0..=100 {
            let l = luma(viridis(i as f64 / 100.0));
            assert!(l >= last, "luma falls at {i}");
            last = l;
        }
    }

    #[test]
    fn diverging_is_black_at_zero_and_coloured_by_sign() {
        assert_eq!(diverging(0.0), [0, 0, 0]);
        assert_eq!(diverging(1.0), [255, 170, 60]);
        assert_eq!(diverging(-1.0), [80, 160, 255]);
    }

    #[test]
    fn matrix_rgba_gives_four_bytes_per_value() {
        let px = matrix_rgba(&[0.0, 1.0], 0.0, 1.0);
        assert_eq!(px, vec![68, 1, 84, 255, 253, 231, 37, 255]);
    }
}
