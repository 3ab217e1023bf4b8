//! Files coming in from the user: the file picker (files or a whole folder), drag and
//! drop (files and folders, walked recursively) and paste.
//!
//! Every file keeps the path it came from (`Atelectasis/img1.png`), because the folder
//! is the ground-truth label. The browser gives paths three ways — `webkitRelativePath`
//! for a folder picked with the picker, the `FileSystemEntry` tree for a drop, nothing
//! for plain files and pastes — and this module turns all three into [`Incoming`].
//! Callback-style entry APIs are wrapped into promises so the walk reads as async code.
//! Files to prepare are read by the compute worker itself ([`read_in_worker`]).

use js_sys::{Array, Function, Promise, Reflect};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;
use web_sys::{
    DataTransfer, File, FileList, FileSystemDirectoryEntry, FileSystemDirectoryReader,
    FileSystemEntry, FileSystemFileEntry,
};

/// A file and the path it was given under (folders included, `/`-separated).
#[derive(Clone, Debug)]
pub struct Incoming {
    pub file: File,
    pub path: String,
}

impl Incoming {
    /// The folder the file sits in, the ground-truth label ("" at the top level).
    pub fn folder(&self) -> String {
        folder_of(&self.path)
    }
}

/// The last folder of a `/`-separated path, or "" when there is none: the core's rule,
/// shared with `medinsight embed`.
pub fn folder_of(path: &str) -> String {
    medinsight_core::ground_truth_of(path)
}

/// Why a file's bytes could not be read.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum ReadError {
    #[error("the browser could not read the file (was it moved or deleted?): {0}")]
    Browser(String),
}

/// Files of a picker's list, with their folder path when a folder was picked.
pub fn from_file_list(list: &FileList) -> Vec<Incoming> {
    (0..list.length())
        .filter_map(|i| list.get(i))
        .map(|file| {
            let relative = Reflect::get(&file, &JsValue::from_str("webkitRelativePath"))
                .ok()
                .and_then(|v| v.as_string())
                .filter(|p| !p.is_empty());
            let path = relative.unwrap_or_else(|| file.name());
            Incoming { file, path }
        })
        .collect()
}

/// The entries of a drop. Must be called inside the drop handler: the browser empties
/// the `DataTransfer` when the handler returns, so the tree is walked afterwards by
/// [`walk`].
pub fn dropped_entries(data: &DataTransfer) -> (Vec<FileSystemEntry>, Vec<File>) {
    let items = data.items();
    let mut entries = Vec::new();
    let mut loose = Vec::new();
    for i in 0..items.length() {
        let Some(item) = items.get(i) else { continue };
        if item.kind() != "file" {
            continue;
        }
        match item.webkit_get_as_entry() {
            Ok(Some(entry)) => entries.push(entry),
            _ => {
                if let Ok(Some(file)) = item.get_as_file() {
                    loose.push(file);
                }
            }
        }
    }
    (entries, loose)
}

/// Every file under the dropped entries, folders walked depth first in name order.
pub async fn walk(entries: Vec<FileSystemEntry>) -> Result<Vec<Incoming>, ReadError> {
    let mut out = Vec::new();
    let mut stack: Vec<FileSystemEntry> = entries.into_iter().rev().collect();
    while let Some(entry) = stack.pop() {
        let path = entry.full_path().trim_start_matches('/').to_string();
        if entry.is_directory() {
            let dir: FileSystemDirectoryEntry = entry.unchecked_into();
            let mut children = read_all(&dir.create_reader()).await?;
            children.sort_by_key(|c| c.name());
            stack.extend(children.into_iter().rev());
        } else if entry.is_file() {
            let file_entry: FileSystemFileEntry = entry.unchecked_into();
            let file = callback_promise(|ok, err| {
                file_entry.file_with_callback_and_callback(ok, err);
                Ok(())
            })
            .await?;
            out.push(Incoming {
                file: file.unchecked_into(),
                path,
            });
        }
    }
    Ok(out)
}

/// `readEntries` answers in chunks (100 in Chromium) until it answers none.
async fn read_all(reader: &FileSystemDirectoryReader) -> Result<Vec<FileSystemEntry>, ReadError> {
    let mut all = Vec::new();
    loop {
        let chunk: Array =
            callback_promise(|ok, err| reader.read_entries_with_callback_and_callback(ok, err))
                .await?
                .unchecked_into();
        if chunk.length() == 0 {
            return Ok(all);
        }
        all.extend(chunk.iter().map(|e| e.unchecked_into::<FileSystemEntry>()));
    }
}

/// Runs a callback-style browser call as a future.
async fn callback_promise(
    call: impl FnOnce(&Function, &Function) -> Result<(), JsValue>,
) -> Result<JsValue, ReadError> {
    let mut call = Some(call);
    let mut started = Ok(());
    let promise = Promise::new(&mut |resolve, reject| {
        if let Some(call) = call.take() {
            started = call(&resolve, &reject);
        }
    });
    started.map_err(describe)?;
    JsFuture::from(promise).await.map_err(describe)
}

fn describe(e: JsValue) -> ReadError {
    ReadError::Browser(crate::platform::js_error_text(&e))
}

/// The whole of a `File` or `Blob`, read synchronously: only in a worker
/// (`FileReaderSync` exists nowhere else), where the compute worker reads the file it
/// is sent, so the page never holds its bytes.
pub fn read_in_worker(blob: &web_sys::Blob) -> Result<Vec<u8>, ReadError> {
    let reader = web_sys::FileReaderSync::new().map_err(describe)?;
    let buffer = reader.read_as_array_buffer(blob).map_err(describe)?;
    Ok(js_sys::Uint8Array::new(&buffer).to_vec())
}

/// The whole file, read into memory.
pub async fn read_bytes(file: &File) -> Result<Vec<u8>, ReadError> {
    let buffer = JsFuture::from(file.array_buffer())
        .await
        .map_err(describe)?;
    Ok(js_sys::Uint8Array::new(&buffer).to_vec())
}

#[cfg(test)]
mod tests {
    use super::folder_of;

    #[test]
    fn the_folder_is_the_last_directory_of_the_path() {
        assert_eq!(folder_of("Atelectasis/img1.png"), "Atelectasis");
        assert_eq!(folder_of("set/Effusion/a/img.png"), "a");
        assert_eq!(folder_of("img.png"), "");
        assert_eq!(folder_of("/Edema/x.dcm"), "Edema");
    }
}
