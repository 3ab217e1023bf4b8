//! The run's settings, remembered across reloads: endpoint path, deployment, images
//! and bytes per request, requests in flight (to start, and the most the adaptive window
//! may reach), timeout, retries. Values are clamped to sensible ranges as they are
//! entered.

use leptos::prelude::*;
use medinsight_core::settings::Settings;

#[component]
pub fn SettingsPanel(settings: RwSignal<Settings>) -> impl IntoView {
    let set = move |f: &dyn Fn(&mut Settings)| {
        settings.update(|s| {
            f(s);
            *s = s.clone().sanitised();
        })
    };
    let num = |e: &leptos::ev::Event| crate::ui::typed::<f64>(e).filter(|v| v.is_finite());
    view! {
        <details class="settings">
            <summary>"Settings"</summary>
            <div class="settings-grid">
                <label>"Endpoint path"
                    <input class="endpoint-path" prop:value=move || settings.with(|s| s.endpoint_path.clone())
                        on:change=move |e| { let v = event_target_value(&e); set(&|s| s.endpoint_path = v.clone()) } />
                </label>
                <label>"Deployment (azureml-model-deployment)"
                    <input class="deployment" placeholder="endpoint's traffic split" prop:value=move || settings.with(|s| s.deployment.clone())
                        on:change=move |e| { let v = event_target_value(&e); set(&|s| s.deployment = v.clone()) } />
                </label>
                <label>"Images per request"
                    <input class="images-per-request" type="number" min="1" max="1024" prop:value=move || settings.with(|s| s.run.images_per_request)
                        on:change=move |e| if let Some(v) = num(&e) { set(&|s| s.run.images_per_request = v as usize) } />
                </label>
                <label>"Max MB per request"
                    <input class="max-mb" type="number" min="0.1" max="100" step="0.1" prop:value=move || settings.with(|s| s.run.max_request_bytes as f64 / 1e6)
                        on:change=move |e| if let Some(v) = num(&e) { set(&|s| s.run.max_request_bytes = (v * 1e6) as usize) } />
                </label>
                <label>"Requests in flight (to start)"
                    <input class="in-flight" type="number" min="1" max="64" prop:value=move || settings.with(|s| s.run.in_flight)
                        on:change=move |e| if let Some(v) = num(&e) { set(&|s| s.run.in_flight = v as usize) } />
                </label>
                <label title="One more request in flight after a run of successes, half as many when the endpoint answers 429 or 503">
                    <input class="adaptive" type="checkbox" prop:checked=move || settings.with(|s| s.run.adaptive)
                        on:change=move |e| { let v = event_target_checked(&e); set(&|s| s.run.adaptive = v) } />
                    " Adapt to the endpoint, up to"
                    <input class="max-in-flight" type="number" min="1" max="64" prop:value=move || settings.with(|s| s.run.max_in_flight)
                        on:change=move |e| if let Some(v) = num(&e) { set(&|s| s.run.max_in_flight = v as usize) } />
                </label>
                <label>"Timeout (s)"
                    <input class="timeout" type="number" min="1" max="600" prop:value=move || settings.with(|s| s.run.timeout_secs)
                        on:change=move |e| if let Some(v) = num(&e) { set(&|s| s.run.timeout_secs = v as u32) } />
                </label>
                <label>"Retries"
                    <input class="retries" type="number" min="0" max="30" prop:value=move || settings.with(|s| s.run.retries)
                        on:change=move |e| if let Some(v) = num(&e) { set(&|s| s.run.retries = v as u32) } />
                </label>
            </div>
            <button class="reset-settings" on:click=move |_| settings.set(Settings::default())>"Restore defaults"</button>
        </details>
    }
}
