//! The `medinsight` command line as a library, so that every router can be built with
//! `app(..)` and tested with `oneshot` without a socket.
//!
//! - [`check`]: probes an endpoint and says whether the app's assumptions hold.
//! - [`embed`]: folders of images embedded from the command line, in shards, resumable.
//! - [`emulate`]: the MedImageInsight endpoint emulated locally, plus the built app.
//! - [`generate`]: a seeded synthetic session of N images (benchmarks, tests at scale).
//! - [`prepare`]: the image pipeline on files.
//! - [`proxy`]: the app, and `/score` forwarded to a real endpoint with the key added.
//! - [`same_origin`]: which requests may make the proxy spend the key.
//! - [`static_files`]: serving the app's `dist/` folder.
//! - [`security_headers`]: the headers every answer carries, page or API.
//! - [`serve`]: binding, announcing the address, shutting down on Ctrl-C.

pub mod check;
pub mod cli;
pub mod embed;
pub mod emulate;
pub mod generate;
pub mod prepare;
pub mod proxy;
pub mod same_origin;
pub mod security_headers;
pub mod serve;
pub mod static_files;
