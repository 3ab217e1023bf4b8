//! The results, one panel per tab: embeddings, similarity, zero-shot, neighbours,
//! outliers, the map, the classifier, studies, and export/import.

pub mod classifier_view;
pub mod embeddings_table;
pub mod export_panel;
pub mod map_plot;
pub mod neighbours_view;
pub mod outliers_view;
pub mod pca_map;
pub mod similarity_drill;
pub mod similarity_full;
pub mod similarity_heatmap;
pub mod similarity_summary;
pub mod studies_view;
pub mod zero_shot_view;
