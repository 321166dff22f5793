//! Bad requests to KServe's V1 protocol: 400 for every invalid request, as KServe answers, 404
//! for an unknown model.

use crate::client::v1_predict_path;
use serde_json::json;
use server::InputError;
use server::contract::errors::ApiError;
use server::contract::fixtures::BadInput;

use super::{Case, Subject};

pub fn cases(s: &Subject) -> Vec<BadInput> {
    let predict = v1_predict_path(s.oracle.name());
    let width = s.width;
    let case = |name| Case::v1(name).post(&predict);
    let mut cases = vec![
        Case::v1("v1 unknown model")
            .post(&v1_predict_path("no-such-model"))
            .json(json!({"instances": [s.row]}))
            .refused(s.not_served("no-such-model", None)),
        Case::v1("v1 unknown model status")
            .get("/v1/models/no-such-model")
            .refused(s.not_served("no-such-model", None)),
        case("v1 neither instances nor inputs")
            .json("{}")
            .answered(400, "missing field `instances`"),
        case("v1 too few features")
            .json(json!({"inputs": [s.row[..width - 1]]}))
            .refused(InputError::Width {
                row: 0,
                expected: width,
                found: width - 1,
            }),
        case("v1 text content type")
            .content_type("text/plain")
            .body(json!({"instances": [s.row]}))
            .refused(ApiError::UnsupportedMediaType {
                mime: "text/plain".into(),
            }),
        Case::v1("v1 wrong method")
            .get(&predict)
            .refused(ApiError::MethodNotAllowed { allow: "POST" }),
    ];
    if let Some(at) = s.strict_number {
        cases.push(
            case("v1 NaN token")
                .json(format!(
                    "{{\"instances\": [{}]}}",
                    s.row_text_with(at, "NaN")
                ))
                .refused(s.non_finite(0, at)),
        );
    }
    cases
}
