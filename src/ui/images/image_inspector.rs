//! "What the model sees": the exact 512×512 pixels that will be sent, the bytes on the
//! wire, where they came from (format, size, and for DICOM its metadata and the window
//! applied), and controls to change the windowing or the frame, for this image, the
//! picked ones or all.
//!
//! The full PNG is the only one on the page: it is fetched when the inspector shows an
//! image (from its `Blob`, or from storage for a restored one), given an object URL for
//! as long as it is shown, and the URL is revoked when the image changes or the
//! inspector closes. Cards show the small thumbnails.

use leptos::prelude::*;
use leptos::task::spawn_local;
use medinsight_core::pipeline::{FrameChoice, PrepareOptions, Windowing};

use crate::persist::pixels::Pixels;
use crate::platform::blobs;
use crate::state::ImageItem;

#[derive(Clone, Copy, PartialEq)]
enum WindowChoice {
    Microsoft,
    FromFile,
    Percentile,
    MinMax,
    Manual,
}

fn choice_of(w: Windowing) -> WindowChoice {
    match w {
        Windowing::Microsoft => WindowChoice::Microsoft,
        Windowing::FromFile => WindowChoice::FromFile,
        Windowing::Percentile { .. } => WindowChoice::Percentile,
        Windowing::MinMax => WindowChoice::MinMax,
        Windowing::Manual { .. } => WindowChoice::Manual,
    }
}

fn number(e: &leptos::ev::Event) -> Option<f64> {
    crate::ui::typed::<f64>(e).filter(|v| v.is_finite())
}

/// Which images a change of windowing or frame applies to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ApplyTo {
    /// The image shown.
    This,
    /// The images picked in the gallery.
    Picked,
    All,
}

#[component]
pub fn ImageInspector(
    #[prop(into)] item: Signal<Option<ImageItem>>,
    /// How many images are picked in the gallery.
    #[prop(into)]
    picked: Signal<usize>,
    on_options: Callback<(u64, PrepareOptions, ApplyTo)>,
    /// Where the full PNG is read from.
    pixels: Pixels,
) -> impl IntoView {
    view! {
        {move || {
            item.get()
                .map(|item| view! { <Inspector item=item picked=picked on_options=on_options pixels=pixels /> })
        }}
    }
}

/// A `blob:` URL of `item`'s full PNG while it is shown (`Err`: why there is none).
/// Made again when the pixels change; revoked when replaced and when the inspector goes.
fn full_png_url(item: ImageItem, pixels: Pixels) -> RwSignal<Option<Result<String, String>>> {
    let shown = RwSignal::new(None::<Result<String, String>>);
    let release = move |shown: Option<Result<String, String>>| {
        if let Some(Ok(url)) = shown {
            blobs::revoke_url(&url);
        }
    };
    Effect::new(move |_| {
        let Some(fingerprint) = item.prepared.with(|p| p.as_ref().map(|p| p.fingerprint)) else {
            release(shown.try_update(|s| s.take()).flatten());
            return;
        };
        spawn_local(async move {
            let url = match pixels.png(item).await {
                Ok(blob) => blobs::blob_url(&blob).map_err(|e| e.to_string()),
                Err(e) => Err(e.to_string()),
            };
            // Another preparation landed meanwhile: its own request shows it.
            let current = item
                .prepared
                .try_with_untracked(|p| p.as_ref().map(|p| p.fingerprint))
                .flatten();
            if current != Some(fingerprint) {
                release(Some(url));
                return;
            }
            match shown.try_update(|s| s.replace(url.clone())) {
                Some(old) => release(old),
                // The inspector closed meanwhile.
                None => release(Some(url)),
            }
        });
    });
    on_cleanup(move || release(shown.try_update(|s| s.take()).flatten()));
    shown
}

#[component]
fn Inspector(
    item: ImageItem,
    picked: Signal<usize>,
    on_options: Callback<(u64, PrepareOptions, ApplyTo)>,
    pixels: Pixels,
) -> impl IntoView {
    let full_png = full_png_url(item, pixels);
    let start = item.options.get_untracked();
    let choice = RwSignal::new(choice_of(start.window));
    let (low, high) = match start.window {
        Windowing::Percentile { low, high } => (f64::from(low), f64::from(high)),
        _ => (1.0, 99.0),
    };
    let low = RwSignal::new(low);
    let high = RwSignal::new(high);
    let prepared = move || item.prepared.get();
    let file_window = move || {
        prepared()
            .map(|p| (p.window.center, p.window.width))
            .unwrap_or((127.5, 255.0))
    };
    let (center, width) = match start.window {
        Windowing::Manual { center, width } => (center, width),
        _ => file_window(),
    };
    let center = RwSignal::new(center);
    let width = RwSignal::new(width);
    let frame = RwSignal::new(start.frame);
    let error = RwSignal::new(None::<String>);

    let options = move || -> Result<PrepareOptions, String> {
        let window = match choice.get() {
            WindowChoice::Microsoft => Windowing::Microsoft,
            WindowChoice::FromFile => Windowing::FromFile,
            WindowChoice::MinMax => Windowing::MinMax,
            WindowChoice::Percentile => {
                let (l, h) = (low.get(), high.get());
                if !(0.0..h).contains(&l) || h > 100.0 {
                    return Err("percentiles must satisfy 0 ≤ low < high ≤ 100".into());
                }
                Windowing::Percentile {
                    low: l as f32,
                    high: h as f32,
                }
            }
            WindowChoice::Manual => {
                if width.get() <= 0.0 {
                    return Err("the window width must be above 0".into());
                }
                Windowing::Manual {
                    center: center.get(),
                    width: width.get(),
                }
            }
        };
        Ok(PrepareOptions {
            window,
            frame: frame.get(),
            ..item.options.get_untracked()
        })
    };
    let apply = move |to: ApplyTo| match options() {
        Ok(o) => {
            error.set(None);
            on_options.run((item.id, o, to));
        }
        Err(e) => error.set(Some(e)),
    };
    let frames = move || prepared().map_or(1, |p| p.source.frames);

    view! {
        <section class="inspector" aria-labelledby="inspector-heading">
            <h3 id="inspector-heading">"What the model sees: " {item.name.get_value()}</h3>
            <div class="inspector-body">
                {move || match prepared() {
                    Some(p) => {
                        let picture = move || match full_png.get() {
                            Some(Ok(url)) => view! {
                                <img src=url alt="The 512×512 image sent to the model" width="512" height="512" />
                            }
                                .into_any(),
                            Some(Err(e)) => view! { <p class="error model-view-error" role="alert">{e}</p> }.into_any(),
                            None => view! { <p class="muted model-view-loading" data-busy="">"Reading the image…"</p> }.into_any(),
                        };
                        view! {
                            <figure class="model-view">
                                {picture}
                                <figcaption class="wire-bytes">
                                    {format!(
                                        "Sent: 512×512 8-bit {} PNG, {} bytes ({} base64 characters on the wire).",
                                        if p.channels == 1 { "grayscale" } else { "RGB" },
                                        group(p.bytes),
                                        group(medinsight_core::pipeline::encode::base64_len(p.bytes)),
                                    )}
                                </figcaption>
                            </figure>
                        }
                            .into_any()
                    }
                    None => view! { <p class="muted">"Not prepared yet."</p> }.into_any(),
                }}
                {move || prepared().map(|p| {
                    let s = &p.source;
                    let mut rows = vec![
                        ("Format", s.format.clone()),
                        ("Size", format!("{}×{} px, {} channel(s), {} bits", s.width, s.height, s.channels, s.bits)),
                        ("Window applied", p.window.to_string()),
                    ];
                    let optional = [
                        ("Modality", &s.modality),
                        ("Body part", &s.body_part),
                        ("Photometric", &s.photometric),
                        ("Transfer syntax", &s.transfer_syntax),
                        ("Study UID", &s.study_uid),
                        ("Series UID", &s.series_uid),
                    ];
                    rows.extend(optional.into_iter().filter_map(|(k, v)| v.clone().map(|v| (k, v))));
                    if s.frames > 1 {
                        rows.push(("Frame", format!("{} of {} (numbered from 0)", s.frame, s.frames)));
                    }
                    view! {
                        <dl class="source-info">
                            {rows.into_iter().map(|(k, v)| view! { <dt>{k}</dt><dd>{v}</dd> }).collect_view()}
                        </dl>
                    }
                })}
            </div>
            <fieldset class="window-controls">
                <legend>"Windowing"</legend>
                <label>
                    "Rule "
                    <select on:change=move |e| {
                        choice.set(match event_target_value(&e).as_str() {
                            "file" => WindowChoice::FromFile,
                            "percentile" => WindowChoice::Percentile,
                            "minmax" => WindowChoice::MinMax,
                            "manual" => WindowChoice::Manual,
                            _ => WindowChoice::Microsoft,
                        })
                    }>
                        <option value="microsoft" selected=move || choice.get() == WindowChoice::Microsoft>
                            "As Microsoft's client (DICOM and over 8 bits: 1–99 % clip; 8-bit as is)"
                        </option>
                        <option value="file" selected=move || choice.get() == WindowChoice::FromFile>
                            "The file's stored window (DICOM; 8-bit as is; else 1–99 %)"
                        </option>
                        <option value="percentile" selected=move || choice.get() == WindowChoice::Percentile>
                            "Percentile clip"
                        </option>
                        <option value="minmax" selected=move || choice.get() == WindowChoice::MinMax>
                            "Minimum–maximum"
                        </option>
                        <option value="manual" selected=move || choice.get() == WindowChoice::Manual>
                            "Manual centre / width"
                        </option>
                    </select>
                </label>
                <Show when=move || choice.get() == WindowChoice::Percentile>
                    <label>"Low % " <input type="number" min="0" max="100" step="0.5" prop:value=move || low.get()
                        on:change=move |e| if let Some(v) = number(&e) { low.set(v) } /></label>
                    <label>"High % " <input type="number" min="0" max="100" step="0.5" prop:value=move || high.get()
                        on:change=move |e| if let Some(v) = number(&e) { high.set(v) } /></label>
                </Show>
                <Show when=move || choice.get() == WindowChoice::Manual>
                    <label>"Centre " <input type="number" step="any" prop:value=move || center.get()
                        on:change=move |e| if let Some(v) = number(&e) { center.set(v) } /></label>
                    <label>"Width " <input type="number" step="any" min="0" prop:value=move || width.get()
                        on:change=move |e| if let Some(v) = number(&e) { width.set(v) } /></label>
                </Show>
                <Show when=move || { frames() > 1 }>
                    <label>
                        "Frame "
                        <select class="frame-choice" on:change=move |e| {
                            frame.set(match event_target_value(&e).as_str() {
                                "middle" => FrameChoice::Middle,
                                "index" => FrameChoice::Index(prepared().map_or(0, |p| p.source.frame)),
                                _ => FrameChoice::First,
                            })
                        }>
                            <option value="first" selected=move || frame.get() == FrameChoice::First>
                                "First (as Microsoft's client)"
                            </option>
                            <option value="middle" selected=move || frame.get() == FrameChoice::Middle>"Middle"</option>
                            <option value="index" selected=move || matches!(frame.get(), FrameChoice::Index(_))>"Number…"</option>
                        </select>
                    </label>
                    <Show when=move || matches!(frame.get(), FrameChoice::Index(_))>
                        <label>
                            "Frame number (from 0) "
                            <input type="number" min="0" max=move || frames() - 1
                                prop:value=move || match frame.get() {
                                    FrameChoice::Index(i) => i,
                                    _ => prepared().map_or(0, |p| p.source.frame),
                                }
                                on:change=move |e| if let Some(v) = number(&e) { frame.set(FrameChoice::Index(v.max(0.0) as u32)) } />
                        </label>
                    </Show>
                </Show>
                <div class="buttons">
                    <button class="apply-one" on:click=move |_| apply(ApplyTo::This)>"Apply to this image"</button>
                    <Show when=move || { picked.get() > 1 }>
                        <button class="apply-picked" on:click=move |_| apply(ApplyTo::Picked)>
                            {move || format!("Apply to the {} picked", picked.get())}
                        </button>
                    </Show>
                    <button class="apply-all" on:click=move |_| apply(ApplyTo::All)>"Apply to all images"</button>
                </div>
                {move || error.get().map(|e| view! { <p class="error" role="alert">{e}</p> })}
            </fieldset>
        </section>
    }
}

/// 44837 → "44 837": digits grouped by thousands with a thin space.
fn group(n: usize) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push('\u{202f}');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn groups_thousands() {
        assert_eq!(super::group(7), "7");
        assert_eq!(super::group(44837), "44\u{202f}837");
        assert_eq!(super::group(1234567), "1\u{202f}234\u{202f}567");
    }
}
