//! One embedding's 1024 values as a strip of colour (orange above zero, blue below),
//! scaled to the vector's largest magnitude: two strips that look alike are alike.

use leptos::html;
use leptos::prelude::*;
use medinsight_core::colormap::diverging;
use std::sync::Arc;

#[component]
pub fn EmbeddingStrip(vector: Arc<Vec<f32>>) -> impl IntoView {
    let canvas = NodeRef::<html::Canvas>::new();
    let values = vector.clone();
    // Paints once the canvas exists.
    Effect::new(move |_| {
        if let Some(c) = canvas.get() {
            let max = values
                .iter()
                .fold(0f32, |m, v| m.max(v.abs()))
                .max(f32::MIN_POSITIVE);
            let rgba: Vec<u8> = values
                .iter()
                .flat_map(|v| {
                    let [r, g, b] = diverging(f64::from(v / max));
                    [r, g, b, 255]
                })
                .collect();
            let _ = crate::platform::canvas::paint(&c, values.len() as u32, 1, &rgba);
        }
    });
    view! { <canvas class="embedding-strip" node_ref=canvas aria-label="The embedding's values as colours"></canvas> }
}
