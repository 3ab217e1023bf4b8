//! The five C library functions the JPEG 2000 decoder needs, for wasm32 in browsers.
//!
//! `openjp2` (the pure-Rust translation of OpenJPEG that dicom-rs uses for JPEG 2000)
//! still calls `malloc`, `calloc`, `realloc`, `free` and `strcpy` through `extern "C"`.
//! `wasm32-unknown-unknown` has no C library, so the browser would refuse to instantiate
//! a module importing them and the whole app would stay blank. They are provided here
//! over Rust's global allocator. Each block carries a 16-byte header with its total
//! size, which `free` and `realloc` need and C's interface does not pass; 16 keeps the
//! alignment `malloc` promises.
//!
//! openjp2 also hands null pointers to Rust's `dealloc` when it frees a tile whose
//! code blocks were never decoded. Natively the system allocator shrugs; wasm's
//! dlmalloc reads out of bounds and the tab's module traps. The workspace now patches
//! openjp2 at the source (vendor/openjp2); the global allocator for wasm32 stays the
//! system one with null deallocations ignored, in case another path does the same.

use std::alloc::{alloc, alloc_zeroed, dealloc, realloc as grow, GlobalAlloc, Layout, System};
use std::ffi::c_void;

struct NullTolerant;

// SAFETY: every call is forwarded to `System`, except deallocating null, which is a
// no-op (nothing was allocated there).
unsafe impl GlobalAlloc for NullTolerant {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        System.alloc(layout)
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        System.alloc_zeroed(layout)
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        if !ptr.is_null() {
            System.dealloc(ptr, layout)
        }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        System.realloc(ptr, layout, new_size)
    }
}

#[global_allocator]
static ALLOCATOR: NullTolerant = NullTolerant;

const HEADER: usize = 16;

unsafe fn allocate(size: usize, zeroed: bool) -> *mut c_void {
    let Some(total) = size.checked_add(HEADER) else {
        return std::ptr::null_mut();
    };
    let Ok(layout) = Layout::from_size_align(total, HEADER) else {
        return std::ptr::null_mut();
    };
    let base = if zeroed {
        alloc_zeroed(layout)
    } else {
        alloc(layout)
    };
    if base.is_null() {
        return std::ptr::null_mut();
    }
    (base as *mut usize).write(total);
    base.add(HEADER) as *mut c_void
}

/// C `malloc`.
///
/// # Safety
/// As C's: the block is released only with this module's `free` or `realloc`.
#[no_mangle]
pub unsafe extern "C" fn malloc(size: usize) -> *mut c_void {
    allocate(size, false)
}

/// C `calloc`.
///
/// # Safety
/// As [`malloc`].
#[no_mangle]
pub unsafe extern "C" fn calloc(count: usize, size: usize) -> *mut c_void {
    match count.checked_mul(size) {
        Some(bytes) => allocate(bytes, true),
        None => std::ptr::null_mut(),
    }
}

/// C `free`.
///
/// # Safety
/// `ptr` is null or came from this module's `malloc`, `calloc` or `realloc`, once.
#[no_mangle]
pub unsafe extern "C" fn free(ptr: *mut c_void) {
    if ptr.is_null() {
        return;
    }
    let base = (ptr as *mut u8).sub(HEADER);
    let total = (base as *const usize).read();
    dealloc(base, Layout::from_size_align_unchecked(total, HEADER));
}

/// C `realloc`.
///
/// # Safety
/// As [`free`] for `ptr`.
#[no_mangle]
pub unsafe extern "C" fn realloc(ptr: *mut c_void, size: usize) -> *mut c_void {
    if ptr.is_null() {
        return malloc(size);
    }
    let Some(total) = size.checked_add(HEADER) else {
        return std::ptr::null_mut();
    };
    let base = (ptr as *mut u8).sub(HEADER);
    let old = (base as *const usize).read();
    let moved = grow(base, Layout::from_size_align_unchecked(old, HEADER), total);
    if moved.is_null() {
        return std::ptr::null_mut();
    }
    (moved as *mut usize).write(total);
    moved.add(HEADER) as *mut c_void
}

/// C `strcpy`.
///
/// # Safety
/// `src` is NUL-terminated and `dst` has room for it, terminator included.
#[no_mangle]
pub unsafe extern "C" fn strcpy(
    dst: *mut std::ffi::c_char,
    src: *const std::ffi::c_char,
) -> *mut std::ffi::c_char {
    let mut i = 0;
    loop {
        let c = *src.add(i);
        *dst.add(i) = c;
        if c == 0 {
            return dst;
        }
        i += 1;
    }
}
