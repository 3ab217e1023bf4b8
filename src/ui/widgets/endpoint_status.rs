//! The status line: which endpoint `/score` reaches, so users always know where their
//! pixels go. It reads the server's `/endpoint-info` once, when the page opens.

use leptos::prelude::*;

use crate::platform::fetch::fetch_endpoint_info;

#[component]
pub fn EndpointStatus() -> impl IntoView {
    let info = LocalResource::new(fetch_endpoint_info);
    let line = move || match info.get() {
        None => ("pending", "Endpoint: asking the server…".to_string()),
        Some(Ok(info)) => ("ok", format!("Endpoint: {}", info.describe())),
        Some(Err(e)) => ("error", format!("Endpoint: unknown — {e}")),
    };
    view! {
        <p class="endpoint-status" role="status" data-state=move || line().0>
            {move || line().1}
        </p>
    }
}
