//! RGB JPEG 2000 DICOMs that ship with pydicom, prepared to the end: decoding them used
//! to free a never-allocated code block through the Rust allocator inside openjp2 0.6.1
//! (undefined behaviour: an abort under the standard library's debug checks, a trap in
//! wasm32's dlmalloc that the core's null-tolerant allocator had to absorb), found by
//! `scripts/fuzz decode`. The root Cargo.toml patches openjp2 with
//! the two missing null checks. This test binary's allocator counts what the Rust
//! allocator must never be asked (freeing a null pointer, a zero-size block), which a
//! native build otherwise lets pass silently, so it fails without the patch.
//!
//! The files come from the pydicom of the test Python (`MEDINSIGHT_PYTHON`, installed by
//! scripts/bootstrap), so none is copied into this repository. Native only: it runs
//! Python, and in wasm32 the core brings its own allocator.
#![cfg(not(target_arch = "wasm32"))]

use std::alloc::{GlobalAlloc, Layout, System};
use std::path::PathBuf;
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};

use medinsight_core::pipeline::{prepare, PrepareOptions};

/// The system allocator, counting the requests `GlobalAlloc` forbids instead of
/// passing them on.
struct Strict;

static FORBIDDEN: AtomicUsize = AtomicUsize::new(0);

unsafe impl GlobalAlloc for Strict {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if layout.size() == 0 {
            FORBIDDEN.fetch_add(1, Ordering::SeqCst);
        }
        System.alloc(layout)
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        if layout.size() == 0 {
            FORBIDDEN.fetch_add(1, Ordering::SeqCst);
        }
        System.alloc_zeroed(layout)
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        if ptr.is_null() {
            FORBIDDEN.fetch_add(1, Ordering::SeqCst);
            return;
        }
        System.dealloc(ptr, layout)
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        System.realloc(ptr, layout, new_size)
    }
}

#[global_allocator]
static ALLOCATOR: Strict = Strict;

/// The path of one of pydicom's own test files.
fn pydicom_file(name: &str) -> PathBuf {
    let python = std::env::var("MEDINSIGHT_PYTHON").unwrap_or_else(|_| "python3".into());
    let out = Command::new(&python)
        .args([
            "-c",
            "import sys; from pydicom.data import get_testdata_file as f; print(f(sys.argv[1]))",
            name,
        ])
        .output()
        .unwrap_or_else(|e| panic!("could not run {python} (run scripts/bootstrap): {e}"));
    assert!(
        out.status.success(),
        "{python} cannot find pydicom's {name} (run scripts/bootstrap): {}",
        String::from_utf8_lossy(&out.stderr)
    );
    PathBuf::from(String::from_utf8_lossy(&out.stdout).trim())
}

#[test]
fn rgb_jpeg2000_dicoms_prepare_and_their_decoder_is_freed_cleanly() {
    for name in ["SC_rgb_gdcm_KY.dcm", "examples_jpeg2k.dcm"] {
        let path = pydicom_file(name);
        let bytes =
            std::fs::read(&path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
        let before = FORBIDDEN.load(Ordering::SeqCst);
        let prepared =
            prepare(&bytes, PrepareOptions::default()).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(
            FORBIDDEN.load(Ordering::SeqCst) - before,
            0,
            "{name}: the decoder freed a null pointer or asked for an empty block"
        );
        assert_eq!(prepared.channels, 3, "{name}: an RGB image stays RGB");
        assert_eq!(prepared.pixels.len(), 512 * 512 * 3, "{name}");
        // Not one flat colour: the codestream was decoded, not replaced by zeros.
        let first = &prepared.pixels[..3];
        assert!(
            prepared.pixels.chunks(3).any(|p| p != first),
            "{name}: a flat image"
        );
    }
}
