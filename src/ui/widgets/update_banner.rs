//! The line that says a new version of the app is ready, with the button that
//! switches to it: a new build's service worker waits until the user says so, so that
//! nothing on the page changes under them mid-run.

use leptos::prelude::*;

#[component]
pub fn UpdateBanner(
    /// A newer build is installed and waiting.
    #[prop(into)]
    ready: Signal<bool>,
    /// Switch to it (the page reloads).
    on_reload: Callback<()>,
) -> impl IntoView {
    view! {
        <Show when=move || ready.get()>
            <p class="update-banner" role="status">
                "A new version of the app is ready. Your session is saved in this browser. "
                <button class="reload-update" on:click=move |_| on_reload.run(())>
                    "Reload"
                </button>
            </p>
        </Show>
    }
}
