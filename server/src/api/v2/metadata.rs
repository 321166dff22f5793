//! The server's and the model's metadata, and readiness.

use serde::Serialize;

use crate::artifact::Artifact;
use crate::contract::v2::{INPUT, LABEL, PROBABILITIES};

/// `GET /v2` answer.
#[derive(Debug, Serialize)]
pub struct ServerMetadata {
    pub name: &'static str,
    pub version: &'static str,
    pub extensions: &'static [&'static str],
}

/// `GET /v2/models/{name}` answer.
#[derive(Debug, Serialize)]
pub struct ModelMetadata<'a> {
    pub name: &'a str,
    pub versions: [&'a str; 1],
    pub platform: &'static str,
    pub inputs: Vec<TensorMetadata<'a>>,
    pub outputs: [TensorMetadata<'a>; 2],
    /// Not part of the core protocol: the order of the input's columns and of the
    /// probabilities' columns.
    pub parameters: ModelParameters<'a>,
}

/// A tensor's name, datatype and shape; `-1` is a variable dimension.
#[derive(Debug, Serialize)]
pub struct TensorMetadata<'a> {
    pub name: &'a str,
    pub datatype: &'static str,
    pub shape: Vec<i64>,
}

#[derive(Debug, Serialize)]
pub struct ModelParameters<'a> {
    pub features: &'a [String],
    pub classes: &'a [String],
}

impl<'a> ModelMetadata<'a> {
    pub fn of(artifact: &'a Artifact) -> ModelMetadata<'a> {
        let model = artifact.model();
        ModelMetadata {
            name: artifact.name(),
            versions: [artifact.version()],
            platform: "linfa-logistic",
            // A model with column blocks takes one input per feature, as MLServer's pandas
            // codec sends them.
            inputs: match model.columns() {
                None => vec![TensorMetadata {
                    name: INPUT,
                    datatype: "FP64",
                    shape: vec![-1, model.features().len() as i64],
                }],
                Some(columns) => columns
                    .features()
                    .iter()
                    .map(|f| TensorMetadata {
                        name: &f.name,
                        datatype: f.datatype(),
                        shape: vec![-1],
                    })
                    .collect(),
            },
            outputs: [
                TensorMetadata {
                    name: LABEL,
                    datatype: "BYTES",
                    shape: vec![-1],
                },
                TensorMetadata {
                    name: PROBABILITIES,
                    datatype: "FP64",
                    shape: vec![-1, model.classes().len() as i64],
                },
            ],
            parameters: ModelParameters {
                features: model.features(),
                classes: model.classes(),
            },
        }
    }
}

/// `GET /v2/models/{name}/ready` answer.
#[derive(Debug, Serialize)]
pub struct ModelReady<'a> {
    pub name: &'a str,
    pub ready: bool,
}
