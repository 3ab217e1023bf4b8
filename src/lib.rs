//! MedImageInsight Explorer, the browser app: a Leptos client-side app compiled to
//! WebAssembly.
//!
//! Its folders are its architecture: the session's [`state`] as signals, kept in the
//! browser by [`persist`]; the [`work`] that happens over time (preparation, runs,
//! analyses); the compute [`worker`] (its protocol, its handler, the pool); the browser's
//! capabilities in [`platform`], one small file each; and the components in [`ui`].
//! Everything that can be computed without a browser lives in `medinsight-core`.

pub mod persist;
pub mod platform;
pub mod state;
pub mod ui;
pub mod work;
pub mod worker;

pub use ui::app::App;

/// The product's name, as the user sees it in the title bar and the header.
pub const PRODUCT_NAME: &str = "MedImageInsight Explorer";
