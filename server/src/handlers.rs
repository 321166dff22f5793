//! One plain function per route: (app, request) → response or [`ApiError`].

use std::io::Read;

use rouille::{Request, Response};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::api::quote_non_finite;
use crate::api::seed::{ModelResponse, PredictRequest, PredictResponse};
use crate::api::v2::{self, InferRequest, InferResponse, ModelMetadata, ModelReady};
use crate::app::App;
use crate::error::ApiError;
use crate::metrics;
use crate::routes::{ModelPath, Route};

/// The OpenAPI document describing every route in [`crate::routes::ROUTES`].
pub const OPENAPI: &str = include_str!("openapi.json");

/// Runs the handler for `route`.
pub fn dispatch(app: &App, route: &Route, request: &Request) -> Result<Response, ApiError> {
    let artifact = app.artifact();
    match route {
        Route::Health => json(&Status { status: "ok" }),
        Route::Ready => {
            ready(app)?;
            json(&Status { status: "ready" })
        }
        Route::Model => json(&ModelResponse::of(artifact)),
        Route::Predict => predict(app, route, request),
        Route::Metrics => Ok(Response::from_data(
            metrics::CONTENT_TYPE,
            app.metrics().encode(),
        )),
        Route::OpenApi => Ok(Response::from_data("application/json", OPENAPI)),
        Route::V2Server => json(&v2::ServerMetadata {
            name: env!("CARGO_PKG_NAME"),
            version: env!("CARGO_PKG_VERSION"),
            extensions: [],
        }),
        Route::V2Live => json(&Live { live: true }),
        Route::V2Ready => {
            ready(app)?;
            json(&Ready { ready: true })
        }
        Route::V2Model(model) => {
            served(app, model)?;
            json(&ModelMetadata::of(artifact))
        }
        Route::V2ModelReady(model) => {
            served(app, model)?;
            ready(app)?;
            json(&ModelReady {
                name: artifact.name(),
                ready: true,
            })
        }
        Route::V2Infer(model) => {
            served(app, model)?;
            infer(app, route, request)
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

fn predict(app: &App, route: &Route, request: &Request) -> Result<Response, ApiError> {
    let limits = app.limits();
    let body: PredictRequest = read_json(request, limits.max_body_bytes)?;
    let model = app.artifact().model();
    let rows = body.into_rows(model.features(), limits.max_batch_rows)?;
    let predictions = model.predict(&rows)?;
    app.metrics().predicted(route.template(), predictions.len());
    json(&PredictResponse::new(app.artifact(), predictions))
}

fn infer(app: &App, route: &Route, request: &Request) -> Result<Response, ApiError> {
    let limits = app.limits();
    let body: InferRequest = read_json(request, limits.max_body_bytes)?;
    let model = app.artifact().model();
    let (id, rows, outputs) = body.into_rows(model.features(), limits.max_batch_rows)?;
    let predictions = model.predict(&rows)?;
    app.metrics().predicted(route.template(), predictions.len());
    json(&InferResponse::new(
        app.artifact(),
        id,
        &predictions,
        outputs,
    ))
}

fn ready(app: &App) -> Result<(), ApiError> {
    if app.is_ready() {
        Ok(())
    } else {
        Err(ApiError::shutting_down())
    }
}

/// Checks that a V2 path names the served model (and version, when given).
fn served(app: &App, path: &ModelPath) -> Result<(), ApiError> {
    let artifact = app.artifact();
    let version_ok = path
        .version
        .as_deref()
        .is_none_or(|v| v == artifact.version());
    if path.name == artifact.name() && version_ok {
        Ok(())
    } else {
        Err(ApiError::NotFound(format!(
            "model {:?}{} is not served here; this server serves {:?} version {:?}",
            path.name,
            path.version
                .as_deref()
                .map(|v| format!(" version {v:?}"))
                .unwrap_or_default(),
            artifact.name(),
            artifact.version()
        )))
    }
}

/// Reads a JSON body of at most `limit` bytes without holding more than that in memory.
///
/// A missing Content-Type is read as JSON, since standard V2 clients send none.
fn read_json<T: DeserializeOwned>(request: &Request, limit: usize) -> Result<T, ApiError> {
    if let Some(content_type) = request.header("Content-Type") {
        let mime = content_type.split(';').next().unwrap_or("").trim();
        let json = mime.eq_ignore_ascii_case("application/json")
            || mime.to_ascii_lowercase().ends_with("+json");
        if !json {
            return Err(ApiError::UnsupportedMediaType(format!(
                "content type {mime:?} is not supported; send application/json"
            )));
        }
    }
    let too_large = || {
        ApiError::TooLarge(format!(
            "the request body is larger than the limit of {limit} bytes"
        ))
    };
    let declared = request
        .header("Content-Length")
        .and_then(|len| len.trim().parse::<u64>().ok());
    if declared.is_some_and(|len| len > limit as u64) {
        return Err(too_large());
    }
    let Some(data) = request.data() else {
        return Err(ApiError::Internal(
            "the request body was already read".into(),
        ));
    };
    let mut body = Vec::with_capacity(declared.map_or(0, |len| len as usize));
    data.take(limit as u64 + 1)
        .read_to_end(&mut body)
        .map_err(|e| ApiError::BadRequest(format!("cannot read the request body: {e}")))?;
    if body.len() > limit {
        return Err(too_large());
    }
    serde_json::from_slice(&quote_non_finite(&body)).map_err(|e| ApiError::from_json(&e))
}

/// A 200 JSON response.
fn json<T: Serialize>(value: &T) -> Result<Response, ApiError> {
    serde_json::to_vec(value)
        .map(|body| Response::from_data("application/json", body))
        .map_err(|e| ApiError::Internal(format!("cannot encode the response: {e}")))
}
