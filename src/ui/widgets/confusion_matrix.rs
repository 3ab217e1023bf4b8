//! The confusion matrix of zero-shot predictions against ground truth: rows are the
//! true classes, columns the predicted ones, the diagonal is right.

use leptos::prelude::*;
use medinsight_core::analysis::evaluation::Confusion;

#[component]
pub fn ConfusionMatrix(classes: Vec<String>, confusion: Confusion) -> impl IntoView {
    let n = confusion.n;
    let max = confusion.counts.iter().copied().max().unwrap_or(0).max(1);
    view! {
        <table class="confusion">
            <caption>"Confusion matrix (rows: ground truth, columns: predicted)"</caption>
            <thead>
                <tr>
                    <th></th>
                    {classes.iter().map(|c| view! { <th scope="col">{c.clone()}</th> }).collect_view()}
                </tr>
            </thead>
            <tbody>
                {(0..n).map(|t| view! {
                    <tr>
                        <th scope="row">{classes[t].clone()}</th>
                        {(0..n).map(|p| {
                            let count = confusion.counts[t * n + p];
                            view! {
                                <td class:diagonal=t == p style=format!("--w: {:.3}", f64::from(count) / f64::from(max))>
                                    {count}
                                </td>
                            }
                        }).collect_view()}
                    </tr>
                }).collect_view()}
            </tbody>
        </table>
    }
}
