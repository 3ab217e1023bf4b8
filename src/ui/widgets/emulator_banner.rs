//! The banner that says, as soon as an answer carries the emulator's mark, that the
//! vectors are stand-ins: nobody should read clinical meaning into them.

use leptos::prelude::*;

#[component]
pub fn EmulatorBanner(#[prop(into)] visible: Signal<bool>) -> impl IntoView {
    view! {
        <Show when=move || visible.get()>
            <p class="emulator-banner" role="alert">
                "These vectors come from the local emulator, not from MedImageInsight: they are "
                "deterministic stand-ins for testing, with no medical meaning."
            </p>
        </Show>
    }
}
