//! Virtualised lists and grids: of N rows of fixed height, only those on screen (plus a
//! few either side, so a fast scroll does not show blanks) exist in the DOM. The page
//! keeps a spacer as tall as all N rows and draws the visible slice at its offset; this
//! module says which slice, from the scroll position alone.

use std::ops::Range;

/// Rows of `row_height` pixels, `per_row` items each (1 for a list, the number of
/// columns for a grid), seen through a viewport.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Window {
    /// How far the content is scrolled, in pixels.
    pub scroll_top: f64,
    /// The viewport's height, in pixels.
    pub viewport_height: f64,
    pub row_height: f64,
    pub per_row: usize,
    /// Rows drawn beyond each edge of the viewport.
    pub overscan: usize,
}

impl Window {
    /// The rows to draw out of `rows`: those the viewport shows, widened by the overscan,
    /// clamped to what exists. A viewport of no height (not laid out yet) still draws the
    /// first screenful's worth of overscan, so a list is never empty on first paint.
    pub fn rows(&self, rows: usize) -> Range<usize> {
        if rows == 0 || self.row_height <= 0.0 || !self.row_height.is_finite() {
            return 0..0;
        }
        let top = (self.scroll_top.max(0.0) / self.row_height).floor() as usize;
        let shown = (self.viewport_height.max(0.0) / self.row_height).ceil() as usize + 1;
        let start = top.saturating_sub(self.overscan).min(rows);
        let end = top
            .saturating_add(shown)
            .saturating_add(self.overscan)
            .min(rows);
        start..end.max(start)
    }

    /// The items to draw out of `items` (`per_row` to a row).
    pub fn items(&self, items: usize) -> Range<usize> {
        let per_row = self.per_row.max(1);
        let rows = self.rows(items.div_ceil(per_row));
        (rows.start * per_row).min(items)..(rows.end * per_row).min(items)
    }

    /// Height of the spacer that holds `items`.
    pub fn total_height(&self, items: usize) -> f64 {
        items.div_ceil(self.per_row.max(1)) as f64 * self.row_height
    }

    /// Where the first drawn row sits (the offset of the visible slice).
    pub fn offset(&self, items: usize) -> f64 {
        let per_row = self.per_row.max(1);
        (self.items(items).start / per_row) as f64 * self.row_height
    }
}

/// How many items of `item_width` fit side by side in `width` (at least one).
pub fn columns(width: f64, item_width: f64) -> usize {
    if item_width <= 0.0 || !width.is_finite() {
        return 1;
    }
    ((width / item_width).floor() as usize).max(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn list(scroll_top: f64) -> Window {
        Window {
            scroll_top,
            viewport_height: 100.0,
            row_height: 20.0,
            per_row: 1,
            overscan: 2,
        }
    }

    #[test]
    fn the_top_of_a_list_draws_a_screenful_and_the_overscan_below() {
        // 100 px shows 5 rows of 20 px, a sixth partly; 2 more below.
        assert_eq!(list(0.0).rows(10_000), 0..8);
        assert_eq!(list(0.0).offset(10_000), 0.0);
    }

    #[test]
    fn scrolled_halfway_the_slice_moves_and_keeps_its_size() {
        let w = list(100_000.0);
        assert_eq!(w.rows(10_000), 4_998..5_008);
        assert_eq!(w.offset(10_000), 4_998.0 * 20.0);
        assert_eq!(w.total_height(10_000), 200_000.0);
    }

    #[test]
    fn the_end_and_beyond_are_clamped() {
        assert_eq!(list(199_900.0).rows(10_000), 9_993..10_000);
        // Scrolled past the end (the list just shrank under a filter).
        assert_eq!(list(1e9).rows(10), 10..10);
        assert_eq!(list(0.0).rows(0), 0..0);
        assert_eq!(list(-50.0).rows(3), 0..3);
    }

    #[test]
    fn a_grid_draws_whole_rows_of_items() {
        let grid = Window {
            scroll_top: 300.0,
            viewport_height: 300.0,
            row_height: 150.0,
            per_row: 4,
            overscan: 1,
        };
        // Rows 2 and 3 shown, row 4 for a scroll in between, 1 overscan each side:
        // rows 1..6 → items 4..24.
        assert_eq!(grid.items(10_000), 4..24);
        assert_eq!(grid.offset(10_000), 150.0);
        // The last row may be short.
        assert_eq!(grid.items(9), 4..9);
        assert_eq!(grid.total_height(9), 450.0);
    }

    #[test]
    fn the_dom_stays_bounded_whatever_n() {
        let w = list(123_456.0);
        for n in [100usize, 10_000, 100_000, 10_000_000] {
            assert!(w.rows(n).len() <= 10, "{n}: {:?}", w.rows(n));
        }
    }

    #[test]
    fn columns_fit_at_least_one() {
        assert_eq!(columns(500.0, 120.0), 4);
        assert_eq!(columns(50.0, 120.0), 1);
        assert_eq!(columns(f64::NAN, 120.0), 1);
        assert_eq!(columns(500.0, 0.0), 1);
    }

    #[test]
    fn a_degenerate_row_height_draws_nothing_rather_than_everything() {
        let mut w = list(0.0);
        w.row_height = 0.0;
        assert_eq!(w.rows(10_000), 0..0);
        w.row_height = f64::NAN;
        assert_eq!(w.rows(10_000), 0..0);
    }
}
