//! The zero-shot results in the layout of Microsoft's zero-shot notebook
//! (`file_name, zero_shot_pred, ground_truth_label`), so that its evaluation cells run
//! on the app's output unchanged.

use super::csv::csv_field;

/// One image's zero-shot result.
#[derive(Clone, Debug, PartialEq)]
pub struct ZeroShotRow {
    pub file_name: String,
    pub prediction: String,
    pub ground_truth: String,
}

/// The zero-shot notebook's results table.
pub fn zero_shot_csv(rows: &[ZeroShotRow]) -> String {
    let mut out = String::from("file_name,zero_shot_pred,ground_truth_label\n");
    for r in rows {
        out.push_str(&format!(
            "{},{},{}\n",
            csv_field(&r.file_name),
            csv_field(&r.prediction),
            csv_field(&r.ground_truth)
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zero_shot_csv_uses_the_notebooks_columns() {
        let csv = zero_shot_csv(&[ZeroShotRow {
            file_name: "a,1.png".into(),
            prediction: "x-ray chest Effusion".into(),
            ground_truth: "Effusion".into(),
        }]);
        assert_eq!(csv, "file_name,zero_shot_pred,ground_truth_label\n\"a,1.png\",x-ray chest Effusion,Effusion\n");
    }
}
