//! Fuzz target: the two ways a user brings vectors back, as the export panel reads them
//! — a session file (`formats::session::read`) and an `.npy` with its metadata TSV
//! (`formats::session::import_vectors`, through `read_npy` and `read_metadata`), both
//! texts decoded lossily as the app does. Whatever the files, the result is the
//! imported images or an `ImportError`, never a panic; and what is accepted holds only
//! vectors every analysis can use. Run with `scripts/fuzz import`.
#![no_main]

use libfuzzer_sys::fuzz_target;
use medinsight_core::formats::session;
use medinsight_core::EMBEDDING_DIM;
use medinsight_fuzz::{import_input, ImportInput};

fn usable(v: &[f32]) {
    assert_eq!(v.len(), EMBEDDING_DIM);
    assert!(v.iter().all(|x| x.is_finite()));
}

fuzz_target!(|data: &[u8]| {
    match import_input(data) {
        Some(ImportInput::Session(text)) => {
            if let Ok(file) = session::read(&String::from_utf8_lossy(text)) {
                let images = file.images.iter().filter_map(|i| i.vector.as_deref());
                let labels = file.labels.iter().filter_map(|l| l.vector.as_deref());
                images.chain(labels).for_each(usable);
            }
        }
        Some(ImportInput::Vectors { npy, tsv }) => {
            if let Ok(images) = session::import_vectors(npy, &String::from_utf8_lossy(tsv)) {
                images
                    .iter()
                    .filter_map(|i| i.vector.as_deref())
                    .for_each(usable);
            }
        }
        None => {}
    }
});
