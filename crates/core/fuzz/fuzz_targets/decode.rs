//! Fuzz target: the pipeline's entry point on arbitrary bytes must return, never panic,
//! hang or allocate beyond the pixel budget. Run (see the README):
//! `RUSTC_BOOTSTRAP=1 cargo fuzz run decode CORPUS -- -max_total_time=300 -rss_limit_mb=2048`
#![no_main]

use libfuzzer_sys::fuzz_target;
use medinsight_core::pipeline::{prepare, PrepareOptions};

fuzz_target!(|data: &[u8]| {
    let _ = prepare(data, PrepareOptions::default());
});
