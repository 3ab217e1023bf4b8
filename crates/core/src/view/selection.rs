//! The images the user has picked, as a file manager picks files: a click picks one, a
//! ctrl- (or cmd-) click adds or removes one, a shift-click picks the run from the last
//! click to this one in the order the gallery shows now (filtered and sorted), "select
//! all" takes what the filter shows, and the map's lasso picks what it encloses. Actions
//! on many images (label, remove, re-window) act on this set.

use std::collections::HashSet;

/// A set of image ids and the anchor a shift-click extends from.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Selection {
    ids: HashSet<u64>,
    anchor: Option<u64>,
}

impl Selection {
    pub fn contains(&self, id: u64) -> bool {
        self.ids.contains(&id)
    }

    pub fn len(&self) -> usize {
        self.ids.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ids.is_empty()
    }

    /// The picked ids, in no particular order.
    pub fn ids(&self) -> impl Iterator<Item = u64> + '_ {
        self.ids.iter().copied()
    }

    /// The picked ids in the order of `order` (a gallery order), for actions that
    /// report what they did image by image.
    pub fn in_order(&self, order: &[u64]) -> Vec<u64> {
        order
            .iter()
            .copied()
            .filter(|id| self.contains(*id))
            .collect()
    }

    /// A plain click: this image alone.
    pub fn pick(&mut self, id: u64) {
        self.ids.clear();
        self.ids.insert(id);
        self.anchor = Some(id);
    }

    /// A ctrl- or cmd-click: this image in or out, the rest kept.
    pub fn toggle(&mut self, id: u64) {
        if !self.ids.remove(&id) {
            self.ids.insert(id);
        }
        self.anchor = Some(id);
    }

    /// A shift-click: every image from the anchor to this one in `order` (what the
    /// gallery shows), added to the rest. Without an anchor, or with one the filter
    /// hides, it is a plain click. The anchor stays, so shift-clicks pivot around it.
    pub fn extend_to(&mut self, id: u64, order: &[u64]) {
        let at = |x: u64| order.iter().position(|&o| o == x);
        match (self.anchor.and_then(at), at(id)) {
            (Some(a), Some(b)) => {
                let (lo, hi) = (a.min(b), a.max(b));
                self.ids.extend(order[lo..=hi].iter().copied());
            }
            _ => self.pick(id),
        }
    }

    /// Exactly these images (select all shown, a lasso on the map).
    pub fn replace(&mut self, ids: impl IntoIterator<Item = u64>) {
        self.ids = ids.into_iter().collect();
        self.anchor = None;
    }

    /// These images added to the rest (a lasso with shift held).
    pub fn add(&mut self, ids: impl IntoIterator<Item = u64>) {
        self.ids.extend(ids);
    }

    pub fn clear(&mut self) {
        self.ids.clear();
        self.anchor = None;
    }

    /// Forgets images that left the session.
    pub fn retain(&mut self, mut exists: impl FnMut(u64) -> bool) {
        self.ids.retain(|&id| exists(id));
        if self.anchor.is_some_and(|a| !exists(a)) {
            self.anchor = None;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ORDER: [u64; 6] = [10, 20, 30, 40, 50, 60];

    fn sorted(s: &Selection) -> Vec<u64> {
        s.in_order(&ORDER)
    }

    #[test]
    fn a_click_picks_one_and_ctrl_click_adds_or_removes() {
        let mut s = Selection::default();
        s.pick(20);
        s.pick(40);
        assert_eq!(sorted(&s), [40]);
        s.toggle(10);
        s.toggle(60);
        assert_eq!(sorted(&s), [10, 40, 60]);
        s.toggle(40);
        assert_eq!(sorted(&s), [10, 60]);
    }

    #[test]
    fn shift_click_takes_the_run_between_anchor_and_click_in_either_direction() {
        let mut s = Selection::default();
        s.pick(50);
        s.extend_to(20, &ORDER);
        assert_eq!(sorted(&s), [20, 30, 40, 50]);
        // The anchor stays at 50: shift-clicking 60 adds 50..=60.
        s.extend_to(60, &ORDER);
        assert_eq!(sorted(&s), [20, 30, 40, 50, 60]);
    }

    #[test]
    fn shift_click_follows_the_order_shown_not_the_ids() {
        // Sorted by outlier score, say: 60 first.
        let shown = [60, 10, 50, 20];
        let mut s = Selection::default();
        s.pick(10);
        s.extend_to(20, &shown);
        assert_eq!(s.in_order(&shown), [10, 50, 20]);
    }

    #[test]
    fn shift_click_without_a_visible_anchor_is_a_plain_click() {
        let mut s = Selection::default();
        s.extend_to(30, &ORDER);
        assert_eq!(sorted(&s), [30]);
        s.pick(99); // filtered out of what is shown
        s.extend_to(40, &ORDER);
        assert_eq!(sorted(&s), [40]);
    }

    #[test]
    fn replace_add_clear_and_retain() {
        let mut s = Selection::default();
        s.replace([10, 30]);
        s.add([30, 50]);
        assert_eq!(sorted(&s), [10, 30, 50]);
        assert_eq!(s.len(), 3);
        s.retain(|id| id != 30);
        assert_eq!(sorted(&s), [10, 50]);
        s.clear();
        assert!(s.is_empty());
        // A removed anchor does not anchor a later shift-click.
        s.pick(20);
        s.retain(|id| id != 20);
        s.extend_to(40, &ORDER);
        assert_eq!(sorted(&s), [40]);
    }
}
