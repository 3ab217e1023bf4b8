//! The app's service worker (`pwa/sw.js`, written per build by `scripts/pwa-hook`):
//! registering it, so that the installed app opens with no network, and hearing that a
//! newer build's worker is installed and waiting, so the page can offer to reload.
//!
//! A new build's worker waits while this page is open (the page's files came from the
//! old one, and a half-old, half-new page would break); [`Registration::activate_waiting`]
//! tells it to take over and reloads the page once it has. The very first worker takes
//! the page at once (`clients.claim()` in sw.js) and is no "new version".

use std::rc::Rc;

use wasm_bindgen::closure::Closure;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::{ServiceWorkerContainer, ServiceWorkerRegistration, ServiceWorkerState};

use super::{js_error_text, window, BrowserError};

/// Where the build puts the worker: the site's root, so its scope is the whole app
/// (no `Service-Worker-Allowed` header needed).
pub const SCRIPT: &str = "/sw.js";

/// The message sw.js answers by taking over (`skipWaiting`).
const SKIP_WAITING: &str = "skip-waiting";

/// Why the app keeps no offline copy, or could not switch to the new one.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum ServiceWorkerError {
    #[error("this browser keeps no offline copy of the app here (service workers need https or this machine's own address, and some private windows refuse them)")]
    Unsupported,
    #[error("the offline copy of the app could not be set up: {0}")]
    Register(String),
    #[error(transparent)]
    Browser(#[from] BrowserError),
}

/// The page's registration of [`SCRIPT`].
#[derive(Clone)]
pub struct Registration {
    container: ServiceWorkerContainer,
    registration: ServiceWorkerRegistration,
}

fn container() -> Result<ServiceWorkerContainer, ServiceWorkerError> {
    let navigator = window()?.navigator();
    // Absent where service workers are not allowed (plain http on another host).
    let present =
        js_sys::Reflect::has(&navigator, &JsValue::from_str("serviceWorker")).unwrap_or(false);
    if !present {
        return Err(ServiceWorkerError::Unsupported);
    }
    Ok(navigator.service_worker())
}

/// Registers [`SCRIPT`]; `on_waiting` runs when a newer build's worker is installed
/// and waits — already now, or later while the page is open.
pub async fn register(on_waiting: impl Fn() + 'static) -> Result<Registration, ServiceWorkerError> {
    let container = container()?;
    let registration: ServiceWorkerRegistration = JsFuture::from(container.register(SCRIPT))
        .await
        .map_err(|e| ServiceWorkerError::Register(js_error_text(&e)))?
        .unchecked_into();
    let on_waiting: Rc<dyn Fn()> = Rc::new(on_waiting);
    // A worker that waits with no page under the old one is not "new": nothing to reload.
    if registration.waiting().is_some() && container.controller().is_some() {
        on_waiting();
    }
    let found = {
        let registration = registration.clone();
        let container = container.clone();
        Closure::<dyn Fn()>::new(move || {
            let Some(installing) = registration.installing() else {
                return;
            };
            let worker = installing.clone();
            let container = container.clone();
            let on_waiting = on_waiting.clone();
            let state_changed = Closure::<dyn Fn()>::new(move || {
                // Installed while another worker controls this page: it waits for us.
                if worker.state() == ServiceWorkerState::Installed
                    && container.controller().is_some()
                {
                    on_waiting();
                }
            });
            installing.set_onstatechange(Some(state_changed.as_ref().unchecked_ref()));
            // Lives as long as that worker; one per new build seen by this page.
            state_changed.forget();
        })
    };
    registration.set_onupdatefound(Some(found.as_ref().unchecked_ref()));
    // The registration lives as long as the page, and so does its listener.
    found.forget();
    Ok(Registration {
        container,
        registration,
    })
}

impl Registration {
    /// Lets the waiting worker take over, then reloads the page from it. With none
    /// waiting (another tab already switched), the page just reloads.
    pub fn activate_waiting(&self) -> Result<(), ServiceWorkerError> {
        let reload = || {
            window().and_then(|w| {
                w.location()
                    .reload()
                    .map_err(super::call("reloading the page"))
            })
        };
        let Some(waiting) = self.registration.waiting() else {
            return Ok(reload()?);
        };
        let on_change = Closure::once_into_js(move || {
            let _ = reload();
        });
        self.container
            .set_oncontrollerchange(Some(on_change.unchecked_ref()));
        waiting
            .post_message(&JsValue::from_str(SKIP_WAITING))
            .map_err(super::call("starting the new version"))?;
        Ok(())
    }
}
