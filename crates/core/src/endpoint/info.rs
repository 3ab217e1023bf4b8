//! What the server in front of the browser says about the endpoint behind `/score`.
//!
//! The browser only ever talks to its own origin, so it cannot know by itself whether
//! `/score` is the local emulator or a real Azure ML endpoint behind `medinsight proxy`.
//! Both servers answer `GET /endpoint-info` with this small JSON document (no key, no
//! pixels), and the app shows it in its status line so users always know where their
//! images go.

use serde::{Deserialize, Serialize};

/// Path, on the app's own origin, of the JSON document described by [`EndpointInfo`].
pub const ENDPOINT_INFO_PATH: &str = "/endpoint-info";

/// Path, on the app's own origin, that takes scoring requests.
pub const SCORE_PATH: &str = "/score";

/// Which kind of server answers `/score`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum EndpointKind {
    /// `medinsight emulate`: deterministic vectors, not a medical model.
    Emulator,
    /// `medinsight proxy`: a real Azure ML online endpoint behind a key-injecting proxy.
    Proxy,
}

/// The document served at [`ENDPOINT_INFO_PATH`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EndpointInfo {
    pub kind: EndpointKind,
    /// The upstream scoring URL (proxy only). Never carries the key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub upstream: Option<String>,
    /// The deployment pinned with `azureml-model-deployment`, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deployment: Option<String>,
}

impl EndpointInfo {
    pub fn emulator() -> Self {
        Self {
            kind: EndpointKind::Emulator,
            upstream: None,
            deployment: None,
        }
    }

    /// One line for the status bar: where `/score` really goes.
    pub fn describe(&self) -> String {
        let target = match (self.kind, &self.upstream) {
            (EndpointKind::Emulator, _) => {
                "the local emulator (deterministic vectors, not a medical model)".to_string()
            }
            (EndpointKind::Proxy, Some(url)) => format!("{url} through the local proxy"),
            (EndpointKind::Proxy, None) => "an endpoint behind the local proxy".to_string(),
        };
        match &self.deployment {
            Some(d) => format!("{SCORE_PATH} → {target}, deployment “{d}”"),
            None => format!("{SCORE_PATH} → {target}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emulator_round_trips_without_optional_fields() {
        let json = serde_json::to_string(&EndpointInfo::emulator()).unwrap();
        assert_eq!(json, r#"{"kind":"emulator"}"#);
        let back: EndpointInfo = serde_json::from_str(&json).unwrap();
        assert_eq!(back, EndpointInfo::emulator());
    }

    #[test]
    fn describe_says_where_pixels_go() {
        assert_eq!(
            EndpointInfo::emulator().describe(),
            "/score → the local emulator (deterministic vectors, not a medical model)"
        );
        let proxy = EndpointInfo {
            kind: EndpointKind::Proxy,
            upstream: Some("https://x.westeurope.inference.ml.azure.com/score".into()),
            deployment: Some("blue".into()),
        };
        assert_eq!(
            proxy.describe(),
            "/score → https://x.westeurope.inference.ml.azure.com/score through the local proxy, deployment “blue”"
        );
    }

    #[test]
    fn unknown_kind_is_rejected() {
        assert!(serde_json::from_str::<EndpointInfo>(r#"{"kind":"mystery"}"#).is_err());
    }
}
