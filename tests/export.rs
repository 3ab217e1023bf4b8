//! The export panel mounted in headless Chromium, its downloads read back: with the
//! option as it opens (pseudonymise, on), no file holds an original file name or folder,
//! and every file names the images by the same pseudonyms; with it unticked, the names
//! are there as they were.
//!
//! Downloads are caught where the page starts them: the anchor's `click`, replaced for
//! this test page, records the file name and the `blob:` URL, which the test then
//! fetches — the bytes a user's browser would save.
#![cfg(target_arch = "wasm32")]

mod common;

use common::frames;
use leptos::prelude::*;
use medinsight_core::formats::pseudonym::Pseudonymiser;
use medinsight_core::formats::session::SessionImage;
use medinsight_web::state::Session;
use medinsight_web::ui::results::export_panel::{ExportPanel, ExportSources};
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

const NAMES: [&str; 2] = ["Doe_Jane_PID998877.dcm", "Smith^John.png"];

fn image(i: usize) -> SessionImage {
    let mut vector = vec![0.0f32; 1024];
    vector[i] = 1.0;
    SessionImage {
        name: NAMES[i].into(),
        path: format!("Ward 7 Doe/Effusion/{}", NAMES[i]),
        label: "Effusion".into(),
        vector: Some(vector),
        ..SessionImage::default()
    }
}

/// Replaces the anchor's `click` so downloads are recorded instead of saved.
fn catch_downloads() {
    js_sys::eval(
        "window.__downloads = []; \
         HTMLAnchorElement.prototype.click = function () { \
           window.__downloads.push([this.download, this.href]); };",
    )
    .unwrap();
}

/// The downloads since the last call: (file name, contents).
async fn downloads() -> Vec<(String, String)> {
    let list =
        js_sys::eval("const d = window.__downloads; window.__downloads = []; JSON.stringify(d)")
            .unwrap()
            .as_string()
            .unwrap();
    let list: Vec<(String, String)> = serde_json::from_str(&list).unwrap();
    let mut out = Vec::new();
    for (name, url) in list {
        let window = web_sys::window().unwrap();
        let response: web_sys::Response = JsFuture::from(window.fetch_with_str(&url))
            .await
            .unwrap()
            .unchecked_into();
        let text = JsFuture::from(response.text().unwrap()).await.unwrap();
        out.push((name, text.as_string().unwrap()));
    }
    out
}

fn click(host: &web_sys::HtmlElement, css: &str) {
    host.query_selector(css)
        .unwrap()
        .unwrap_or_else(|| panic!("no {css}"))
        .unchecked_into::<web_sys::HtmlElement>()
        .click();
}

#[wasm_bindgen_test]
async fn exports_hold_no_original_name_unless_the_user_unticks_the_option() {
    let owner = Owner::new();
    owner.set();
    let session = Session::new(RwSignal::new(Default::default()));
    session.add_vectors(vec![image(0), image(1)]);
    let sources = ExportSources {
        session: Callback::new(move |()| session.to_file()),
        zero_shot: Callback::new(move |()| session.zero_shot_rows()),
        pseudonym_key: session.pseudonym_key.into(),
        import_session: Callback::new(move |file| session.import(file)),
        import_vectors: Callback::new(move |images| session.add_vectors(images)),
    };
    let document = web_sys::window().unwrap().document().unwrap();
    let host: web_sys::HtmlElement = document.create_element("div").unwrap().unchecked_into();
    document.body().unwrap().append_child(&host).unwrap();
    leptos::mount::mount_to(
        host.clone(),
        move || view! { <ExportPanel sources=sources /> },
    )
    .forget();
    catch_downloads();

    let option: web_sys::HtmlInputElement = host
        .query_selector("input.export-pseudonymise")
        .unwrap()
        .expect("the pseudonymise option")
        .unchecked_into();
    assert!(option.checked(), "the option is on when the panel opens");
    let note = host.query_selector(".pseudonymise-note").unwrap().unwrap();
    assert!(note.text_content().unwrap().contains("keyed hash"));

    for css in [
        ".export-json",
        ".export-csv",
        ".export-npy",
        ".export-projector",
    ] {
        click(&host, css);
    }
    let files = downloads().await;
    assert_eq!(
        files.len(),
        6,
        "{:?}",
        files.iter().map(|f| &f.0).collect::<Vec<_>>()
    );
    let key = session.pseudonym_key.get_untracked().expect("a key");
    let p = Pseudonymiser::new(&key);
    for (name, text) in &files {
        for secret in ["Doe", "Jane", "PID998877", "Smith", "Ward"] {
            assert!(!text.contains(secret), "{name} holds {secret}");
        }
        if name.ends_with(".json") || name.contains("metadata") || name.ends_with(".csv") {
            for original in NAMES {
                let pseudonym = p.file_name(original);
                assert!(text.contains(&pseudonym), "{name} lacks {pseudonym}");
            }
        }
    }

    // Unticked, the names are written as they are (and the note says what that means).
    option.set_checked(false);
    option
        .dispatch_event(&web_sys::Event::new("change").unwrap())
        .unwrap();
    frames(2).await;
    assert!(note.text_content().unwrap().contains("as they are"));
    click(&host, ".export-json");
    let files = downloads().await;
    assert_eq!(files.len(), 1);
    for original in NAMES {
        assert!(
            files[0].1.contains(original),
            "the plain JSON lacks {original}"
        );
    }
}
