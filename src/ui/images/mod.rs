//! The images column: loading files, the gallery of thumbnails, and what the model sees
//! of the selected image.

pub mod gallery;
pub mod gallery_filter;
pub mod image_card;
pub mod image_chip;
pub mod image_inspector;
pub mod image_loader;
pub mod selection_bar;
