//! The pipeline every request goes through: admit, route, handle, turn failures into
//! `{"error": …}` answers for the route's API, count, log. It calls the handlers; nothing
//! below calls back up.

use std::time::{Duration, Instant};

use rouille::{Request, Response};
use serde::Serialize;

use crate::contract::errors::{ApiError, shown_path};
use crate::contract::lifecycle::REQUEST;
use crate::contract::routes::{self, Api, Unrouted};
use crate::http::body::{self, Body};
use crate::http::handlers;
use crate::http::state::State;

/// Answers a request whose body is still in it: for callers with a whole rouille request, such
/// as tests through `Request::fake_http`. It is admitted unless the service is shutting down.
pub fn answer(state: &State, request: &Request) -> Response {
    let _entry = state.enter();
    let declared = request
        .header("Content-Length")
        .and_then(|len| len.trim().parse().ok());
    let body = match request.data() {
        Some(data) => body::read(data, declared, state.limits().max_body_bytes),
        None => Ok(Vec::new()),
    };
    handle(state, state.is_ready(), request, body)
}

/// Answers a request, with its body read. An `admitted` request arrived before shutdown and
/// gets its normal answer; any other gets 503, but for liveness. The caller counts it in flight.
pub fn handle(state: &State, admitted: bool, request: &Request, body: Body) -> Response {
    let started = Instant::now();
    let path = request.url();
    let method = method_label(request.method());
    let (template, response) = match routes::resolve(request.method(), &path) {
        Ok(matched) => {
            let api = matched.route.api();
            let answer = if admitted || matched.route.endpoint.is_liveness() {
                handlers::dispatch(state, &matched, request, body)
            } else {
                Err(ApiError::ShuttingDown)
            };
            let response = answer.unwrap_or_else(|e| error_response(&e, api));
            (matched.route.template, response)
        }
        Err(unrouted) => {
            let error = match unrouted {
                Unrouted::NotFound => ApiError::NoRoute {
                    path: shown_path(&path),
                },
                Unrouted::MethodNotAllowed { allow } => ApiError::MethodNotAllowed { allow },
            };
            ("unmatched", error_response(&error, routes::api_of(&path)))
        }
    };
    let took = started.elapsed();
    let status = response.status_code;
    state.metrics().observe(template, method, status, took);
    tracing::info!(
        method,
        path = shown_path(&path),
        status,
        micros = took.as_micros() as u64,
        "{REQUEST}"
    );
    response
}

/// The answer to a request the transport refused before routing (a limit, a head it cannot
/// frame): the same error body, count and log line as any answer, under the route
/// `transport`.
pub fn refused(state: &State, error: &ApiError) -> Response {
    let response = error_response(error, Api::Seed);
    let status = response.status_code;
    state
        .metrics()
        .observe("transport", "OTHER", status, Duration::ZERO);
    tracing::info!(status, error = %error, "{REQUEST}");
    response
}

#[derive(Serialize)]
struct ErrorBody {
    error: String,
}

/// The JSON answer for `error` on `api`: the one place a failure becomes a status and a body.
pub fn error_response(error: &ApiError, api: Api) -> Response {
    let body = serde_json::to_string(&ErrorBody {
        error: error.to_string(),
    })
    .unwrap_or_else(|_| r#"{"error":"unprintable error"}"#.to_owned());
    let response =
        Response::from_data("application/json", body).with_status_code(error.status(api));
    // The connection's fate is the transport's to decide (`Connection: close` from the
    // signal on), not a header of the answer's.
    match error {
        ApiError::MethodNotAllowed { allow } => response.with_unique_header("Allow", *allow),
        _ => response,
    }
}

/// A bounded label for metrics: the standard methods, or `OTHER`.
fn method_label(method: &str) -> &'static str {
    const KNOWN: [&str; 7] = ["GET", "POST", "PUT", "DELETE", "HEAD", "OPTIONS", "PATCH"];
    KNOWN.into_iter().find(|m| *m == method).unwrap_or("OTHER")
}
