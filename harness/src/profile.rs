//! What the image and lifecycle checks assume about an image, so that an image built elsewhere
//! can be checked too. The default is this project's image, so an image built from this
//! Dockerfile (with any artifact) needs no profile; another image passes a JSON file:
//!
//! ```json
//! {
//!   "files": ["app/server", "app/model.json"],
//!   "max_bytes": 50000000,
//!   "port": 8080,
//!   "entrypoint": ["/app/server"],
//!   "healthcheck": null,
//!   "model_labels": null,
//!   "model_path_env": "MODEL_FILE",
//!   "lifecycle_events": false
//! }
//! ```
//!
//! Every key is optional and defaults to this project's image. With `healthcheck: null` the
//! container-healthcheck check is not run; with `lifecycle_events: false` cold start is timed
//! from outside only and the in-flight proof is not run; with `model_path_env: null` models
//! are not mounted into the image, so only the image's own model is checked.

use std::path::Path;

use serde::{Deserialize, Serialize};
use server::contract::Config;
use server::contract::env::{HOST, LOG_FORMAT, MODEL_PATH, PORT};

use crate::error::HarnessError;

/// An image's expected shape and how to run it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Profile {
    /// Every file in the image's layers (directories aside), without the leading `/`.
    pub files: Vec<String>,
    /// The largest image accepted, in bytes.
    pub max_bytes: i64,
    /// The `USER` it must run as; a numeric non-root user is required either way.
    pub user: Option<String>,
    /// The port the service listens on inside the container.
    pub port: u16,
    /// The exec-form `ENTRYPOINT`.
    pub entrypoint: Vec<String>,
    /// The `HEALTHCHECK` command, or none when the image has none.
    pub healthcheck: Option<Vec<String>>,
    /// Labels that must be present and non-empty.
    pub labels: Vec<String>,
    /// The labels that name the served model, its version and its artifact's SHA-256, checked
    /// against the oracle; none when the image has no such labels.
    pub model_labels: Option<[String; 3]>,
    /// The path that answers 200 once the service is ready.
    pub ready_path: String,
    /// The variable that points the service at an artifact file; none when it takes no other.
    pub model_path_env: Option<String>,
    /// The variables for the listening address and port, for runs on the host's network.
    pub host_env: Option<String>,
    pub port_env: Option<String>,
    /// A variable and value that make it log JSON lines, when it has one.
    pub json_logs_env: Option<(String, String)>,
    /// Whether it runs with a read-only root filesystem, no capabilities and no new privileges.
    pub hardened: bool,
    /// Whether it writes this project's lifecycle log events (`listening`, `stopping`,
    /// `stopped`) and serves the in-flight gauge.
    pub lifecycle_events: bool,
    /// Arguments that make the entrypoint exit at once, for the bare-start baseline.
    pub bare_command: Option<Vec<String>>,
}

impl Default for Profile {
    /// This project's image.
    fn default() -> Profile {
        Profile {
            files: [
                "server",
                "model.json",
                "LICENSE-MIT",
                "LICENSE-APACHE",
                "THIRD-PARTY-NOTICES.md",
                "glibc.md",
            ]
            .map(String::from)
            .into(),
            max_bytes: 5_000_000,
            user: Some("65532:65532".into()),
            port: Config::default().port,
            entrypoint: vec!["/server".into()],
            healthcheck: Some(vec!["CMD".into(), "/server".into(), "healthcheck".into()]),
            labels: [
                "title",
                "description",
                "version",
                "revision",
                "created",
                "licenses",
                "source",
            ]
            .map(|l| format!("org.opencontainers.image.{l}"))
            .into(),
            model_labels: Some(
                ["name", "version", "sha256"].map(|l| format!("ml-inference-app.model.{l}")),
            ),
            ready_path: "/ready".into(),
            model_path_env: Some(MODEL_PATH.into()),
            host_env: Some(HOST.into()),
            port_env: Some(PORT.into()),
            json_logs_env: Some((LOG_FORMAT.into(), "json".into())),
            hardened: true,
            lifecycle_events: true,
            bare_command: Some(vec!["--version".into()]),
        }
    }
}

/// What a check needs of an image beyond answering HTTP: a profile that lacks it rules the
/// check out, and the check is reported not run, with the reason, never failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Need {
    /// A `HEALTHCHECK` in the image.
    Healthcheck,
    /// A variable that points the service at another artifact.
    ModelVariable,
    /// This project's lifecycle log events and in-flight gauge.
    LifecycleEvents,
    /// Variables for the address and port, so that the container can share the host's network.
    HostNetwork,
}

impl Need {
    fn missing(self) -> &'static str {
        match self {
            Need::Healthcheck => "the profile says the image has no HEALTHCHECK",
            Need::ModelVariable => "the profile names no variable to pass the image an artifact",
            Need::LifecycleEvents => {
                "the profile says the image writes no lifecycle events, so no request can be \
                 proven in flight"
            }
            Need::HostNetwork => {
                "the profile names no host and port variables, so the container cannot share \
                 the host's network"
            }
        }
    }
}

impl Profile {
    /// The first of `needs` this profile does not meet, as the reason a check is not run;
    /// `None` when it meets them all. Every check that needs more than HTTP asks here.
    pub fn rules_out(&self, needs: &[Need]) -> Option<&'static str> {
        needs
            .iter()
            .find(|need| match need {
                Need::Healthcheck => self.healthcheck.is_none(),
                Need::ModelVariable => self.model_path_env.is_none(),
                Need::LifecycleEvents => !self.lifecycle_events,
                Need::HostNetwork => self.host_env.is_none() || self.port_env.is_none(),
            })
            .map(|need| need.missing())
    }

    /// Reads a profile file (JSON); keys it leaves out keep this project's defaults.
    pub fn load(path: &Path) -> Result<Profile, HarnessError> {
        let bytes = std::fs::read(path).map_err(|source| HarnessError::Io {
            path: path.to_owned(),
            source,
        })?;
        serde_json::from_slice(&bytes).map_err(|source| HarnessError::Json {
            path: path.to_owned(),
            source,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_profile_file_overrides_only_what_it_names() {
        let profile: Profile =
            serde_json::from_str(r#"{"port": 8080, "healthcheck": null}"#).unwrap();
        assert_eq!(profile.port, 8080);
        assert_eq!(profile.healthcheck, None);
        assert_eq!(profile.files, Profile::default().files);
        assert!(serde_json::from_str::<Profile>(r#"{"prot": 1}"#).is_err());
    }

    #[test]
    fn a_profile_rules_out_what_it_lacks_and_nothing_else() {
        let all = [
            Need::Healthcheck,
            Need::ModelVariable,
            Need::LifecycleEvents,
            Need::HostNetwork,
        ];
        assert_eq!(Profile::default().rules_out(&all), None);
        let other: Profile =
            serde_json::from_str(r#"{"lifecycle_events": false, "port_env": null}"#).unwrap();
        assert_eq!(
            other.rules_out(&[Need::Healthcheck, Need::ModelVariable]),
            None
        );
        assert_eq!(
            other.rules_out(&[Need::HostNetwork, Need::LifecycleEvents]),
            Some(Need::HostNetwork.missing())
        );
        assert_eq!(
            other.rules_out(&[Need::LifecycleEvents]),
            Some(Need::LifecycleEvents.missing())
        );
    }
}
