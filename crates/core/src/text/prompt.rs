//! The prompt builder's rule: MedImageInsight's text encoder was trained on captions of
//! the form `<modality> <anatomy> <exam parameters> <condition>` (for example
//! `x-ray chest anteroposterior Atelectasis`), and zero-shot works best when every label
//! follows the same form. The builder fills the first three parts once and writes one
//! prompt per condition.

/// The four parts; empty parts are skipped.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PromptParts {
    pub modality: String,
    pub anatomy: String,
    pub exam: String,
    pub condition: String,
}

impl PromptParts {
    /// The parts joined by single spaces, each trimmed and inner runs of blanks collapsed.
    pub fn prompt(&self) -> String {
        [&self.modality, &self.anatomy, &self.exam, &self.condition]
            .iter()
            .flat_map(|p| p.split_whitespace())
            .collect::<Vec<_>>()
            .join(" ")
    }

    /// One prompt per condition (one condition per line or comma), empty ones skipped.
    pub fn prompts_for(&self, conditions: &str) -> Vec<String> {
        conditions
            .split(['\n', ','])
            .map(str::trim)
            .filter(|c| !c.is_empty())
            .map(|c| {
                PromptParts {
                    condition: c.to_string(),
                    ..self.clone()
                }
                .prompt()
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builds_the_documented_example() {
        let p = PromptParts {
            modality: "x-ray".into(),
            anatomy: " chest ".into(),
            exam: "anteroposterior".into(),
            condition: "Atelectasis".into(),
        };
        assert_eq!(p.prompt(), "x-ray chest anteroposterior Atelectasis");
    }

    #[test]
    fn skips_empty_parts_and_writes_one_prompt_per_condition() {
        let p = PromptParts {
            modality: "ct".into(),
            anatomy: "abdomen".into(),
            ..Default::default()
        };
        assert_eq!(
            p.prompts_for("liver lesion\n, kidney  stone\n\n"),
            vec!["ct abdomen liver lesion", "ct abdomen kidney stone"]
        );
    }
}
