//! The kernels with explicit WebAssembly SIMD (`f32x4`), compiled only for wasm32 with
//! `simd128` enabled (`.cargo/config.toml` enables it for the app).
//!
//! They exist because LLVM does not vectorise the portable dot loop for wasm32 by
//! itself (checked in the disassembly: scalar `f32.mul`/`f32.add` only), and this loop
//! is the inner loop of every analysis. The dot product keeps the portable kernel's
//! shape — 8 lanes, here two `f32x4` registers, summed in f64 in the same order — so
//! that both give the same bits (`tests/web.rs` checks it in the browser).

use core::arch::wasm32::*;

/// `Σ aᵢ·bᵢ` over the shorter slice: two `f32x4` accumulators, then summed in f64.
pub fn dot_unclamped(a: &[f32], b: &[f32]) -> f64 {
    let n = a.len().min(b.len());
    let blocks = n / 8;
    let (mut s0, mut s1) = (f32x4_splat(0.0), f32x4_splat(0.0));
    for i in 0..blocks {
        // SAFETY: i * 8 + 8 <= n, within both slices; wasm loads need no alignment.
        unsafe {
            let pa = a.as_ptr().add(i * 8) as *const v128;
            let pb = b.as_ptr().add(i * 8) as *const v128;
            s0 = f32x4_add(s0, f32x4_mul(v128_load(pa), v128_load(pb)));
            s1 = f32x4_add(s1, f32x4_mul(v128_load(pa.add(1)), v128_load(pb.add(1))));
        }
    }
    // Folded and summed in the portable kernel's order (lanes k and k + 4 in f32, then
    // onto 0.0 in f64), so the two kernels agree to the bit.
    let s = f32x4_add(s0, s1);
    let mut sum = 0f64;
    sum += f64::from(f32x4_extract_lane::<0>(s));
    sum += f64::from(f32x4_extract_lane::<1>(s));
    sum += f64::from(f32x4_extract_lane::<2>(s));
    sum += f64::from(f32x4_extract_lane::<3>(s));
    for (x, y) in a[blocks * 8..n].iter().zip(&b[blocks * 8..n]) {
        sum += f64::from(x * y);
    }
    sum
}

/// `y += s·x` over the shorter slice, four values at a time (multiply, then add: the
/// same two roundings as the portable kernel, no fused multiply-add).
pub fn axpy(s: f32, x: &[f32], y: &mut [f32]) {
    let n = x.len().min(y.len());
    let blocks = n / 4;
    let sv = f32x4_splat(s);
    for i in 0..blocks {
        // SAFETY: i * 4 + 4 <= n, within both slices; wasm loads need no alignment, and
        // `y` is borrowed mutably, so nothing else reads what is stored.
        unsafe {
            let px = x.as_ptr().add(i * 4) as *const v128;
            let py = y.as_mut_ptr().add(i * 4) as *mut v128;
            v128_store(py, f32x4_add(v128_load(py), f32x4_mul(sv, v128_load(px))));
        }
    }
    for (o, v) in y[blocks * 4..n].iter_mut().zip(&x[blocks * 4..n]) {
        *o += s * v;
    }
}

/// Four dot products at once — `a0·b0`, `a0·b1`, `a1·b0`, `a1·b1` — for the Gram
/// kernel's inner tile: each block of 8 loaded values feeds two products (one load per
/// multiply-add instead of two), in eight `f32x4` accumulators (of wasm's 16 locals
/// the engine keeps in registers). Each product is [`dot_unclamped`]'s operations in
/// its order, so the values are bit for bit the plain loop's (and the portable
/// kernel's). All four slices must be `n` long; they are cut to the shortest.
pub fn dot_2x2(a0: &[f32], a1: &[f32], b0: &[f32], b1: &[f32]) -> [f64; 4] {
    let n = a0.len().min(a1.len()).min(b0.len()).min(b1.len());
    let blocks = n / 8;
    let z = f32x4_splat(0.0);
    let (mut p0, mut p1, mut q0, mut q1) = (z, z, z, z);
    let (mut r0, mut r1, mut s0, mut s1) = (z, z, z, z);
    for i in 0..blocks {
        // SAFETY: i * 8 + 8 <= n, within all four slices; wasm loads need no alignment.
        unsafe {
            let x0 = a0.as_ptr().add(i * 8) as *const v128;
            let x1 = a1.as_ptr().add(i * 8) as *const v128;
            let y0 = b0.as_ptr().add(i * 8) as *const v128;
            let y1 = b1.as_ptr().add(i * 8) as *const v128;
            let (x0l, x0h) = (v128_load(x0), v128_load(x0.add(1)));
            let (x1l, x1h) = (v128_load(x1), v128_load(x1.add(1)));
            let (y0l, y0h) = (v128_load(y0), v128_load(y0.add(1)));
            let (y1l, y1h) = (v128_load(y1), v128_load(y1.add(1)));
            p0 = f32x4_add(p0, f32x4_mul(x0l, y0l));
            p1 = f32x4_add(p1, f32x4_mul(x0h, y0h));
            q0 = f32x4_add(q0, f32x4_mul(x0l, y1l));
            q1 = f32x4_add(q1, f32x4_mul(x0h, y1h));
            r0 = f32x4_add(r0, f32x4_mul(x1l, y0l));
            r1 = f32x4_add(r1, f32x4_mul(x1h, y0h));
            s0 = f32x4_add(s0, f32x4_mul(x1l, y1l));
            s1 = f32x4_add(s1, f32x4_mul(x1h, y1h));
        }
    }
    let tail = blocks * 8..n;
    // Folded as `dot_unclamped` folds: lanes k and k + 4 in f32, then onto 0.0 in f64.
    let fold = |lo: v128, hi: v128, x: &[f32], y: &[f32]| {
        let s = f32x4_add(lo, hi);
        let mut sum = 0f64;
        sum += f64::from(f32x4_extract_lane::<0>(s));
        sum += f64::from(f32x4_extract_lane::<1>(s));
        sum += f64::from(f32x4_extract_lane::<2>(s));
        sum += f64::from(f32x4_extract_lane::<3>(s));
        for (p, q) in x.iter().zip(y) {
            sum += f64::from(p * q);
        }
        sum
    };
    let (a0, a1) = (&a0[tail.clone()], &a1[tail.clone()]);
    let (b0, b1) = (&b0[tail.clone()], &b1[tail]);
    [
        fold(p0, p1, a0, b0),
        fold(q0, q1, a0, b1),
        fold(r0, r1, a1, b0),
        fold(s0, s1, a1, b1),
    ]
}

/// [`super::dots_2x4`] with `f32x4`.
pub fn dots_2x4(a: [&[f32]; 2], b: [&[f32]; 4]) -> [[f32; 4]; 2] {
    let n = a.iter().chain(&b).map(|v| v.len()).min().unwrap_or(0);
    let blocks = n / 4;
    let mut out = [[[0f32; 4]; 4]; 2];
    let mut s = [[f32x4_splat(0.0); 4]; 2];
    for i in 0..blocks {
        // SAFETY: i * 4 + 4 <= n, within every slice; wasm loads need no
        // alignment.
        let at = |v: &[f32]| unsafe { v128_load(v.as_ptr().add(i * 4) as *const v128) };
        let (x0, x1) = (at(a[0]), at(a[1]));
        for c in 0..4 {
            let y = at(b[c]);
            s[0][c] = f32x4_add(s[0][c], f32x4_mul(x0, y));
            s[1][c] = f32x4_add(s[1][c], f32x4_mul(x1, y));
        }
    }
    for r in 0..2 {
        for c in 0..4 {
            out[r][c] = [
                f32x4_extract_lane::<0>(s[r][c]),
                f32x4_extract_lane::<1>(s[r][c]),
                f32x4_extract_lane::<2>(s[r][c]),
                f32x4_extract_lane::<3>(s[r][c]),
            ];
        }
    }
    super::portable::finish_2x4(a, b, out, blocks * 4, n)
}

/// [`super::axpy4`] on the whole blocks of 4, with `f32x4`; returns where the tail
/// starts.
pub fn axpy4(s: [f32; 4], x: [&[f32]; 4], y: &mut [f32]) -> usize {
    let n = x.iter().map(|v| v.len()).fold(y.len(), usize::min);
    let blocks = n / 4;
    let sv = s.map(|v| f32x4_splat(v));
    for i in 0..blocks {
        // SAFETY: i * 4 + 4 <= n, within every slice; `y` is borrowed mutably.
        unsafe {
            let at = |v: &[f32]| v128_load(v.as_ptr().add(i * 4) as *const v128);
            let t = f32x4_add(f32x4_mul(sv[0], at(x[0])), f32x4_mul(sv[1], at(x[1])));
            let t = f32x4_add(t, f32x4_mul(sv[2], at(x[2])));
            let t = f32x4_add(t, f32x4_mul(sv[3], at(x[3])));
            let py = y.as_mut_ptr().add(i * 4) as *mut v128;
            v128_store(py, f32x4_add(v128_load(py), t));
        }
    }
    blocks * 4
}
