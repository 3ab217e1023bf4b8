//! The worker pool with real workers, in headless Chromium: a `File` sent to a worker is
//! read and prepared there exactly as the page would prepare its bytes; a worker that
//! panics fails its job at once with a plain reason, is replaced, and the job queued
//! behind it still prepares; a file over the size limit is refused unread; a worker
//! that cannot start fails its job instead of leaving it to the timeout.
//!
//! The workers run this test's own wasm: a module worker imports the runner's
//! `wasm-bindgen-test.js` and calls [`medinsight_test_worker`], the app worker's entry
//! point. (`Job::Crash`, the panic on request, exists in debug builds only, which is
//! what tests build.)
#![cfg(target_arch = "wasm32")]

mod common;

use common::now;
use medinsight_core::pipeline::{prepare, PrepareOptions};
use medinsight_web::worker::pool::{WorkerPool, WorkerScript, JOB_TIMEOUT_MS};
use medinsight_web::worker::protocol::{JobKind, WorkerError};
use wasm_bindgen::prelude::*;
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

const FUNDUS: &[u8] = include_bytes!("../../shared/testdata/fundus_retina.png");
const MR_J2K: &[u8] = include_bytes!("../../shared/testdata/dicom/MR_small_jp2klossless.dcm");

/// The compute worker's entry, exported from this test's wasm for the test workers.
#[wasm_bindgen]
pub fn medinsight_test_worker() {
    medinsight_web::worker::handler::run();
}

/// A module worker that loads this test's wasm and runs the compute worker in it.
fn test_script() -> WorkerScript {
    let origin = web_sys::window().unwrap().location().origin().unwrap();
    let source = format!(
        "import init, {{ medinsight_test_worker }} from '{origin}/wasm-bindgen-test.js';\n\
         await init('{origin}/wasm-bindgen-test_bg.wasm');\n\
         medinsight_test_worker();\n"
    );
    let parts = js_sys::Array::of1(&source.into());
    let options = web_sys::BlobPropertyBag::new();
    options.set_type("text/javascript");
    let blob = web_sys::Blob::new_with_str_sequence_and_options(&parts, &options).unwrap();
    WorkerScript {
        url: web_sys::Url::create_object_url_with_blob(&blob).unwrap(),
        module: true,
    }
}

fn file(bytes: &[u8], name: &str) -> web_sys::File {
    let parts = js_sys::Array::of1(&js_sys::Uint8Array::from(bytes));
    web_sys::File::new_with_u8_array_sequence(&parts, name).unwrap()
}

#[wasm_bindgen_test]
async fn a_file_sent_to_the_worker_is_prepared_as_the_page_would() {
    let pool = WorkerPool::with_script(test_script(), 2);
    for (worker, (bytes, name)) in [(FUNDUS, "fundus.png"), (MR_J2K, "mr.dcm")]
        .into_iter()
        .enumerate()
    {
        let options = PrepareOptions::default();
        let prepared = pool
            .run_prepare(worker, &file(bytes, name), options)
            .await
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        let here = prepare(bytes, options).unwrap();
        assert_eq!(prepared.png, here.png, "{name}");
        assert_eq!(
            prepared.fingerprint,
            medinsight_core::fingerprint(&here.png)
        );
        assert_eq!(prepared.source, here.source, "{name}");
    }
}

#[wasm_bindgen_test]
async fn a_worker_that_panics_fails_its_job_at_once_and_the_next_file_still_prepares() {
    let pool = WorkerPool::with_script(test_script(), 1);
    let options = PrepareOptions::default();
    let start = now();
    // The good file is queued behind the crash on the same worker: it must be sent
    // again to the fresh worker, not failed with the crash.
    let fundus = file(FUNDUS, "fundus.png");
    let (crash, queued) =
        futures::future::join(pool.run_crash(0), pool.run_prepare(0, &fundus, options)).await;
    let elapsed = now() - start;
    let err = crash.unwrap_err();
    assert!(
        matches!(
            &err,
            WorkerError::Crashed {
                job: JobKind::Prepare,
                ..
            }
        ),
        "{err:?}"
    );
    let message = err.to_string();
    assert!(
        message.starts_with("the decoder crashed on this file (")
            && message.ends_with("; the file may be damaged; the other files go on"),
        "{message}"
    );
    // Not the timeout's doing: that would take JOB_TIMEOUT_MS and say "took over".
    assert!(
        elapsed < 10_000.0 && elapsed < f64::from(JOB_TIMEOUT_MS),
        "the crash came back after {elapsed:.0} ms"
    );
    web_sys::console::log_1(&format!("crash reported in {elapsed:.0} ms: {message}").into());
    let expected = prepare(FUNDUS, options).unwrap().png;
    assert_eq!(queued.expect("the queued file prepares").png, expected);
    // And the pool goes on with its fresh worker.
    let again = pool.run_prepare(0, &fundus, options).await.unwrap();
    assert_eq!(again.png, expected);
}

#[wasm_bindgen_test]
async fn a_file_over_the_limit_is_refused_unread() {
    // No worker could start from this script: the refusal cannot have come from one.
    let pool = WorkerPool::with_script(
        WorkerScript {
            url: "/no-such-worker.js".into(),
            module: false,
        },
        1,
    );
    pool.set_file_limit(1000);
    let err = pool
        .run_prepare(0, &file(FUNDUS, "fundus.png"), PrepareOptions::default())
        .await
        .unwrap_err();
    assert!(matches!(err, WorkerError::TooLarge(_)), "{err:?}");
    assert_eq!(FUNDUS.len(), 270_703);
    assert_eq!(
        err.to_string(),
        "fundus.png is 271 kB; files over 1000 bytes are not read"
    );
}

#[wasm_bindgen_test]
async fn a_worker_that_cannot_start_fails_its_job_instead_of_timing_out() {
    let pool = WorkerPool::with_script(
        WorkerScript {
            url: "/no-such-worker.js".into(),
            module: false,
        },
        1,
    );
    let err = pool
        .run_prepare(0, &file(FUNDUS, "fundus.png"), PrepareOptions::default())
        .await
        .unwrap_err();
    assert!(
        matches!(err, WorkerError::Crashed { .. } | WorkerError::NoWorker(_)),
        "{err:?}"
    );
}
