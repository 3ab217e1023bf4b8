//! The whole page: the header with the product's name and the endpoint status line.

use leptos::prelude::*;

use crate::ui::endpoint_status::EndpointStatus;
use crate::PRODUCT_NAME;

#[component]
pub fn App() -> impl IntoView {
    view! {
        <header class="app-header">
            <h1 class="product-name">{PRODUCT_NAME}</h1>
            <EndpointStatus />
        </header>
        <main class="app-main">
            <p class="lede">
                "Embeddings, similarity and zero-shot scores for medical images, computed by your own "
                "MedImageInsight endpoint. Images are prepared in this browser and sent only to "
                <code>"/score"</code> " on this page's own origin."
            </p>
        </main>
    }
}
