//! Golden tests of the wire contract against the documented examples (fixtures/): the
//! builder rebuilds both request examples JSON-equal, and the parser reads the
//! documentation's response layout and the deployed service's row layout.

use medinsight_core::endpoint::wire::{
    parse_request, parse_response, ParseOptions, Row, ScoreRequest,
};
use serde_json::Value;

fn fixture(name: &str) -> Value {
    let path = format!("{}/tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"));
    serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap()
}

const PROMPT: &str = "x-ray chest anteroposterior Atelectasis";
const TINY_PNG: &str = "iVBORw0KGgoAAAANSUhEUgAAAAIAAAACCAIAAAD91JpzAAAAEklEQVR4nGP4z8DAAMIM/4EAAB/uBfsL2WiLAAAAAElFTkSuQmCC";

#[test]
fn text_only_example_is_rebuilt_exactly() {
    let req = ScoreRequest {
        rows: vec![Row::text(PROMPT)],
        get_scaling_factor: None,
    };
    assert_eq!(req.to_json(), fixture("request_text_only.json"));
}

#[test]
fn image_and_text_example_is_rebuilt_exactly() {
    let req = ScoreRequest {
        rows: vec![Row {
            image: Some(TINY_PNG.into()),
            text: Some(PROMPT.into()),
        }],
        get_scaling_factor: Some(true),
    };
    assert_eq!(req.to_json(), fixture("request_image_text.json"));
}

#[test]
fn examples_read_back_as_the_same_requests() {
    for name in ["request_text_only.json", "request_image_text.json"] {
        let value = fixture(name);
        let parsed = parse_request(value.to_string().as_bytes()).unwrap();
        assert_eq!(parsed.to_json(), value, "{name}");
    }
}

fn docs_vector(sign: f32) -> Vec<f32> {
    // Any unit vector will do; the docs' own values are elided.
    let v: Vec<f32> = (0..1024).map(|i| sign * ((i % 7) as f32 - 3.0)).collect();
    let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt();
    v.into_iter().map(|x| x / norm).collect()
}

#[test]
fn documentation_response_example_parses() {
    let body = serde_json::json!({
        "image_features": [docs_vector(1.0)],
        "text_features": [docs_vector(-1.0)],
        "scaling_factor": 4.516357898712158
    })
    .to_string();
    let req = ScoreRequest {
        rows: vec![Row {
            image: Some(TINY_PNG.into()),
            text: Some(PROMPT.into()),
        }],
        get_scaling_factor: Some(true),
    };
    let res = parse_response(&body, &req, ParseOptions::default()).unwrap();
    let dot: f32 = res.images[0]
        .as_ref()
        .unwrap()
        .iter()
        .zip(res.texts[0].as_ref().unwrap())
        .map(|(a, b)| a * b)
        .sum();
    assert!((dot + 1.0).abs() < 1e-5);
    assert!((res.scaling_factor.unwrap().temperature() - 4.516357898712158f64.exp()).abs() < 1e-9);
}

#[test]
fn deployed_row_response_parses() {
    // What the deployed service answers: one object per row, image nested, text flat.
    let body = serde_json::json!([
        {"image_features": [docs_vector(1.0)], "text_features": docs_vector(1.0), "scaling_factor": 4.516357898712158},
        {"text_features": docs_vector(-1.0), "scaling_factor": 4.516357898712158}
    ])
    .to_string();
    let req = ScoreRequest {
        rows: vec![
            Row {
                image: Some(TINY_PNG.into()),
                text: Some(PROMPT.into()),
            },
            Row::text("x-ray chest anteroposterior No Finding"),
        ],
        get_scaling_factor: Some(true),
    };
    let res = parse_response(&body, &req, ParseOptions::default()).unwrap();
    assert!(res.images[0].is_some() && res.images[1].is_none());
    assert!(res.texts.iter().all(Option::is_some));
}
