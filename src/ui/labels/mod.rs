//! The labels: the list of prompts with their token counts, and the prompt builder.

pub mod label_editor;
pub mod prompt_builder;
