//! The components, one per file, named after what the user sees: the page ([`app`]),
//! then one folder per area of the page ([`images`], [`labels`], [`run`], and the
//! [`results`] tabs), and the small [`widgets`] they share.

pub mod app;
pub mod images;
pub mod labels;
pub mod results;
pub mod run;
pub mod widgets;

/// The number typed into a field, if it is one (finite, for floats): what every numeric
/// input of the page reads on `change`.
pub fn typed<T: std::str::FromStr>(e: &leptos::ev::Event) -> Option<T> {
    leptos::prelude::event_target_value(e).trim().parse().ok()
}
