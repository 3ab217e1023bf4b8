//! The Gram kernel's 2 × 2 step and the analyses' 2 × 4 and four-row `axpy` steps with
//! explicit SSE2, for x86-64 (where SSE2 is part of
//! the baseline: every x86-64 CPU has it, so there is nothing to detect at run time).
//!
//! It exists because LLVM does not vectorise the portable 2 × 2 step reliably: checked
//! in the disassembly, the SLP vectoriser groups the four products of one lane (a
//! broadcast of `a0[k]` times `b0[k], b1[k]`) instead of four lanes of one product, and
//! spills accumulators to the stack; the loop then runs at half the plain dot loop's
//! speed, and whether it does depends on what it is inlined into. Written out, it is
//! eight `__m128` accumulators and eight loads per block of 8 — the wasm32 kernel's
//! shape — and each product keeps `dot_unclamped`'s operations and order, so the
//! values are bit for bit the plain loop's.

use core::arch::x86_64::*;

/// `a0·b0, a0·b1, a1·b0, a1·b1`, each exactly as `dot_unclamped` computes it, over the
/// shortest of the four slices.
pub fn dot_2x2(a0: &[f32], a1: &[f32], b0: &[f32], b1: &[f32]) -> [f64; 4] {
    // SAFETY: SSE2 is part of the x86-64 baseline: every CPU this code runs on has it.
    unsafe { sse2(a0, a1, b0, b1) }
}

#[target_feature(enable = "sse2")]
fn sse2(a0: &[f32], a1: &[f32], b0: &[f32], b1: &[f32]) -> [f64; 4] {
    let n = a0.len().min(a1.len()).min(b0.len()).min(b1.len());
    let blocks = n / 8;
    let z = _mm_setzero_ps();
    let (mut p0, mut p1, mut q0, mut q1) = (z, z, z, z);
    let (mut r0, mut r1, mut s0, mut s1) = (z, z, z, z);
    for i in 0..blocks {
        // SAFETY: i * 8 + 8 <= n, within all four slices; `loadu` needs no alignment.
        let (x0l, x0h, x1l, x1h, y0l, y0h, y1l, y1h) = unsafe {
            let (x0, x1) = (a0.as_ptr().add(i * 8), a1.as_ptr().add(i * 8));
            let (y0, y1) = (b0.as_ptr().add(i * 8), b1.as_ptr().add(i * 8));
            (
                _mm_loadu_ps(x0),
                _mm_loadu_ps(x0.add(4)),
                _mm_loadu_ps(x1),
                _mm_loadu_ps(x1.add(4)),
                _mm_loadu_ps(y0),
                _mm_loadu_ps(y0.add(4)),
                _mm_loadu_ps(y1),
                _mm_loadu_ps(y1.add(4)),
            )
        };
        p0 = _mm_add_ps(p0, _mm_mul_ps(x0l, y0l));
        p1 = _mm_add_ps(p1, _mm_mul_ps(x0h, y0h));
        q0 = _mm_add_ps(q0, _mm_mul_ps(x0l, y1l));
        q1 = _mm_add_ps(q1, _mm_mul_ps(x0h, y1h));
        r0 = _mm_add_ps(r0, _mm_mul_ps(x1l, y0l));
        r1 = _mm_add_ps(r1, _mm_mul_ps(x1h, y0h));
        s0 = _mm_add_ps(s0, _mm_mul_ps(x1l, y1l));
        s1 = _mm_add_ps(s1, _mm_mul_ps(x1h, y1h));
    }
    let tail = blocks * 8..n;
    // Folded as `dot_unclamped` folds: lanes k and k + 4 in f32, then onto 0.0 in f64.
    let fold = |lo: __m128, hi: __m128, x: &[f32], y: &[f32]| {
        let mut lanes = [0f32; 4];
        // SAFETY: `lanes` holds exactly the 4 floats stored; `storeu` needs no alignment.
        unsafe { _mm_storeu_ps(lanes.as_mut_ptr(), _mm_add_ps(lo, hi)) };
        let mut sum = 0f64;
        for lane in lanes {
            sum += f64::from(lane);
        }
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

/// [`super::dots_2x4`] with SSE2.
pub fn dots_2x4(a: [&[f32]; 2], b: [&[f32]; 4]) -> [[f32; 4]; 2] {
    let n = a.iter().chain(&b).map(|v| v.len()).min().unwrap_or(0);
    let blocks = n / 4;
    let mut out = [[[0f32; 4]; 4]; 2];
    // SAFETY: SSE2 is part of x86-64; every load reads i * 4 .. i * 4 + 4 with
    // i < n / 4, within each slice (all are at least n long); unaligned loads
    // and stores are used throughout.
    unsafe {
        let mut s = [[_mm_setzero_ps(); 4]; 2];
        for i in 0..blocks {
            let x0 = _mm_loadu_ps(a[0].as_ptr().add(i * 4));
            let x1 = _mm_loadu_ps(a[1].as_ptr().add(i * 4));
            for c in 0..4 {
                let y = _mm_loadu_ps(b[c].as_ptr().add(i * 4));
                s[0][c] = _mm_add_ps(s[0][c], _mm_mul_ps(x0, y));
                s[1][c] = _mm_add_ps(s[1][c], _mm_mul_ps(x1, y));
            }
        }
        for r in 0..2 {
            for c in 0..4 {
                _mm_storeu_ps(out[r][c].as_mut_ptr(), s[r][c]);
            }
        }
    }
    super::portable::finish_2x4(a, b, out, blocks * 4, n)
}

/// [`super::axpy4`] on the whole blocks of 4, with SSE2; returns where the tail starts.
pub fn axpy4(s: [f32; 4], x: [&[f32]; 4], y: &mut [f32]) -> usize {
    let n = x.iter().map(|v| v.len()).fold(y.len(), usize::min);
    let blocks = n / 4;
    // SAFETY: as above; `y` is borrowed mutably, so nothing else reads it.
    unsafe {
        let sv = s.map(|v| _mm_set1_ps(v));
        for i in 0..blocks {
            let at = |v: &[f32]| _mm_loadu_ps(v.as_ptr().add(i * 4));
            let t = _mm_add_ps(_mm_mul_ps(sv[0], at(x[0])), _mm_mul_ps(sv[1], at(x[1])));
            let t = _mm_add_ps(t, _mm_mul_ps(sv[2], at(x[2])));
            let t = _mm_add_ps(t, _mm_mul_ps(sv[3], at(x[3])));
            let py = y.as_mut_ptr().add(i * 4);
            _mm_storeu_ps(py, _mm_add_ps(_mm_loadu_ps(py), t));
        }
    }
    blocks * 4
}
