//! The labels (text prompts) zero-shot scores against: one per line, added, edited,
//! moved and removed here. Each shows its live CLIP token count; past 77 tokens a
//! warning shows the words the model will never read.

use leptos::prelude::*;
use medinsight_core::text::clip::CONTENT_TOKENS;

use crate::state::LabelItem;

#[component]
pub fn LabelEditor(
    #[prop(into)] labels: Signal<Vec<LabelItem>>,
    on_add: Callback<Vec<String>>,
    /// A label moves (id, places: −1 up, +1 down).
    on_move: Callback<(u64, isize)>,
    on_remove: Callback<u64>,
) -> impl IntoView {
    let draft = RwSignal::new(String::new());
    let add = move || {
        let lines: Vec<String> = draft
            .get_untracked()
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .map(str::to_string)
            .collect();
        if !lines.is_empty() {
            on_add.run(lines);
            draft.set(String::new());
        }
    };
    view! {
        <div class="label-editor">
            <label for="new-labels">"Labels, one per line"</label>
            <textarea
                id="new-labels"
                class="new-labels"
                rows="3"
                placeholder="x-ray chest anteroposterior Atelectasis"
                prop:value=move || draft.get()
                on:input=move |e| draft.set(event_target_value(&e))
                on:keydown=move |e| {
                    if e.key() == "Enter" && (e.ctrl_key() || e.meta_key()) {
                        e.prevent_default();
                        add();
                    }
                }
            ></textarea>
            <button class="add-labels" on:click=move |_| add()>"Add labels"</button>
            <ol class="labels">
                <For each=move || labels.get() key=|l| l.id let:label>
                    <LabelRow label=label on_shift=Callback::new(move |by| on_move.run((label.id, by)))
                        on_remove=Callback::new(move |()| on_remove.run(label.id)) />
                </For>
            </ol>
        </div>
    }
}

#[component]
fn LabelRow(label: LabelItem, on_shift: Callback<isize>, on_remove: Callback<()>) -> impl IntoView {
    let count = Memo::new(move |_| crate::work::tokens::count(&label.text.get()));
    view! {
        <li class="label-row" data-tokens=move || count.get().tokens>
            <input
                class="label-text"
                aria-label="Label text"
                prop:value=move || label.text.get()
                on:input=move |e| label.text.set(event_target_value(&e))
            />
            <span class="token-count" class:over=move || count.get().cut.is_some()>
                {move || format!("{} / {} tokens", count.get().tokens, CONTENT_TOKENS)}
            </span>
            <span class="label-state">
                {move || {
                    if label.error.get().is_some() {
                        "failed"
                    } else if label.current_vector().is_some() {
                        "embedded"
                    } else {
                        ""
                    }
                }}
            </span>
            <button aria-label="Move up" on:click=move |_| on_shift.run(-1)>"↑"</button>
            <button aria-label="Move down" on:click=move |_| on_shift.run(1)>"↓"</button>
            <button aria-label="Remove label" on:click=move |_| on_remove.run(())>"×"</button>
            {move || count.get().cut.map(|cut| view! {
                <p class="token-warning" role="alert">
                    {format!("Over the model's 77-token limit ({} tokens with start and end): it will not read “", count.get().tokens + 2)}
                    <mark>{cut}</mark>
                    "”. Shorten the label."
                </p>
            })}
            {move || label.error.get().map(|e| view! { <p class="reason">{e}</p> })}
        </li>
    }
}
