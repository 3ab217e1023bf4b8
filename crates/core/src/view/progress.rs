//! What a long computation tells the user while it runs: how far it is, how long it has
//! taken and about how long is left, in one line ("Scoring… 40 % · 6 s, about 9 s
//! left"). The estimate assumes the rest goes at the pace so far, and is only given once
//! there is a pace to speak of: early fractions are noise (start-up, the first batch
//! of a cache) and an estimate that jumps from 3 s to 40 s is worse than none.

/// Below this fraction done, no estimate of what is left.
const ESTIMATE_FROM: f64 = 0.05;

/// The status line of `what` ("Scoring", "Training") after `elapsed_ms`, with the
/// fraction done when the computation reports one.
pub fn status_line(what: &str, elapsed_ms: f64, fraction: Option<f64>) -> String {
    let elapsed = seconds(elapsed_ms);
    match fraction
        .filter(|f| f.is_finite())
        .map(|f| f.clamp(0.0, 1.0))
    {
        Some(f) if (ESTIMATE_FROM..1.0).contains(&f) => {
            let left = elapsed_ms.max(0.0) * (1.0 - f) / f;
            format!(
                "{what}… {:.0} % · {elapsed}, about {} left",
                f * 100.0,
                seconds(left)
            )
        }
        Some(f) => format!("{what}… {:.0} % · {elapsed}", f * 100.0),
        None => format!("{what}… {elapsed}"),
    }
}

/// Whole seconds, and minutes past a minute and a half ("95 s" reads worse than
/// "1 min 35 s").
fn seconds(ms: f64) -> String {
    let s = (ms.max(0.0) / 1000.0).round() as u64;
    if s >= 90 {
        format!("{} min {} s", s / 60, s % 60)
    } else {
        format!("{s} s")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_rest_is_estimated_at_the_pace_so_far() {
        // 40 % in 6 s: 60 % more at 1 s per 6.67 % is 9 s.
        assert_eq!(
            status_line("Scoring", 6_000.0, Some(0.4)),
            "Scoring… 40 % · 6 s, about 9 s left"
        );
        assert_eq!(
            status_line("Training", 30_000.0, Some(0.25)),
            "Training… 25 % · 30 s, about 1 min 30 s left"
        );
    }

    #[test]
    fn no_estimate_too_early_nor_without_a_fraction_nor_at_the_end() {
        assert_eq!(
            status_line("Scoring", 400.0, Some(0.01)),
            "Scoring… 1 % · 0 s"
        );
        assert_eq!(status_line("Scoring", 2_600.0, None), "Scoring… 3 s");
        assert_eq!(
            status_line("Scoring", 9_000.0, Some(1.0)),
            "Scoring… 100 % · 9 s"
        );
        // Nonsense from a worker is clamped rather than printed.
        assert_eq!(
            status_line("Scoring", 1_000.0, Some(f64::NAN)),
            "Scoring… 1 s"
        );
        assert_eq!(
            status_line("Scoring", 1_000.0, Some(7.0)),
            "Scoring… 100 % · 1 s"
        );
    }
}
