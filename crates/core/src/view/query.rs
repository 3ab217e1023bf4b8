//! Which images the gallery shows, in which order: a filter on what the user knows of
//! each image (its name, ground truth, stage, zero-shot prediction, whether that
//! prediction is wrong, whether it is picked) and a sort on one of them. The page
//! gathers each image's [`Facts`] and asks [`Query::apply`] for the positions to show;
//! at 10 000 images that is a few milliseconds, so it runs again on every change rather
//! than being kept in step by hand.

use std::cmp::Ordering;

/// What the gallery knows of one image.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Facts<'a> {
    pub name: &'a str,
    /// Ground truth ("" when unlabelled).
    pub label: &'a str,
    /// The stage's word (`Stage::word`).
    pub stage: &'a str,
    /// From the last outlier scoring, if the image took part.
    pub outlier: Option<f32>,
    /// The zero-shot label it is given, if there are labels and a vector.
    pub prediction: Option<&'a str>,
    /// Whether that prediction contradicts the ground truth; `None` when it cannot be
    /// told (no prediction, or a ground truth that matches no single label).
    pub misclassified: Option<bool>,
    pub picked: bool,
}

/// Which ground truths to show.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum LabelFilter {
    #[default]
    Any,
    Unlabelled,
    Is(String),
}

/// What the gallery is ordered by.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum SortKey {
    /// The order images were loaded in.
    #[default]
    Loaded,
    Name,
    Label,
    Stage,
    /// Highest score first when descending; unscored images last either way.
    Outlier,
    Prediction,
}

impl SortKey {
    pub const ALL: [SortKey; 6] = [
        SortKey::Loaded,
        SortKey::Name,
        SortKey::Label,
        SortKey::Stage,
        SortKey::Outlier,
        SortKey::Prediction,
    ];

    /// The word used in the page's controls (and their `value`s).
    pub fn word(self) -> &'static str {
        match self {
            SortKey::Loaded => "loaded",
            SortKey::Name => "name",
            SortKey::Label => "label",
            SortKey::Stage => "stage",
            SortKey::Outlier => "outlier",
            SortKey::Prediction => "prediction",
        }
    }

    pub fn from_word(word: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.word() == word)
    }
}

/// The gallery's filter and order.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Query {
    /// Shown if the name contains it, ignoring case ("" shows all).
    pub text: String,
    pub label: LabelFilter,
    /// A stage's word, or `None` for every stage.
    pub stage: Option<String>,
    /// A zero-shot label, or `None` for any prediction (or none).
    pub prediction: Option<String>,
    /// Only images whose zero-shot prediction contradicts their ground truth.
    pub misclassified: bool,
    /// Only the picked images.
    pub picked: bool,
    pub sort: SortKey,
    pub descending: bool,
}

impl Query {
    /// Whether the filter shows this image.
    pub fn matches(&self, f: &Facts) -> bool {
        let text_ok = self.text.is_empty() || contains_ignoring_case(f.name, &self.text);
        let label_ok = match &self.label {
            LabelFilter::Any => true,
            LabelFilter::Unlabelled => f.label.is_empty(),
            LabelFilter::Is(l) => f.label == l,
        };
        text_ok
            && label_ok
            && self.stage.as_deref().is_none_or(|s| f.stage == s)
            && self
                .prediction
                .as_deref()
                .is_none_or(|p| f.prediction == Some(p))
            && (!self.misclassified || f.misclassified == Some(true))
            && (!self.picked || f.picked)
    }

    /// Whether showing the result needs the zero-shot predictions (so the page computes
    /// them only then).
    pub fn needs_predictions(&self) -> bool {
        self.prediction.is_some() || self.misclassified || self.sort == SortKey::Prediction
    }

    /// The positions in `facts` to show, in the order to show them. The sort is stable
    /// (ties keep load order) and images without the sorted value come last in either
    /// direction.
    pub fn apply(&self, facts: &[Facts]) -> Vec<usize> {
        let mut shown: Vec<usize> = (0..facts.len())
            .filter(|&i| self.matches(&facts[i]))
            .collect();
        let by = |a: &Facts, b: &Facts| -> Ordering {
            match self.sort {
                SortKey::Loaded => Ordering::Equal,
                SortKey::Name => alphanumeric_sort::compare_str(a.name, b.name),
                SortKey::Label => present_first(
                    (!a.label.is_empty()).then_some(a.label),
                    (!b.label.is_empty()).then_some(b.label),
                    self.descending,
                    alphanumeric_sort::compare_str,
                ),
                SortKey::Stage => a.stage.cmp(b.stage),
                SortKey::Outlier => present_first(a.outlier, b.outlier, self.descending, |x, y| {
                    x.total_cmp(&y)
                }),
                SortKey::Prediction => present_first(
                    a.prediction,
                    b.prediction,
                    self.descending,
                    alphanumeric_sort::compare_str,
                ),
            }
        };
        shown.sort_by(|&i, &j| {
            let o = by(&facts[i], &facts[j]);
            let o = if self.descending { o.reverse() } else { o };
            o.then(i.cmp(&j))
        });
        shown
    }
}

/// Orders values, with missing ones after present ones whatever the direction (the
/// caller reverses the whole order when descending, so missing ones are put first then
/// to end up last).
fn present_first<T: Copy>(
    a: Option<T>,
    b: Option<T>,
    descending: bool,
    cmp: impl Fn(T, T) -> Ordering,
) -> Ordering {
    let missing_last = if descending {
        Ordering::Less
    } else {
        Ordering::Greater
    };
    match (a, b) {
        (Some(a), Some(b)) => cmp(a, b),
        (None, None) => Ordering::Equal,
        (None, Some(_)) => missing_last,
        (Some(_), None) => missing_last.reverse(),
    }
}

fn contains_ignoring_case(haystack: &str, needle: &str) -> bool {
    haystack.to_lowercase().contains(&needle.to_lowercase())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn facts() -> Vec<Facts<'static>> {
        vec![
            Facts {
                name: "img10.png",
                label: "effusion",
                stage: "embedded",
                outlier: Some(0.2),
                prediction: Some("effusion"),
                misclassified: Some(false),
                picked: false,
            },
            Facts {
                name: "img2.png",
                label: "normal",
                stage: "embedded",
                outlier: Some(0.9),
                prediction: Some("effusion"),
                misclassified: Some(true),
                picked: true,
            },
            Facts {
                name: "IMG1.dcm",
                label: "",
                stage: "failed",
                outlier: None,
                prediction: None,
                misclassified: None,
                picked: false,
            },
            Facts {
                name: "scan.png",
                label: "normal",
                stage: "ready",
                outlier: None,
                prediction: None,
                misclassified: None,
                picked: true,
            },
            Facts {
                name: "other.png",
                label: "effusion",
                stage: "embedded",
                outlier: Some(0.5),
                prediction: Some("normal"),
                misclassified: Some(true),
                picked: false,
            },
        ]
    }

    fn shown(q: &Query) -> Vec<&'static str> {
        let f = facts();
        q.apply(&f).into_iter().map(|i| f[i].name).collect()
    }

    #[test]
    fn no_filter_shows_everything_in_load_order() {
        assert_eq!(
            shown(&Query::default()),
            ["img10.png", "img2.png", "IMG1.dcm", "scan.png", "other.png"]
        );
    }

    #[test]
    fn each_filter_keeps_exactly_its_images() {
        let q = |f: fn(&mut Query)| {
            let mut q = Query::default();
            f(&mut q);
            shown(&q)
        };
        assert_eq!(
            q(|q| q.text = "img".into()),
            ["img10.png", "img2.png", "IMG1.dcm"]
        );
        assert_eq!(
            q(|q| q.label = LabelFilter::Is("effusion".into())),
            ["img10.png", "other.png"]
        );
        assert_eq!(q(|q| q.label = LabelFilter::Unlabelled), ["IMG1.dcm"]);
        assert_eq!(
            q(|q| q.stage = Some("embedded".into())),
            ["img10.png", "img2.png", "other.png"]
        );
        assert_eq!(
            q(|q| q.prediction = Some("effusion".into())),
            ["img10.png", "img2.png"]
        );
        assert_eq!(q(|q| q.misclassified = true), ["img2.png", "other.png"]);
        assert_eq!(q(|q| q.picked = true), ["img2.png", "scan.png"]);
        // Filters combine.
        assert_eq!(
            q(|q| {
                q.label = LabelFilter::Is("normal".into());
                q.picked = true;
                q.stage = Some("ready".into());
            }),
            ["scan.png"]
        );
    }

    #[test]
    fn names_sort_as_people_read_them() {
        let mut q = Query {
            sort: SortKey::Name,
            ..Query::default()
        };
        assert_eq!(
            shown(&q),
            ["IMG1.dcm", "img2.png", "img10.png", "other.png", "scan.png"]
        );
        q.descending = true;
        assert_eq!(
            shown(&q),
            ["scan.png", "other.png", "img10.png", "img2.png", "IMG1.dcm"]
        );
    }

    #[test]
    fn missing_values_come_last_in_both_directions() {
        let mut q = Query {
            sort: SortKey::Outlier,
            descending: true,
            ..Query::default()
        };
        assert_eq!(
            shown(&q),
            ["img2.png", "other.png", "img10.png", "IMG1.dcm", "scan.png"]
        );
        q.descending = false;
        assert_eq!(
            shown(&q),
            ["img10.png", "other.png", "img2.png", "IMG1.dcm", "scan.png"]
        );
        let q = Query {
            sort: SortKey::Label,
            ..Query::default()
        };
        assert_eq!(
            shown(&q),
            ["img10.png", "other.png", "img2.png", "scan.png", "IMG1.dcm"]
        );
        let q = Query {
            sort: SortKey::Prediction,
            descending: true,
            ..Query::default()
        };
        assert_eq!(
            shown(&q),
            ["other.png", "img10.png", "img2.png", "IMG1.dcm", "scan.png"]
        );
    }

    #[test]
    fn ties_keep_load_order() {
        let q = Query {
            sort: SortKey::Stage,
            ..Query::default()
        };
        assert_eq!(
            shown(&q),
            ["img10.png", "img2.png", "other.png", "IMG1.dcm", "scan.png"]
        );
    }

    #[test]
    fn only_prediction_filters_and_sorts_need_predictions() {
        assert!(!Query::default().needs_predictions());
        assert!(Query {
            misclassified: true,
            ..Query::default()
        }
        .needs_predictions());
        assert!(Query {
            sort: SortKey::Prediction,
            ..Query::default()
        }
        .needs_predictions());
        assert!(!Query {
            sort: SortKey::Outlier,
            ..Query::default()
        }
        .needs_predictions());
    }

    #[test]
    fn sort_words_round_trip() {
        for k in SortKey::ALL {
            assert_eq!(SortKey::from_word(k.word()), Some(k));
        }
        assert_eq!(SortKey::from_word("size"), None);
    }

    #[test]
    fn ten_thousand_images_filter_and_sort_consistently() {
        let names: Vec<String> = (0..10_000)
            .map(|i| format!("img{}.png", (i * 7919) % 10_000))
            .collect();
        let labels = ["a", "b", "c", ""];
        let facts: Vec<Facts> = names
            .iter()
            .enumerate()
            .map(|(i, n)| Facts {
                name: n,
                label: labels[i % 4],
                stage: "embedded",
                outlier: (i % 3 != 0).then_some(((i * 31) % 1000) as f32),
                ..Facts::default()
            })
            .collect();
        let q = Query {
            label: LabelFilter::Is("b".into()),
            sort: SortKey::Outlier,
            descending: true,
            ..Query::default()
        };
        let out = q.apply(&facts);
        assert_eq!(out.len(), 2_500);
        assert!(out.iter().all(|&i| facts[i].label == "b"));
        let scores: Vec<Option<f32>> = out.iter().map(|&i| facts[i].outlier).collect();
        let first_none = scores
            .iter()
            .position(Option::is_none)
            .unwrap_or(scores.len());
        assert!(scores[first_none..].iter().all(Option::is_none));
        assert!(scores[..first_none].windows(2).all(|w| w[0] >= w[1]));
    }
}
