//! The status line: which endpoint `/score` reaches, so users always know where their
//! pixels go. It reads the server's `/endpoint-info` when the page opens, and again
//! when the browser comes back online (the installed app may open with no network).

use leptos::ev;
use leptos::prelude::*;

use crate::platform::fetch::{fetch_endpoint_info, EndpointInfoError};

#[component]
pub fn EndpointStatus() -> impl IntoView {
    let info = LocalResource::new(fetch_endpoint_info);
    let back_online = window_event_listener(ev::online, move |_| info.refetch());
    on_cleanup(move || back_online.remove());
    let line = move || {
        match info.get() {
        None => ("pending", "Endpoint: asking the server…".to_string()),
        Some(Ok(info)) => ("ok", format!("Endpoint: {}", info.describe())),
        Some(Err(EndpointInfoError::Offline)) => (
            "offline",
            "Endpoint: cannot be reached — this browser is offline; the saved session is here, Embed waits for the network".to_string(),
        ),
        Some(Err(e)) => ("error", format!("Endpoint: unknown — {e}")),
    }
    };
    view! {
        <p class="endpoint-status" role="status" data-state=move || line().0>
            {move || line().1}
        </p>
    }
}
