//! Dark (the default, as in a reading room) or light, one click away and remembered.

use leptos::prelude::*;

const THEME_KEY: &str = "medinsight.theme";

#[component]
pub fn ThemeToggle() -> impl IntoView {
    let light =
        RwSignal::new(crate::platform::storage::load(THEME_KEY).as_deref() == Some("light"));
    // Syncs the page and the stored choice with the signal.
    Effect::new(move |_| {
        let theme = if light.get() { "light" } else { "dark" };
        crate::platform::document::set_theme(theme);
        let _ = crate::platform::storage::store(THEME_KEY, theme);
    });
    view! {
        <button
            class="theme-toggle"
            aria-pressed=move || light.get().to_string()
            on:click=move |_| light.update(|l| *l = !*l)
        >
            {move || if light.get() { "Dark theme" } else { "Light theme" }}
        </button>
    }
}
