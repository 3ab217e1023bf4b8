//! Splitting a run's items into scoring requests, in order.
//!
//! The endpoint takes up to 1024 rows, but a request must finish within the deployment's
//! `request_timeout_ms` (5 s by default) and an endpoint moves about 5 MB/s, so the app
//! sends a few images per request: at most [`BatchLimits::max_rows`] rows and
//! [`BatchLimits::max_bytes`] of body. A batch never mixes kinds of row (images with
//! texts): the service refuses such a request with 424 (see [`crate::endpoint::wire::RowKind`]).
//! Batches are contiguous ranges of the input, so every vector maps back to its item by
//! position; items of one kind are best given together (a kind change starts a batch).

use std::ops::Range;

use crate::endpoint::wire::RowKind;

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

/// One planned request: which items it carries, their one kind, and whether one item
/// alone is over `max_bytes` (it is still sent alone; the endpoint or proxy has the last
/// word).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Batch {
    pub items: Range<usize>,
    pub kind: RowKind,
    pub bytes: usize,
    pub oversized: bool,
}

/// Plans requests for items `cells[i] = (kind, bytes of its cells)`, in order.
pub fn plan(cells: &[(RowKind, usize)], limits: BatchLimits) -> Vec<Batch> {
    let max_rows = limits.max_rows.clamp(1, crate::endpoint::wire::MAX_ROWS);
    let mut batches = Vec::new();
    let mut start = 0;
    let mut bytes = BODY_OVERHEAD;
    for (i, &(kind, cell)) in cells.iter().enumerate() {
        let row = cell + ROW_OVERHEAD;
        let rows = i - start;
        if rows > 0
            && (rows == max_rows || bytes + row > limits.max_bytes || cells[start].0 != kind)
        {
            batches.push(Batch {
                items: start..i,
                kind: cells[start].0,
                bytes,
                oversized: false,
            });
            start = i;
            bytes = BODY_OVERHEAD;
        }
        bytes += row;
    }
    if start < cells.len() {
        batches.push(Batch {
            items: start..cells.len(),
            kind: cells[start].0,
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

    fn images(bytes: &[usize]) -> Vec<(RowKind, usize)> {
        bytes.iter().map(|&b| (RowKind::Image, b)).collect()
    }

    #[test]
    fn never_mixes_kinds_in_one_request() {
        // 5 images then 3 labels, 8 rows allowed: two requests, not one.
        let mut cells = images(&[100; 5]);
        cells.extend([(RowKind::Text, 30); 3]);
        let batches = plan(&cells, BatchLimits::default());
        let got: Vec<_> = batches.iter().map(|b| (b.items.clone(), b.kind)).collect();
        assert_eq!(got, [(0..5, RowKind::Image), (5..8, RowKind::Text)]);
        // Interleaved kinds: every change starts a request, and each request checks out
        // as one kind with the wire's own rule.
        let kinds = [
            RowKind::Text,
            RowKind::Image,
            RowKind::Image,
            RowKind::Text,
            RowKind::Both,
        ];
        let cells: Vec<_> = kinds.iter().map(|&k| (k, 10)).collect();
        let batches = plan(&cells, BatchLimits::default());
        assert_eq!(batches.len(), 4);
        for b in &batches {
            let rows = b.items.clone().map(|i| match kinds[i] {
                RowKind::Image => crate::endpoint::wire::Row::image("A"),
                RowKind::Text => crate::endpoint::wire::Row::text("t"),
                RowKind::Both => crate::endpoint::wire::Row {
                    image: Some("A".into()),
                    text: Some("t".into()),
                },
            });
            let request = crate::endpoint::wire::ScoreRequest {
                rows: rows.collect(),
                get_scaling_factor: None,
            };
            assert_eq!(request.kind(), Ok(Some(b.kind)));
        }
    }

    #[test]
    fn splits_by_rows_and_keeps_order() {
        let batches = plan(
            &images(&[10; 20]),
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
        let batches = plan(&images(&[400, 400, 400, 5000, 10]), limits);
        let ranges: Vec<_> = batches
            .iter()
            .map(|b| (b.items.clone(), b.oversized))
            .collect();
        assert_eq!(
            ranges,
            [(0..2, false), (2..3, false), (3..4, true), (4..5, false)]
        );
        // 128 + 2 × (300 + 16) = 760 fits; a third row would not.
        let ranges: Vec<_> = plan(&images(&[300, 300, 300]), limits)
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
                &images(&[1]),
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
