//! One side of a diff: an artifact answered in-process, a running service through this
//! project's API or the Open Inference Protocol, or an image started as `check` starts one.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use server::Artifact;
use server::contract::fixtures;

use crate::answers;
use crate::classes::Columns;
use crate::client::Client;
use crate::container::{self, Launch, Running};
use crate::error::HarnessError;
use crate::golden;
use crate::protocol::ProtocolOptions;
use crate::rows::{Row, Schema};
use crate::suite::Protocol;

/// A side as named on the command line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Spec {
    Artifact(PathBuf),
    Url(String),
    Image(String),
}

impl Spec {
    /// `http://…` or `https://…` is a running service; an existing file, or what can only be
    /// a path (a name ending in `.json`, or starting with `.` or `/`), an artifact, so that a
    /// mistyped path says it does not exist rather than that no image of that name was pulled;
    /// anything else an image reference.
    pub fn parse(text: &str) -> Spec {
        let a_path = text.ends_with(".json") || text.starts_with(['.', '/']);
        if text.starts_with("http://") || text.starts_with("https://") {
            Spec::Url(text.trim_end_matches('/').to_owned())
        } else if Path::new(text).is_file() || a_path {
            Spec::Artifact(PathBuf::from(text))
        } else {
            Spec::Image(text.to_owned())
        }
    }
}

/// One row's answer: its label and a probability per class, by class name; or why the side
/// refused the row.
pub type RowAnswer = Result<Named, String>;

/// A row's label and its probability per class, by class name.
pub type Named = (String, BTreeMap<String, f64>);

/// A side, open: what it says of its model, and how to ask it.
#[derive(Debug)]
pub struct Side {
    /// What it is, for the report.
    pub about: String,
    /// The model's name, as its routes use it.
    pub name: Option<String>,
    /// Known for an artifact and this project's API; a V2 server takes the other side's.
    pub features: Option<Vec<String>>,
    pub classes: Option<Vec<String>>,
    /// The inputs (in `features` order) with their training ranges and categories: an
    /// artifact's only.
    pub schema: Option<Schema>,
    /// The golden rows of an artifact, in its feature order.
    pub golden_rows: Vec<Row>,
    ask: Ask,
    /// Keeps a started container running as long as the side is open.
    _running: Option<Running>,
}

#[derive(Debug)]
enum Ask {
    Oracle(Box<Artifact>),
    Seed {
        client: Client,
        max_rows: usize,
    },
    V2 {
        client: Client,
        options: ProtocolOptions,
    },
    V1 {
        client: Client,
        options: ProtocolOptions,
    },
}

/// A side's answers: by class name, or, from a V2 or V1 server, in its own column order until
/// the class order is known.
#[derive(Debug)]
pub enum Answers {
    Named(Vec<RowAnswer>),
    Columns(Vec<Result<Columns, String>>),
}

impl Side {
    pub fn open(
        spec: &Spec,
        protocol: Protocol,
        v2: &ProtocolOptions,
    ) -> Result<Side, HarnessError> {
        match spec {
            Spec::Artifact(path) => {
                let bytes = std::fs::read(path).map_err(|source| HarnessError::Io {
                    path: path.clone(),
                    source,
                })?;
                let artifact = Artifact::from_bytes(&bytes, &path.display().to_string())?;
                let model = artifact.model();
                Ok(Side {
                    about: format!("artifact {} (sha256 {})", path.display(), artifact.sha256()),
                    name: Some(artifact.name().to_owned()),
                    features: Some(model.features().to_vec()),
                    classes: Some(model.classes().to_vec()),
                    schema: artifact
                        .input_ranges()
                        .is_some()
                        .then(|| Schema::of(&artifact)),
                    golden_rows: golden::generate(&artifact)
                        .cases
                        .into_iter()
                        .flat_map(|c| c.instances)
                        .collect(),
                    ask: Ask::Oracle(Box::new(artifact)),
                    _running: None,
                })
            }
            Spec::Url(url) => Side::remote(Client::new(url), protocol, v2, url.clone(), None),
            Spec::Image(reference) => {
                let running = container::start(reference, &Launch::default())?;
                let client = running.client.clone();
                Side::remote(
                    client,
                    protocol,
                    v2,
                    format!("image {reference}"),
                    Some(running),
                )
            }
        }
    }

    fn remote(
        client: Client,
        protocol: Protocol,
        v2: &ProtocolOptions,
        about: String,
        running: Option<Running>,
    ) -> Result<Side, HarnessError> {
        if protocol.foreign() {
            let (what, ask) = match protocol {
                Protocol::V1 => (
                    "KServe V1",
                    Ask::V1 {
                        client,
                        options: v2.clone(),
                    },
                ),
                _ => (
                    "Open Inference Protocol",
                    Ask::V2 {
                        client,
                        options: v2.clone(),
                    },
                ),
            };
            return Ok(Side {
                about: format!("{about} ({what})"),
                name: None,
                features: None,
                classes: None,
                schema: None,
                golden_rows: vec![],
                ask,
                _running: running,
            });
        }
        let served = client.served().map_err(|problem| HarnessError::Usage {
            problem: format!("{about}: {problem}"),
        })?;
        let list = |key: &str| -> Option<Vec<String>> {
            served.body[key].as_array().map(|a| {
                a.iter()
                    .filter_map(|v| v.as_str().map(str::to_owned))
                    .collect()
            })
        };
        Ok(Side {
            about: format!(
                "{about} (serving {} sha256 {})",
                served.name, served.artifact_sha256
            ),
            name: Some(served.name.clone()),
            features: list("features"),
            classes: list("classes"),
            schema: None,
            golden_rows: vec![],
            ask: Ask::Seed {
                client,
                max_rows: served.limits.max_batch_rows,
            },
            _running: running,
        })
    }

    /// The answers to `rows`, given in this side's feature order, for a model called `name`;
    /// `schema` says how V2 tensors carry the rows.
    pub fn answer(&self, rows: &[Row], name: &str, schema: &Schema) -> Answers {
        match &self.ask {
            Ask::Oracle(artifact) => {
                Answers::Named(rows.iter().map(|row| oracle(artifact, row)).collect())
            }
            Ask::Seed { client, max_rows } => Answers::Named(
                rows.chunks((*max_rows).max(1))
                    .flat_map(|chunk| batch_or_rows(chunk, |rows| seed(client, rows)))
                    .collect(),
            ),
            Ask::V2 { client, options } => Answers::Columns(
                rows.chunks(100)
                    .flat_map(|chunk| {
                        batch_or_rows(chunk, |rows| {
                            answers::v2(client, name, rows, schema, options)
                        })
                    })
                    .collect(),
            ),
            Ask::V1 { client, options } => Answers::Columns(
                rows.chunks(100)
                    .flat_map(|chunk| {
                        batch_or_rows(chunk, |rows| answers::v1(client, name, rows, options))
                    })
                    .collect(),
            ),
        }
    }
}

fn oracle(artifact: &Artifact, row: &Row) -> RowAnswer {
    let model = artifact.model();
    let rows = fixtures::checked(model, std::slice::from_ref(row)).map_err(|e| e.to_string())?;
    let prediction = model
        .predict_batch(&rows)
        .map_err(|e| e.to_string())?
        .remove(0);
    let classes = model.classes();
    Ok((
        classes[prediction.class].clone(),
        classes
            .iter()
            .cloned()
            .zip(prediction.probabilities)
            .collect(),
    ))
}

/// A batch's answers; when the batch is refused, each row alone, so that one refused row
/// (a value beyond the model's range) does not hide the others.
fn batch_or_rows<T>(
    rows: &[Row],
    ask: impl Fn(&[Row]) -> Result<Vec<T>, String>,
) -> Vec<Result<T, String>> {
    match ask(rows) {
        Ok(answers) if answers.len() == rows.len() => answers.into_iter().map(Ok).collect(),
        _ => rows
            .iter()
            .map(|row| match ask(std::slice::from_ref(row)) {
                Ok(mut one) if one.len() == 1 => Ok(one.remove(0)),
                Ok(_) => Err("an answer of another length".into()),
                Err(why) => Err(why),
            })
            .collect(),
    }
}

fn seed(client: &Client, rows: &[Row]) -> Result<Vec<Named>, String> {
    let answer = client.predict(rows).map_err(|e| crate::error::chain(&e))?;
    let body = answer.json().unwrap_or_default();
    if answer.status != 200 {
        return Err(body["error"].as_str().unwrap_or(&answer.body).to_owned());
    }
    let predictions = body["predictions"].as_array().ok_or("no predictions")?;
    predictions
        .iter()
        .map(|p| {
            let label = p["label"].as_str().ok_or("no label")?.to_owned();
            let probabilities = p["probabilities"]
                .as_object()
                .ok_or("no probabilities")?
                .iter()
                .map(|(class, v)| Ok((class.clone(), v.as_f64().ok_or("not a number")?)))
                .collect::<Result<_, String>>()?;
            Ok((label, probabilities))
        })
        .collect()
}
