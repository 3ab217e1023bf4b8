//! MedImageInsight Explorer, the browser app: a Leptos client-side app compiled to
//! WebAssembly.
//!
//! Components live one per file under [`ui`], named after what the user sees. The only
//! modules that call browser APIs are the small ones at this level ([`endpoint_client`]);
//! everything that can be computed without a browser lives in `medinsight-core`.

pub mod endpoint_client;
pub mod ui;

pub use ui::app::App;

/// The product's name, as the user sees it in the title bar and the header.
pub const PRODUCT_NAME: &str = "MedImageInsight Explorer";
