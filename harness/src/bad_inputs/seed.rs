//! Bad requests to this project's API: `/predict`, and the routes and methods around it.

use serde_json::{Value, json};
use server::InputError;
use server::contract::errors::{ApiError, RowProblem, shown_path};
use server::contract::fixtures::BadInput;
use server::contract::routes::PREDICT;

use super::{Case, Subject};

pub fn cases(s: &Subject) -> Vec<BadInput> {
    let (row, width) = (&s.row, s.width);
    let row_text = s.row_text();
    let case = |name| Case::seed(name).post(PREDICT);
    let mut cases = vec![
        case("malformed JSON")
            .json(format!("{{\"instances\": [{row_text}"))
            .answered(400, "malformed JSON"),
        case("empty body").json("").answered(400, "malformed JSON"),
        case("missing instances field")
            .json("{}")
            .answered(400, "missing field `instances`"),
        case("unknown top-level field")
            .json(format!("{{\"instances\": [{row_text}], \"extra\": 1}}"))
            .answered(400, "unknown field `extra`"),
        case("instances is not a list")
            .json("{\"instances\": 5}")
            .answered(400, "invalid request"),
        case("a row is a number")
            .json("{\"instances\": [5]}")
            .answered(
                400,
                if s.columns {
                    "an array of feature values or an object of them"
                } else {
                    "an array of numbers or an object of feature values"
                },
            ),
        case("too few features")
            .json(json!({"instances": [row[..width - 1]]}))
            .refused(InputError::Width {
                row: 0,
                expected: width,
                found: width - 1,
            }),
        case("too many features in the second row")
            .json(json!({"instances": [row, s.long_row()]}))
            .refused(InputError::Width {
                row: 1,
                expected: width,
                found: width + 1,
            }),
        unknown_feature(s),
        case("missing feature name")
            .json(json!({"instances": [s.named(Some(s.last_required()))]}))
            .refused(ApiError::Row {
                row: 0,
                problem: RowProblem::Missing(s.last_required().clone()),
            }),
        feature_twice(s),
        case("empty batch")
            .json("{\"instances\": []}")
            .refused(InputError::Empty),
    ];
    cases.extend(numbers_refused(s));
    cases.extend(if s.columns {
        checked_values(s)
    } else {
        not_numbers(s)
    });
    cases.extend(media_types_and_routes(s));
    cases
}

/// Numbers every model refuses, 422 naming row and feature: NaN where no gap is taken (where
/// one is, NaN is that gap, as pandas holds it), infinities, and a value beyond the model's
/// range.
fn numbers_refused(s: &Subject) -> Vec<BadInput> {
    let row_text = s.row_text();
    let case = |name| Case::seed(name).post(PREDICT);
    let mut cases = vec![];
    if let Some(at) = s.strict_number {
        cases.push(
            case("NaN token")
                .json(format!(
                    "{{\"instances\": [{row_text}, {}]}}",
                    s.row_text_with(at, "NaN")
                ))
                .refused(s.non_finite(1, at)),
        );
    }
    if let (Some(first), Some(last)) = (s.number, s.last_number()) {
        let (beyond, refusal) = s.beyond_range();
        cases.extend([
            case("Infinity string")
                .json(json!({"instances": [s.row_with(last, "Infinity".into())]}))
                .refused(s.non_finite(0, last)),
            case("a number too large for a double")
                .json(format!(
                    "{{\"instances\": [{}]}}",
                    s.row_text_with(first, "1e999")
                ))
                .refused(s.non_finite(0, first)),
            case("a value beyond the model's range")
                .json(json!({"instances": [beyond]}))
                .refused(refusal),
        ]);
    }
    cases
}

/// What a model of numbers refuses as no number at all: 400, as the JSON reader says.
fn not_numbers(s: &Subject) -> Vec<BadInput> {
    let case = |name| Case::seed(name).post(PREDICT);
    vec![
        case("a value is a string")
            .json(json!({"instances": [s.row_with_first("high".into())]}))
            .answered(400, "invalid request"),
        case("a value is null")
            .json(json!({"instances": [s.row_with_first(Value::Null)]}))
            .answered(400, "invalid request"),
    ]
}

/// Values a model with column blocks refuses, each with 422 naming row, feature and value:
/// a string where a number belongs, a number where a category belongs, an unknown category
/// where none is ignored, and `null` where nothing fills it.
fn checked_values(s: &Subject) -> Vec<BadInput> {
    let case = |name| Case::seed(name).post(PREDICT);
    let mut cases = vec![];
    let wrong = [
        (
            "a string where a number is expected",
            s.number,
            json!("high"),
        ),
        (
            "a number where a category is expected",
            s.category,
            json!(1.5),
        ),
        ("an unknown category", s.strict_category, s.unseen()),
        ("null where nothing fills it", s.not_nullable, Value::Null),
    ];
    for (name, at, value) in wrong {
        let Some(at) = at else { continue };
        if let Some(refusal) = s.value_refused(0, at, &value) {
            cases.push(
                case(name)
                    .json(json!({"instances": [s.row_with(at, value)]}))
                    .refused(refusal),
            );
        }
    }
    cases
}

/// A declared type other than JSON, and the routes and methods around `/predict`.
fn media_types_and_routes(s: &Subject) -> Vec<BadInput> {
    let case = |name| Case::seed(name).post(PREDICT);
    let body = json!({"instances": [s.row]});
    // Long, but within any request-line limit worth having.
    let long_path = format!("/{}", "x".repeat(4_000));
    vec![
        case("text content type")
            .content_type("text/plain")
            .body(&body)
            .refused(ApiError::UnsupportedMediaType {
                mime: "text/plain".into(),
            }),
        case("form content type")
            .content_type("application/x-www-form-urlencoded")
            .body(&body)
            .answered(415, "not supported"),
        Case::seed("unknown route")
            .get("/predictions")
            .refused(ApiError::NoRoute {
                path: "/predictions".into(),
            }),
        Case::seed("a 4 KB path is not echoed whole")
            .get(&long_path)
            .refused(ApiError::NoRoute {
                path: shown_path(&long_path),
            }),
        Case::seed("wrong method")
            .get(PREDICT)
            .refused(ApiError::MethodNotAllowed { allow: "POST" }),
        Case::seed("wrong method on health")
            .post("/health")
            .answered(405, "use GET"),
    ]
}

fn unknown_feature(s: &Subject) -> BadInput {
    let mut unknown = s.named(None);
    unknown.insert("colour of the label".into(), json!(1.0));
    Case::seed("unknown feature name")
        .post(PREDICT)
        .json(json!({"instances": [unknown]}))
        .refused(ApiError::Row {
            row: 0,
            problem: RowProblem::UnknownFeature {
                name: "colour of the label".into(),
                expected: s.features.to_vec(),
            },
        })
}

/// An object row naming its first feature twice: text no JSON serializer writes.
fn feature_twice(s: &Subject) -> BadInput {
    let fields = Value::from(s.named(None)).to_string();
    let twice = format!(
        "{{\"instances\": [{{{}, {}: 1.0}}]}}",
        fields.trim_matches(|c| c == '{' || c == '}'),
        Value::from(s.first().as_str())
    );
    Case::seed("feature given twice")
        .post(PREDICT)
        .json(twice)
        .refused(ApiError::Row {
            row: 0,
            problem: RowProblem::Repeated(s.first().clone()),
        })
}
