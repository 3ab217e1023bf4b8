//! How well zero-shot labels match the ground truth the user gave (folder names).
//!
//! Ground truth is a class name ("Atelectasis"); labels are prompts built around it
//! ("x-ray chest anteroposterior Atelectasis"). A prompt stands for a class when it is
//! the class name or ends with it as whole words, ignoring case: the prompt builder puts
//! the condition last, as the model was trained. Images whose ground truth matches no
//! prompt, or several, are left out of the accuracy rather than guessed.

/// Index of the one prompt standing for `truth`, if exactly one does.
pub fn prompt_for(truth: &str, prompts: &[String]) -> Option<usize> {
    let truth = truth.trim().to_lowercase();
    if truth.is_empty() {
        return None;
    }
    let matches: Vec<usize> = prompts
        .iter()
        .enumerate()
        .filter(|(_, p)| {
            let p = p.trim().to_lowercase();
            p == truth
                || p.strip_suffix(truth.as_str())
                    .is_some_and(|head| head.ends_with(|c: char| !c.is_alphanumeric()))
        })
        .map(|(i, _)| i)
        .collect();
    (matches.len() == 1).then(|| matches[0])
}

/// Accuracy and confusion counts over the images whose truth is known.
#[derive(Clone, Debug, PartialEq)]
pub struct Confusion {
    /// Number of classes (prompts); `counts` is `n × n`, rows = truth, columns = predicted.
    pub n: usize,
    pub counts: Vec<u32>,
    /// Images counted (truth known).
    pub evaluated: usize,
    pub correct: usize,
}

impl Confusion {
    /// `truth[i]` is image i's true prompt index (if known), `predicted[i]` its top-1.
    pub fn new(n: usize, truth: &[Option<usize>], predicted: &[usize]) -> Self {
        let mut counts = vec![0; n * n];
        let (mut evaluated, mut correct) = (0, 0);
        for (t, &p) in truth.iter().zip(predicted) {
            if let Some(t) = *t {
                if t < n && p < n {
                    counts[t * n + p] += 1;
                    evaluated += 1;
                    correct += usize::from(t == p);
                }
            }
        }
        Self {
            n,
            counts,
            evaluated,
            correct,
        }
    }

    /// Fraction correct, `None` when nothing could be evaluated.
    pub fn accuracy(&self) -> Option<f64> {
        (self.evaluated > 0).then(|| self.correct as f64 / self.evaluated as f64)
    }
}

/// Index of the largest value (the first one on ties); `None` for an empty slice.
pub fn argmax(values: &[f64]) -> Option<usize> {
    values
        .iter()
        .enumerate()
        .fold(None, |best: Option<(usize, f64)>, (i, &v)| match best {
            Some((_, b)) if b >= v => best,
            _ => Some((i, v)),
        })
        .map(|(i, _)| i)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn prompts(p: &[&str]) -> Vec<String> {
        p.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn a_class_matches_the_prompt_that_ends_with_it() {
        let p = prompts(&[
            "x-ray chest anteroposterior Atelectasis",
            "x-ray chest anteroposterior No Finding",
            "Effusion",
        ]);
        assert_eq!(prompt_for("atelectasis", &p), Some(0));
        assert_eq!(prompt_for("No Finding", &p), Some(1));
        assert_eq!(prompt_for("effusion", &p), Some(2));
        assert_eq!(prompt_for("ding", &p), None, "only whole words");
        assert_eq!(prompt_for("lectasis", &p), None);
        assert_eq!(prompt_for("", &p), None);
        assert_eq!(prompt_for("Pneumothorax", &p), None);
    }

    #[test]
    fn an_ambiguous_class_is_not_guessed() {
        let p = prompts(&["ct chest nodule", "x-ray chest nodule"]);
        assert_eq!(prompt_for("nodule", &p), None);
    }

    #[test]
    fn confusion_counts_by_truth_and_prediction() {
        let c = Confusion::new(2, &[Some(0), Some(0), Some(1), None], &[0, 1, 1, 0]);
        assert_eq!(c.counts, vec![1, 1, 0, 1]);
        assert_eq!(c.evaluated, 3);
        assert_eq!(c.correct, 2);
        assert!((c.accuracy().unwrap() - 2.0 / 3.0).abs() < 1e-12);
        assert_eq!(Confusion::new(2, &[None], &[0]).accuracy(), None);
    }

    #[test]
    fn argmax_takes_the_first_of_equals() {
        assert_eq!(argmax(&[0.2, 0.5, 0.5, 0.1]), Some(1));
        assert_eq!(argmax(&[]), None);
    }
}
