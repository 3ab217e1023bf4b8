//! Studies and series: images grouped by folder or by DICOM Study / Series Instance UID,
//! each group pooled into one vector (the mean, or the notebook's study vector
//! `concat(mean, std, min, p25, p50, p75, max)`), then compared like images: each
//! group's nearest other group and its outlier score (mean cosine distance to its
//! nearest groups). The pooled vectors can be saved as `.npy`.

use leptos::prelude::*;
use medinsight_core::analysis::neighbours::{of_row, outlier_scores, rank_desc};
use medinsight_core::analysis::pooling::{group_by, pool, Pooling};
use medinsight_core::analysis::Embeddings;

use crate::state::{embedded, Images};

#[derive(Clone, Copy, PartialEq)]
enum Key {
    Folder,
    Study,
    Series,
}

#[derive(Clone, PartialEq)]
struct Row {
    name: String,
    size: usize,
    nearest: Option<(String, f32)>,
    score: f32,
}

#[component]
pub fn StudiesView(#[prop(into)] images: Signal<Images>) -> impl IntoView {
    let key = RwSignal::new(Key::Folder);
    let pooling = RwSignal::new(Pooling::Mean);
    let status = RwSignal::new(None::<String>);
    let groups = Memo::new(move |_| {
        let e = images.with(|v| embedded(v));
        let keys: Vec<Option<String>> = e
            .iter()
            .map(|(i, _)| {
                let source = i.prepared.with(|p| p.as_ref().map(|p| p.source.clone()));
                match key.get() {
                    Key::Folder => Some(crate::platform::files::folder_of(&i.path.get_value()))
                        .filter(|f| !f.is_empty()),
                    Key::Study => source.and_then(|s| s.study_uid),
                    Key::Series => source.and_then(|s| s.series_uid),
                }
            })
            .collect();
        let groups = group_by(&keys);
        let pooled: Vec<Vec<f32>> = groups
            .iter()
            .map(|(_, members)| {
                let vs: Vec<&[f32]> = members.iter().map(|&m| e[m].1.as_slice()).collect();
                pool(&vs, pooling.get())
            })
            .collect();
        (
            groups
                .into_iter()
                .map(|(k, m)| (k, m.len()))
                .collect::<Vec<_>>(),
            pooled,
        )
    });
    let rows = move || {
        groups.with(|(names, pooled)| {
            if names.is_empty() {
                return Vec::new();
            }
            let e = Embeddings::new(pooled);
            let all: Vec<usize> = (0..names.len()).collect();
            let scores = outlier_scores(&e, &all, 3);
            rank_desc(&scores)
                .into_iter()
                .map(|g| Row {
                    name: names[g].0.clone(),
                    size: names[g].1,
                    nearest: of_row(&e, g, 1)
                        .first()
                        .map(|n| (names[n.index].0.clone(), n.cosine)),
                    score: scores[g],
                })
                .collect()
        })
    };
    let save = move |_| {
        let (names, pooled) = groups.get_untracked();
        let bytes = medinsight_core::formats::npy::npy_f32(&pooled);
        let meta = medinsight_core::formats::projector::projector_metadata(
            &["group", "images"],
            &names
                .iter()
                .map(|(n, s)| vec![n.clone(), s.to_string()])
                .collect::<Vec<_>>(),
        );
        let r = crate::platform::blobs::download(
            "medinsight-studies.npy",
            &bytes,
            "application/octet-stream",
        )
        .and_then(|()| {
            crate::platform::blobs::download(
                "medinsight-studies-metadata.tsv",
                meta.as_bytes(),
                "text/tab-separated-values",
            )
        });
        status.set(Some(match r {
            Ok(()) => format!("Saved {} pooled vectors.", names.len()),
            Err(e) => format!("Could not save: {e}"),
        }));
    };
    view! {
        <div class="studies">
            <div class="controls">
                <label>"Group by "
                    <select class="group-key" on:change=move |e| key.set(match event_target_value(&e).as_str() {
                        "study" => Key::Study, "series" => Key::Series, _ => Key::Folder })>
                        <option value="folder">"folder"</option>
                        <option value="study">"DICOM Study Instance UID"</option>
                        <option value="series">"DICOM Series Instance UID"</option>
                    </select>
                </label>
                <label>"Pooling "
                    <select class="pooling" on:change=move |e| pooling.set(if event_target_value(&e) == "stats" { Pooling::Statistics } else { Pooling::Mean })>
                        <option value="mean">"mean"</option>
                        <option value="stats">"mean, std, min, p25, p50, p75, max (7 × 1024)"</option>
                    </select>
                </label>
                <button class="save-studies" on:click=save>"Save pooled vectors (.npy + TSV)"</button>
            </div>
            <p class="muted" role="status">{move || status.get()}</p>
            {move || {
                let rows = rows();
                if rows.is_empty() {
                    return view! { <p class="muted">"No groups: embedded images need a folder or DICOM UIDs."</p> }.into_any();
                }
                view! {
                    <table class="study-table">
                        <thead><tr><th>"Group"</th><th>"Images"</th><th>"Nearest group"</th><th>"Outlier score"</th></tr></thead>
                        <tbody>
                            {rows.into_iter().map(|r| view! {
                                <tr data-group=r.name.clone()>
                                    <td>{r.name.clone()}</td>
                                    <td>{r.size}</td>
                                    <td>{r.nearest.map(|(n, c)| format!("{n} ({c:.3})")).unwrap_or_else(|| "—".into())}</td>
                                    <td>{format!("{:.3}", r.score)}</td>
                                </tr>
                            }).collect_view()}
                        </tbody>
                    </table>
                }.into_any()
            }}
        </div>
    }
}
