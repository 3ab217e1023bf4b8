//! What the gallery shows and the actions on the picked images: how many are shown and
//! picked, pick all shown or none, give the picked ones a ground truth, remove them.
//! (Re-windowing the picked ones is in the inspector, beside the windowing controls.)

use leptos::prelude::*;

#[component]
pub fn SelectionBar(
    /// How many images are picked.
    #[prop(into)]
    picked: Signal<usize>,
    /// How many the filter shows.
    #[prop(into)]
    shown: Signal<usize>,
    on_all: Callback<()>,
    on_none: Callback<()>,
    on_label: Callback<String>,
    on_remove: Callback<()>,
) -> impl IntoView {
    let label = RwSignal::new(String::new());
    let none_picked = move || picked.get() == 0;
    view! {
        <div class="selection-bar" data-count=move || picked.get().to_string()>
            <span class="gallery-shown" data-count=move || shown.get().to_string() aria-live="polite">
                {move || format!("{} shown · {} picked", shown.get(), picked.get())}
            </span>
            <button class="select-all" on:click=move |_| on_all.run(()) title="Pick every image shown (ctrl-A)">
                "Pick all shown"
            </button>
            <button class="select-none" on:click=move |_| on_none.run(()) disabled=none_picked>
                "Pick none"
            </button>
            <input
                name="bulk-label"
                placeholder="ground truth"
                aria-label="Ground truth for the picked images"
                prop:value=move || label.get()
                on:input=move |e| label.set(event_target_value(&e))
            />
            <button
                class="apply-label"
                disabled=none_picked
                on:click=move |_| on_label.run(label.get_untracked().trim().to_string())
            >
                "Label picked"
            </button>
            <button class="remove-selected" disabled=none_picked on:click=move |_| on_remove.run(())>
                {move || format!("Remove {} picked", picked.get())}
            </button>
        </div>
    }
}
