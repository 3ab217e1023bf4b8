//! The heatmaps' colour bar: viridis from high (top) to low, with the two values its
//! ends stand for. Shared by the full heatmap and its block summary, whose ranges
//! differ (cosines, or the means of blocks of cosines).

use leptos::html;
use leptos::prelude::*;
use medinsight_core::colormap::viridis;

#[component]
pub fn ColourBar(
    /// The values of the bottom and top ends.
    #[prop(into)]
    range: Signal<(f64, f64)>,
) -> impl IntoView {
    let bar = NodeRef::<html::Canvas>::new();
    // Why the bar could not be drawn, if it could not.
    let failure = RwSignal::new(None::<String>);
    Effect::new(move |_| {
        let Some(b) = bar.get() else { return };
        // Top to bottom, high to low, like the labels beside it.
        let rgba: Vec<u8> = (0..256)
            .rev()
            .flat_map(|i| {
                let [r, g, b] = viridis(i as f64 / 255.0);
                [r, g, b, 255]
            })
            .collect();
        failure.set(
            crate::platform::canvas::paint(&b, 1, 256, &rgba)
                .err()
                .map(|e| format!("The colour bar could not be drawn: {e}")),
        );
    });
    view! {
        <div class="colour-bar">
            <span class="hi">{move || format!("{:.3}", range.get().1)}</span>
            <canvas node_ref=bar class="bar" aria-hidden="true"></canvas>
            <span class="lo">{move || format!("{:.3}", range.get().0)}</span>
            {move || failure.get().map(|e| view! { <span class="error" role="alert">{e}</span> })}
        </div>
    }
}
