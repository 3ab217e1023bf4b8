//! MedImageInsight Explorer, the browser app: a Leptos client-side app compiled to
//! WebAssembly.
//!
//! Components live one per file under [`ui`], named after what the user sees. Browser
//! APIs are called only from the small modules at this level ([`browser`], [`files`],
//! [`score_client`], [`endpoint_client`], [`worker_pool`]); the state is [`session`],
//! the work is [`preparation`] (in Web Workers, [`compute_worker`]) and [`run`];
//! everything that can be computed without a browser lives in `medinsight-core`.

pub mod analyst;
pub mod browser;
pub mod compute_worker;
pub mod endpoint_client;
pub mod files;
pub mod preparation;
pub mod run;
pub mod score_client;
pub mod session;
pub mod store;
pub mod tokens;
pub mod ui;
pub mod worker_pool;

pub use ui::app::App;

/// The product's name, as the user sees it in the title bar and the header.
pub const PRODUCT_NAME: &str = "MedImageInsight Explorer";
