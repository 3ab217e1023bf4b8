//! The page itself: its theme attribute, and how many cores it may use for workers.

/// The page's theme, set on `<html data-theme>` so the stylesheet follows it.
pub fn set_theme(theme: &str) {
    if let Some(root) = web_sys::window()
        .and_then(|w| w.document())
        .and_then(|d| d.document_element())
    {
        let _ = root.set_attribute("data-theme", theme);
    }
}

/// How many workers to start: the machine's cores less one for the page, 1–4.
pub fn worker_count() -> usize {
    let cores = web_sys::window().map_or(2.0, |w| w.navigator().hardware_concurrency());
    ((cores as usize).saturating_sub(1)).clamp(1, 4)
}
