//! The one place where request failures become HTTP statuses and `{"error": ...}` bodies.

use rouille::Response;
use serde::Serialize;

use crate::model::PredictError;
use crate::rows::InputError;

/// Which API a route belongs to: the Open Inference Protocol answers every invalid request
/// with 400, where the seed API distinguishes 413, 415 and 422.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Api {
    Seed,
    V2,
}

/// Why a request was not answered with success.
#[derive(Debug, Clone, PartialEq)]
pub enum ApiError {
    /// The body is not JSON (400).
    Malformed(String),
    /// JSON, but not of the expected shape, or a field is missing (400).
    BadRequest(String),
    /// Well-formed, but the values cannot be predicted: wrong feature count or names,
    /// non-finite values, an empty batch (422).
    Unprocessable(String),
    /// The body or the batch exceeds a configured limit (413).
    TooLarge(String),
    /// A declared content type other than JSON (415).
    UnsupportedMediaType(String),
    /// No such route or model (404).
    NotFound(String),
    /// The route exists but not for this method (405).
    MethodNotAllowed { allow: &'static str },
    /// Not ready, or shutting down (503).
    Unavailable(String),
    /// A fault of the server's own, never caused by input (500).
    Internal(String),
}

#[derive(Serialize)]
struct ErrorBody<'a> {
    error: &'a str,
}

impl ApiError {
    /// The status this error has on `api`.
    pub fn status(&self, api: Api) -> u16 {
        let seed = match self {
            ApiError::Malformed(_) | ApiError::BadRequest(_) => 400,
            ApiError::Unprocessable(_) => 422,
            ApiError::TooLarge(_) => 413,
            ApiError::UnsupportedMediaType(_) => 415,
            ApiError::NotFound(_) => 404,
            ApiError::MethodNotAllowed { .. } => 405,
            ApiError::Unavailable(_) => 503,
            ApiError::Internal(_) => 500,
        };
        match (api, seed) {
            (Api::V2, 413 | 415 | 422) => 400,
            (_, status) => status,
        }
    }

    /// The message clients see.
    pub fn message(&self) -> String {
        match self {
            ApiError::Malformed(m) => format!("malformed JSON: {m}"),
            ApiError::MethodNotAllowed { allow } => format!("method not allowed; use {allow}"),
            ApiError::BadRequest(m)
            | ApiError::Unprocessable(m)
            | ApiError::TooLarge(m)
            | ApiError::UnsupportedMediaType(m)
            | ApiError::NotFound(m)
            | ApiError::Unavailable(m)
            | ApiError::Internal(m) => m.clone(),
        }
    }

    /// The JSON response for `api`.
    pub fn response(&self, api: Api) -> Response {
        let body = serde_json::to_string(&ErrorBody {
            error: &self.message(),
        })
        .unwrap_or_else(|_| r#"{"error":"unprintable error"}"#.to_owned());
        let response =
            Response::from_data("application/json", body).with_status_code(self.status(api));
        match self {
            ApiError::MethodNotAllowed { allow } => response.with_unique_header("Allow", *allow),
            _ => response,
        }
    }

    /// The answer to anything but liveness once shutdown has begun.
    pub fn shutting_down() -> ApiError {
        ApiError::Unavailable("the server is shutting down".into())
    }

    /// Classifies a `serde_json` failure: broken syntax is malformed, a wrong shape is not.
    pub fn from_json(e: &serde_json::Error) -> ApiError {
        use serde_json::error::Category;
        match e.classify() {
            Category::Syntax | Category::Eof | Category::Io => ApiError::Malformed(e.to_string()),
            Category::Data => ApiError::BadRequest(format!("invalid request: {e}")),
        }
    }
}

impl From<InputError> for ApiError {
    fn from(e: InputError) -> ApiError {
        ApiError::Unprocessable(e.to_string())
    }
}

impl From<PredictError> for ApiError {
    fn from(e: PredictError) -> ApiError {
        ApiError::Unprocessable(e.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn v2_folds_client_errors_into_400_but_keeps_404_and_405() {
        let cases = [
            (ApiError::Unprocessable(String::new()), 422, 400),
            (ApiError::TooLarge(String::new()), 413, 400),
            (ApiError::UnsupportedMediaType(String::new()), 415, 400),
            (ApiError::Malformed(String::new()), 400, 400),
            (ApiError::NotFound(String::new()), 404, 404),
            (ApiError::MethodNotAllowed { allow: "GET" }, 405, 405),
            (ApiError::Unavailable(String::new()), 503, 503),
        ];
        for (error, seed, v2) in cases {
            assert_eq!(
                (error.status(Api::Seed), error.status(Api::V2)),
                (seed, v2),
                "{error:?}"
            );
        }
    }
}
