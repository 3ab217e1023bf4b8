//! The app's components, one per file, each named after what the user sees.

pub mod app;
pub mod endpoint_status;
