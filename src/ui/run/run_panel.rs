//! Run and Cancel, and the progress: embedded / total, requests in flight against the
//! current window (which adapts to the endpoint), retries and 429s so far, elapsed time,
//! images prepared and rows embedded per second (`.run-rates`, also as
//! `data-prepared-per-s` and `data-embedded-per-s`); what stopped the run and what to do
//! about it.

use leptos::prelude::*;

use crate::state::Progress;

#[component]
pub fn RunPanel(
    progress: RwSignal<Progress>,
    on_run: Callback<()>,
    on_cancel: Callback<()>,
) -> impl IntoView {
    // The elapsed time ticks while a run is on.
    let now = RwSignal::new(crate::platform::clock::now_ms());
    let _tick = set_interval_with_handle(
        move || {
            if progress.with_untracked(|p| p.running) {
                now.set(crate::platform::clock::now_ms())
            }
        },
        std::time::Duration::from_millis(250),
    );
    let elapsed = move || {
        progress.with(|p| {
            if p.started_ms == 0.0 {
                return 0.0;
            }
            (p.finished_ms.unwrap_or_else(|| now.get()) - p.started_ms).max(0.0) / 1000.0
        })
    };
    let running = move || progress.with(|p| p.running);
    view! {
        <div class="run-panel">
            <div class="buttons">
                <button class="run primary" disabled=running on:click=move |_| on_run.run(())>
                    "Embed"
                </button>
                <button class="cancel" disabled=move || !running() || progress.with(|p| p.cancelling)
                    on:click=move |_| on_cancel.run(())>
                    {move || if progress.with(|p| p.cancelling) { "Cancelling…" } else { "Cancel" }}
                </button>
            </div>
            <progress
                class="run-progress"
                max=move || progress.with(|p| p.total.max(1))
                value=move || progress.with(|p| p.embedded + p.failed)
            ></progress>
            <p class="run-figures" aria-live="polite"
                data-embedded=move || progress.with(|p| p.embedded)
                data-total=move || progress.with(|p| p.total)
                data-retries=move || progress.with(|p| p.retries)
                data-window=move || progress.with(|p| p.window)
                data-running=move || running().to_string()
            >
                {move || progress.with(|p| {
                    // The window exists once a run has started.
                    let window = if p.window > 0 { format!(" (window {})", p.window) } else { String::new() };
                    format!(
                        "{} / {} embedded · {} failed · {} in flight{window} · {} requests · {} retries ({} throttled) · {:.1} s",
                        p.embedded, p.total, p.failed, p.in_flight, p.requests, p.retries, p.throttled, elapsed()
                    )
                })}
            </p>
            {move || {
                let now = now.get();
                progress.with(|p| {
                    let prepared = p.prepared_per_s(now);
                    let embedded = p.embedded_per_s(now);
                    (prepared.is_some() || embedded.is_some()).then(|| {
                        let shown = |r: Option<f64>| r.map_or("–".to_string(), |r| format!("{r:.1}"));
                        let text = format!(
                            "{} images prepared/s · {} rows embedded/s",
                            shown(prepared),
                            shown(embedded)
                        );
                        view! {
                            <p class="run-rates"
                                data-prepared-per-s=prepared.unwrap_or(0.0)
                                data-embedded-per-s=embedded.unwrap_or(0.0)
                            >{text}</p>
                        }
                    })
                })
            }}
            {move || progress.with(|p| p.note.clone()).map(|n| view! { <p class="run-note">{n}</p> })}
            {move || progress.with(|p| p.fatal.clone()).map(|f| view! { <p class="error run-fatal" role="alert">{f}</p> })}
        </div>
    }
}
