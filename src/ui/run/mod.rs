//! Running: the settings a run uses, and the run's buttons and progress.

pub mod run_panel;
pub mod settings_panel;
