//! One plain function per endpoint: (state, request, body) → response or [`ApiError`].

use rouille::{Request, Response};
use serde::Serialize;

use crate::api::seed::{ModelResponse, PredictResponse};
use crate::api::v1::{ModelList, ModelStatus, Predictions};
use crate::api::v2::{InferResponse, ModelMetadata, ModelReady, ServerMetadata};
use crate::api::{binary, seed, v1, v2 as infer};
use crate::contract::errors::ApiError;
use crate::contract::routes::{Endpoint, Matched, ModelPath};
use crate::contract::v2;
use crate::http::body::Body;
use crate::http::metrics;
use crate::http::state::State;
use crate::inputs::Batch;
use crate::model::{Model, Prediction};

/// Runs the handler of the matched route.
pub fn dispatch(
    state: &State,
    matched: &Matched,
    request: &Request,
    body: Body,
) -> Result<Response, ApiError> {
    let artifact = state.artifact();
    let template = matched.route.template;
    let model = matched.model.as_ref();
    match matched.route.endpoint {
        Endpoint::Health => json(&Status { status: "ok" }),
        Endpoint::Ready => {
            ready(state)?;
            json(&Status { status: "ready" })
        }
        Endpoint::Model => json(&ModelResponse::of(artifact, state.limits())),
        Endpoint::Predict => predict(state, template, request, body),
        Endpoint::Metrics => {
            let content_type = metrics::content_type(request.header("Accept"));
            Ok(Response::from_data(
                content_type,
                state.metrics().encode(content_type),
            ))
        }
        Endpoint::OpenApi => Ok(Response::from_data(
            "application/json",
            state.openapi().to_owned(),
        )),
        Endpoint::V2Server => json(&ServerMetadata {
            name: v2::SERVER_NAME,
            version: env!("CARGO_PKG_VERSION"),
            extensions: v2::EXTENSIONS,
        }),
        Endpoint::V2Live => json(&Live { live: true }),
        Endpoint::V2Ready => {
            ready(state)?;
            json(&Ready { ready: true })
        }
        Endpoint::V2Model => {
            served(state, model)?;
            json(&ModelMetadata::of(artifact))
        }
        Endpoint::V2ModelReady => {
            served(state, model)?;
            ready(state)?;
            json(&ModelReady {
                name: artifact.name(),
                ready: true,
            })
        }
        Endpoint::V2Infer => {
            served(state, model)?;
            infer(state, template, request, body)
        }
        Endpoint::V1Models => json(&ModelList {
            models: [artifact.name()],
        }),
        Endpoint::V1Model => {
            served(state, model)?;
            ready(state)?;
            json(&ModelStatus {
                name: artifact.name(),
                ready: true,
            })
        }
        Endpoint::V1Predict => {
            served(state, model)?;
            v1_predict(state, template, request, body)
        }
    }
}

#[derive(Serialize)]
struct Status {
    status: &'static str,
}

#[derive(Serialize)]
struct Live {
    live: bool,
}

#[derive(Serialize)]
struct Ready {
    ready: bool,
}

fn predict(
    state: &State,
    template: &'static str,
    request: &Request,
    body: Body,
) -> Result<Response, ApiError> {
    let predictions = rows_predicted(state, template, request, body, seed::decode)?;
    let model = state.artifact().model();
    // Room for each row's label and probabilities, so that a batch's answer is not copied as
    // it grows.
    let room = 256 + predictions.len() * (48 + 32 * model.classes().len());
    let mut body = Vec::with_capacity(room);
    let written = PredictResponse::new(state.artifact(), predictions).encode(&mut body);
    encoded(written, body)
}

fn infer(
    state: &State,
    template: &'static str,
    request: &Request,
    body: Body,
) -> Result<Response, ApiError> {
    let body = body?;
    // A request with a header length is binary whatever its Content-Type: tritonclient sends
    // none, curl users send application/octet-stream.
    let (header, tensors) = match request.header(v2::BINARY_HEADER_LENGTH) {
        Some(length) => binary::split(&body, length)?,
        None => {
            json_content_type(request)?;
            (&body[..], &[][..])
        }
    };
    let model = state.artifact().model();
    let inference = infer::decode(header, tensors, model, state.limits().max_batch_rows)?;
    let predictions = model.predict_batch(&inference.batch)?;
    state.metrics().predicted(template, predictions.len());
    state.metrics().ignored(&inference.batch);
    let answer = InferResponse::new(
        state.artifact(),
        inference.id,
        &predictions,
        inference.outputs,
    );
    let encoded = answer
        .encode()
        .map_err(|_| ApiError::Internal("cannot encode the response"))?;
    Ok(match encoded.header_length {
        None => Response::from_data("application/json", encoded.body),
        Some(length) => Response::from_data(binary::CONTENT_TYPE, encoded.body)
            .with_additional_header(v2::BINARY_HEADER_LENGTH, length.to_string()),
    })
}

/// An API's decoding of a body of rows: bytes, the model, the batch limit.
type Decode = fn(&[u8], &Model, usize) -> Result<Batch, ApiError>;

/// A JSON body of rows, decoded by its API's `decode`, predicted and counted.
fn rows_predicted(
    state: &State,
    template: &'static str,
    request: &Request,
    body: Body,
    decode: Decode,
) -> Result<Vec<Prediction>, ApiError> {
    let body = json_body(request, body)?;
    let model = state.artifact().model();
    let batch = decode(&body, model, state.limits().max_batch_rows)?;
    let predictions = model.predict_batch(&batch)?;
    state.metrics().predicted(template, predictions.len());
    state.metrics().ignored(&batch);
    Ok(predictions)
}

/// KServe V1 `:predict`: labels, or probability rows with `PREDICT_PROBA`.
fn v1_predict(
    state: &State,
    template: &'static str,
    request: &Request,
    body: Body,
) -> Result<Response, ApiError> {
    let predictions = rows_predicted(state, template, request, body, v1::decode)?;
    let model = state.artifact().model();
    json(&Predictions::new(
        &predictions,
        model.classes(),
        state.predict_proba(),
    ))
}

fn ready(state: &State) -> Result<(), ApiError> {
    if state.is_ready() {
        Ok(())
    } else {
        Err(ApiError::ShuttingDown)
    }
}

/// Checks that a V1 or V2 path names the served model (and version, when given).
fn served(state: &State, path: Option<&ModelPath>) -> Result<(), ApiError> {
    let artifact = state.artifact();
    let Some(path) = path else {
        return Ok(());
    };
    let version_ok = path
        .version
        .as_deref()
        .is_none_or(|v| v == artifact.version());
    if path.name == artifact.name() && version_ok {
        Ok(())
    } else {
        Err(ApiError::ModelNotServed {
            name: path.name.clone(),
            version: path.version.clone(),
            served: artifact.name().to_owned(),
            served_version: artifact.version().to_owned(),
        })
    }
}

/// The body, when the request declares a JSON media type or none.
fn json_body(request: &Request, body: Body) -> Body {
    json_content_type(request)?;
    body
}

/// Refuses a declared media type other than JSON; a missing one is read as JSON, as standard
/// V2 clients send none.
fn json_content_type(request: &Request) -> Result<(), ApiError> {
    if let Some(content_type) = request.header("Content-Type") {
        let mime = content_type.split(';').next().unwrap_or("").trim();
        let json = mime.eq_ignore_ascii_case("application/json")
            || mime.to_ascii_lowercase().ends_with("+json");
        if !json {
            return Err(ApiError::UnsupportedMediaType {
                mime: mime.to_owned(),
            });
        }
    }
    Ok(())
}

/// A 200 JSON response.
fn json<T: Serialize>(value: &T) -> Result<Response, ApiError> {
    // Room for a typical answer, so that encoding seldom grows (and copies) the buffer.
    let mut body = Vec::with_capacity(1024);
    let written = serde_json::to_writer(&mut body, value);
    encoded(written, body)
}

/// The 200 response carrying `body`, once encoding it succeeded.
fn encoded(written: serde_json::Result<()>, body: Vec<u8>) -> Result<Response, ApiError> {
    written
        .map(|()| Response::from_data("application/json", body))
        .map_err(|_| ApiError::Internal("cannot encode the response"))
}
