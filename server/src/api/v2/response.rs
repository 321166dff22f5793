//! The infer answer: labels and probabilities, each as JSON or binary tensor data.

use serde::Serialize;

use super::request::{Encoding, Output, Outputs};
use crate::api::binary;
use crate::artifact::Artifact;
use crate::model::Prediction;

/// `POST /v2/models/{name}/infer` answer: the JSON header, and the bytes of its binary outputs
/// after it.
#[derive(Debug, Serialize)]
pub struct InferResponse<'a> {
    pub model_name: &'a str,
    pub model_version: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    pub outputs: Vec<OutputTensor<'a>>,
    /// The binary outputs' bytes, in output order; sent after the JSON header.
    #[serde(skip)]
    pub binary: Vec<u8>,
}

/// One output tensor: its data in the JSON, or its size here and its bytes after the JSON.
#[derive(Debug, Serialize)]
pub struct OutputTensor<'a> {
    pub name: &'static str,
    pub datatype: &'static str,
    pub shape: Vec<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub parameters: Option<BinaryParameters>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data: Option<OutputData<'a>>,
}

/// The size of an output's bytes after the JSON header.
#[derive(Debug, Serialize)]
pub struct BinaryParameters {
    pub binary_data_size: usize,
}

/// An encoded infer answer.
#[derive(Debug)]
pub struct Encoded {
    pub body: Vec<u8>,
    /// The JSON header's length, when binary outputs follow it.
    pub header_length: Option<usize>,
}

/// Output elements, row-major.
#[derive(Debug, Serialize)]
#[serde(untagged)]
pub enum OutputData<'a> {
    Bytes(Vec<&'a str>),
    Fp64(Vec<f64>),
}

impl<'a> InferResponse<'a> {
    pub fn new(
        artifact: &'a Artifact,
        id: Option<String>,
        predictions: &[Prediction],
        wanted: Outputs,
    ) -> InferResponse<'a> {
        let classes = artifact.model().classes();
        let labels = || predictions.iter().map(|p| classes[p.class].as_str());
        let probabilities = || {
            predictions
                .iter()
                .flat_map(|p| p.probabilities.iter().copied())
        };
        let mut outputs = Vec::with_capacity(2);
        let mut binary = Vec::new();
        let mut output = |name,
                          datatype,
                          shape,
                          encoding,
                          json: &dyn Fn() -> OutputData<'a>,
                          put: &dyn Fn(&mut Vec<u8>)| {
            let (parameters, data) = match encoding {
                Encoding::Json => (None, Some(json())),
                Encoding::Binary => {
                    let start = binary.len();
                    put(&mut binary);
                    let binary_data_size = binary.len() - start;
                    (Some(BinaryParameters { binary_data_size }), None)
                }
            };
            outputs.push(OutputTensor {
                name,
                datatype,
                shape,
                parameters,
                data,
            });
        };
        if let Some(Output { encoding, name }) = wanted.label {
            output(
                name,
                "BYTES",
                vec![predictions.len()],
                encoding,
                &|| OutputData::Bytes(labels().collect()),
                &|out| binary::put_bytes(out, labels()),
            );
        }
        if let Some(Output { encoding, name }) = wanted.probabilities {
            output(
                name,
                "FP64",
                vec![predictions.len(), classes.len()],
                encoding,
                &|| OutputData::Fp64(probabilities().collect()),
                &|out| binary::put_f64(out, probabilities()),
            );
        }
        InferResponse {
            model_name: artifact.name(),
            model_version: artifact.version(),
            id,
            outputs,
            binary,
        }
    }

    /// The JSON header, then the binary outputs' bytes if any.
    pub fn encode(self) -> serde_json::Result<Encoded> {
        let mut body = Vec::with_capacity(1024 + self.binary.len());
        serde_json::to_writer(&mut body, &self)?;
        let any_binary = self.outputs.iter().any(|o| o.parameters.is_some());
        let header_length = any_binary.then_some(body.len());
        body.extend_from_slice(&self.binary);
        Ok(Encoded {
            body,
            header_length,
        })
    }
}
