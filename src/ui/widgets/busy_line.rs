//! The line a results view shows while it computes: what it is doing, how far it is,
//! how long it has taken and about how long is left (the wording is
//! `medinsight_core::view::progress`). It carries `data-busy`, the mark the benchmark
//! and the tests wait to see gone, and is a polite live region so a screen reader
//! hears it without being interrupted. The elapsed time ticks every half second even
//! when no progress comes (a job that cannot report any still shows it is alive).

use std::time::Duration;

use leptos::prelude::*;
use medinsight_core::view::progress::status_line;

use crate::platform::clock::now_ms;

#[component]
pub fn BusyLine(
    /// What is being done, as a verb: "Scoring", "Training".
    what: &'static str,
    /// The fraction done (0 to 1), once the computation has said.
    #[prop(into)]
    fraction: Signal<Option<f32>>,
) -> impl IntoView {
    let started = now_ms();
    let now = RwSignal::new(started);
    if let Ok(tick) = set_interval_with_handle(
        move || {
            now.try_set(now_ms());
        },
        Duration::from_millis(500),
    ) {
        on_cleanup(move || tick.clear());
    }
    let text = move || status_line(what, now.get() - started, fraction.get().map(f64::from));
    view! { <p class="busy" data-busy="" role="status" aria-live="polite">{text}</p> }
}
