//! The Open Inference Protocol (KServe V2) REST messages, as standard clients send them.
//!
//! Infer takes one input tensor of shape `[N, F]` in any float or integer datatype, its data
//! flat or nested JSON or binary, or one input per feature named as the feature, each `[N]` or
//! `[N, 1]` (MLServer's pandas codec), and answers the outputs `label` (BYTES, `[N]`) and
//! `probabilities` (FP64, `[N, C]`), or the same under MLServer's names `predict` and
//! `predict_proba` when asked by those, each as JSON or binary as the client asks (the binary
//! tensor data extension, [`binary`](crate::api::binary)).
//!
//! By concern: [`request`] (the JSON fields, the outputs asked for), [`tensors`] (one tensor
//! into rows, JSON or binary), [`inputs`] (one input per feature, to a model with column
//! blocks), [`response`] and [`metadata`].

mod inputs;
mod metadata;
mod request;
mod response;
mod tensors;
#[cfg(test)]
mod tests;

pub use metadata::{ModelMetadata, ModelParameters, ModelReady, ServerMetadata, TensorMetadata};
pub use request::{
    Encoding, InferRequest, InputTensor, Output, Outputs, RequestParameters, RequestedOutput,
    TensorData, TensorParameters,
};
pub use response::{BinaryParameters, Encoded, InferResponse, OutputData, OutputTensor};

use crate::contract::errors::ApiError;
use crate::inputs::Batch;
use crate::model::Model;

/// A checked infer request: what the model is asked, and how to answer.
#[derive(Debug)]
pub struct Inference {
    pub id: Option<String>,
    pub batch: Batch,
    pub outputs: Outputs,
}

/// The V2 infer body, decoded and checked: its JSON `header` and the binary tensor bytes
/// after it (empty without the binary extension).
pub fn decode(
    header: &[u8],
    binary: &[u8],
    model: &Model,
    max_rows: usize,
) -> Result<Inference, ApiError> {
    if let Some(columns) = model.columns() {
        return inputs::decode(header, binary, columns, max_rows);
    }
    crate::api::parse_json::<InferRequest>(header)?.into_rows(model.features(), max_rows, binary)
}
