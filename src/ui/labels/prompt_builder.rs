//! A small builder for prompts in the form the model was trained on —
//! `<modality> <anatomy> <exam parameters> <condition>` — so that every label of a set
//! follows the same pattern: the first three parts once, then one condition per line.

use leptos::prelude::*;
use medinsight_core::text::prompt::PromptParts;

#[component]
pub fn PromptBuilder(on_add: Callback<Vec<String>>) -> impl IntoView {
    let modality = RwSignal::new("x-ray".to_string());
    let anatomy = RwSignal::new("chest".to_string());
    let exam = RwSignal::new("anteroposterior".to_string());
    let conditions = RwSignal::new(String::new());
    let prompts = Memo::new(move |_| {
        PromptParts {
            modality: modality.get(),
            anatomy: anatomy.get(),
            exam: exam.get(),
            condition: String::new(),
        }
        .prompts_for(&conditions.get())
    });
    let field = |label: &'static str, class: &'static str, value: RwSignal<String>| {
        view! {
            <label class=class>
                {label}
                <input prop:value=move || value.get() on:input=move |e| value.set(event_target_value(&e)) />
            </label>
        }
    };
    view! {
        <details class="prompt-builder">
            <summary>"Prompt builder"</summary>
            <div class="parts">
                {field("Modality", "modality", modality)}
                {field("Anatomy", "anatomy", anatomy)}
                {field("Exam parameters", "exam", exam)}
            </div>
            <label class="conditions">
                "Conditions, one per line"
                <textarea rows="3" prop:value=move || conditions.get()
                    on:input=move |e| conditions.set(event_target_value(&e))></textarea>
            </label>
            <ul class="prompt-preview" aria-label="Prompts to add">
                {move || prompts.get().into_iter().map(|p| view! { <li>{p}</li> }).collect_view()}
            </ul>
            <button
                class="add-prompts"
                disabled=move || prompts.with(Vec::is_empty)
                on:click=move |_| {
                    on_add.run(prompts.get_untracked());
                    conditions.set(String::new());
                }
            >
                {move || format!("Add {} label(s)", prompts.with(Vec::len))}
            </button>
        </details>
    }
}
