//! Where images come in: a drop zone for files and whole folders, buttons for the file
//! and folder pickers (the keyboard way in), and a hint that pasting works anywhere.
//! Folders keep their names: each file's folder becomes its ground-truth label.

use leptos::html;
use leptos::prelude::*;
use leptos::task::spawn_local;
use web_sys::{DragEvent, HtmlInputElement};

use crate::platform::files::{dropped_entries, from_file_list, walk, Incoming};

#[component]
pub fn ImageLoader(on_files: Callback<Vec<Incoming>>) -> impl IntoView {
    let files_input = NodeRef::<html::Input>::new();
    let folder_input = NodeRef::<html::Input>::new();
    let over = RwSignal::new(false);
    let error = RwSignal::new(None::<String>);

    // `webkitdirectory` is not a standard attribute: set it once the input exists.
    Effect::new(move |_| {
        if let Some(input) = folder_input.get() {
            let _ = input.set_attribute("webkitdirectory", "");
        }
    });

    let take_input = move |input: HtmlInputElement| {
        if let Some(list) = input.files() {
            on_files.run(from_file_list(&list));
        }
        // The same files can be chosen again.
        input.set_value("");
    };
    let on_drop = move |e: DragEvent| {
        e.prevent_default();
        over.set(false);
        let Some(data) = e.data_transfer() else {
            return;
        };
        let (entries, loose) = dropped_entries(&data);
        if !loose.is_empty() {
            on_files.run(
                loose
                    .into_iter()
                    .map(|file| Incoming {
                        path: file.name(),
                        file,
                    })
                    .collect(),
            );
        }
        spawn_local(async move {
            match walk(entries).await {
                Ok(files) => {
                    error.set(None);
                    on_files.run(files)
                }
                Err(e) => error.set(Some(format!("Some dropped files could not be read: {e}"))),
            }
        });
    };

    view! {
        <div
            class="drop-zone"
            class:over=move || over.get()
            on:dragover=move |e: DragEvent| {
                e.prevent_default();
                over.set(true);
            }
            on:dragleave=move |_| over.set(false)
            on:drop=on_drop
        >
            <p>
                "Drop images or folders here, paste them, or "
                <button class="pick-files" on:click=move |_| {
                    if let Some(i) = files_input.get() {
                        i.click()
                    }
                }>"choose files"</button>
                " / "
                <button class="pick-folder" on:click=move |_| {
                    if let Some(i) = folder_input.get() {
                        i.click()
                    }
                }>"a folder"</button>
                "."
            </p>
            <p class="hint">
                "PNG, JPEG, BMP, GIF, TIFF, WebP and DICOM (uncompressed, RLE, JPEG, JPEG 2000). "
                "A folder's name becomes the ground-truth label of the images in it."
            </p>
            <input
                type="file"
                multiple
                class="file-input visually-hidden"
                tabindex="-1"
                aria-label="Choose image files"
                node_ref=files_input
                on:change=move |_| {
                    if let Some(i) = files_input.get() {
                        take_input(i)
                    }
                }
            />
            <input
                type="file"
                multiple
                class="folder-input visually-hidden"
                tabindex="-1"
                aria-label="Choose a folder of images"
                node_ref=folder_input
                on:change=move |_| {
                    if let Some(i) = folder_input.get() {
                        take_input(i)
                    }
                }
            />
            {move || error.get().map(|e| view! { <p class="error" role="alert">{e}</p> })}
        </div>
    }
}
