//! Clocks: the page's monotonic one for elapsed times, the computer's for dates (a
//! `Retry-After` header may name one).

/// Milliseconds since the page opened, for elapsed times.
pub fn now_ms() -> f64 {
    web_sys::window()
        .and_then(|w| w.performance())
        .map_or(0.0, |p| p.now())
}

/// Milliseconds since the Unix epoch (the computer's clock), to read a `Retry-After` date.
pub fn unix_ms() -> u64 {
    js_sys::Date::now().max(0.0) as u64
}
