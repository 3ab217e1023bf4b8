//! Dark (the default, as in a reading room) or light, one click away and remembered.

use leptos::prelude::*;

use crate::persist::local::{use_persisted, Stored};

const THEME_KEY: &str = "medinsight.theme";

/// The page's colours.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
enum Theme {
    #[default]
    Dark,
    Light,
}

impl Stored for Theme {
    fn from_stored(text: Option<&str>) -> Self {
        match text {
            Some("light") => Theme::Light,
            _ => Theme::Dark,
        }
    }
    fn to_stored(&self) -> String {
        match self {
            Theme::Dark => "dark",
            Theme::Light => "light",
        }
        .into()
    }
}

#[component]
pub fn ThemeToggle() -> impl IntoView {
    let theme = use_persisted::<Theme>(THEME_KEY).value;
    // The page follows the signal (the stored copy follows it in `use_persisted`).
    Effect::new(move |_| crate::platform::document::set_theme(&theme.get().to_stored()));
    let light = move || theme.get() == Theme::Light;
    view! {
        <button
            class="theme-toggle"
            aria-pressed=move || light().to_string()
            on:click=move |_| theme.update(|t| *t = if *t == Theme::Light { Theme::Dark } else { Theme::Light })
        >
            {move || if light() { "Dark theme" } else { "Light theme" }}
        </button>
    }
}
