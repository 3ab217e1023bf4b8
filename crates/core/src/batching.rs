//! Splitting a run's items into scoring requests, in order.
//!
//! The endpoint takes up to 1024 rows, but a request must finish within the deployment's
//! `request_timeout_ms` (5 s by default) and an endpoint moves about 5 MB/s, so the app
//! sends a few images per request: at most [`BatchLimits::max_rows`] rows and
//! [`BatchLimits::max_bytes`] of body. Batches are contiguous ranges of the input, so
//! every vector maps back to its item by position.

use std::ops::Range;

/// Bytes a row adds to the body besides its cells: `["","…"],` with quotes and commas.
const ROW_OVERHEAD: usize = 16;
/// The body's fixed part: `{"input_data":{"columns":…,"index":[…]…},"params":…}`.
const BODY_OVERHEAD: usize = 128;

/// Per-request limits. `Copy + Default`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BatchLimits {
    /// Rows per request. Default 8: a few seconds of work even on a small deployment.
    pub max_rows: usize,
    /// Body bytes per request. Default 4 000 000: under the platform's limits, under a
    /// second at 5 MB/s.
    pub max_bytes: usize,
}

impl Default for BatchLimits {
    fn default() -> Self {
        Self {
            max_rows: 8,
            max_bytes: 4_000_000,
        }
    }
}

/// One planned request: which items it carries, and whether one item alone is over
/// `max_bytes` (it is still sent alone; the endpoint or proxy has the last word).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Batch {
    pub items: Range<usize>,
    pub bytes: usize,
    pub oversized: bool,
}

/// Plans requests for items whose cells are `cell_bytes[i]` bytes long, in order.
pub fn plan(cell_bytes: &[usize], limits: BatchLimits) -> Vec<Batch> {
    let max_rows = limits.max_rows.clamp(1, crate::wire::MAX_ROWS);
    let mut batches = Vec::new();
    let mut start = 0;
    let mut bytes = BODY_OVERHEAD;
    for (i, &cell) in cell_bytes.iter().enumerate() {
        let row = cell + ROW_OVERHEAD;
        let rows = i - start;
        if rows > 0 && (rows == max_rows || bytes + row > limits.max_bytes) {
            batches.push(Batch {
                items: start..i,
                bytes,
                oversized: false,
            });
            start = i;
            bytes = BODY_OVERHEAD;
        }
        bytes += row;
    }
    if start < cell_bytes.len() {
        batches.push(Batch {
            items: start..cell_bytes.len(),
            bytes,
            oversized: false,
        });
    }
    for b in &mut batches {
        b.oversized = b.bytes > limits.max_bytes;
    }
    batches
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_by_rows_and_keeps_order() {
        let batches = plan(
            &[10; 20],
            BatchLimits {
                max_rows: 8,
                max_bytes: 1_000_000,
            },
        );
        let ranges: Vec<_> = batches.iter().map(|b| b.items.clone()).collect();
        assert_eq!(ranges, [0..8, 8..16, 16..20]);
        assert!(batches.iter().all(|b| !b.oversized));
    }

    #[test]
    fn splits_by_bytes_and_isolates_an_oversized_item() {
        let limits = BatchLimits {
            max_rows: 100,
            max_bytes: 1000,
        };
        // 128 + 2 × 416 = 960 fits; the third 400 starts a new request.
        let batches = plan(&[400, 400, 400, 5000, 10], limits);
        let ranges: Vec<_> = batches
            .iter()
            .map(|b| (b.items.clone(), b.oversized))
            .collect();
        assert_eq!(
            ranges,
            [(0..2, false), (2..3, false), (3..4, true), (4..5, false)]
        );
        // 128 + 2 × (300 + 16) = 760 fits; a third row would not.
        let ranges: Vec<_> = plan(&[300, 300, 300], limits)
            .into_iter()
            .map(|b| b.items)
            .collect();
        assert_eq!(ranges, [0..2, 2..3]);
    }

    #[test]
    fn nothing_to_send_plans_nothing() {
        assert!(plan(&[], BatchLimits::default()).is_empty());
        assert_eq!(
            plan(
                &[1],
                BatchLimits {
                    max_rows: 0,
                    max_bytes: 10_000
                }
            )
            .len(),
            1,
            "0 rows is read as 1"
        );
    }
}
