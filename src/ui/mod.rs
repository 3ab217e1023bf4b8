//! The components, one per file, named after what the user sees.

pub mod app;
pub mod classifier_view;
pub mod confusion_matrix;
pub mod embedding_strip;
pub mod embeddings_table;
pub mod emulator_banner;
pub mod endpoint_status;
pub mod export_panel;
pub mod gallery;
pub mod image_chip;
pub mod image_inspector;
pub mod image_loader;
pub mod label_editor;
pub mod neighbours_view;
pub mod outliers_view;
pub mod pca_map;
pub mod prompt_builder;
pub mod run_panel;
pub mod settings_panel;
pub mod similarity_heatmap;
pub mod studies_view;
pub mod theme_toggle;
pub mod zero_shot_view;

/// The number typed into a field, if it is one (finite, for floats): what every numeric
/// input of the page reads on `change`.
pub fn typed<T: std::str::FromStr>(e: &leptos::ev::Event) -> Option<T> {
    leptos::prelude::event_target_value(e).trim().parse().ok()
}
