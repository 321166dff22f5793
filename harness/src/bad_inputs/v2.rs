//! Bad requests to the Open Inference Protocol's JSON form: 400 for every invalid request, 404
//! for an unknown model.

use serde_json::{Value, json};
use server::InputError;
use server::contract::errors::{ApiError, TensorError};
use server::contract::fixtures::BadInput;

use super::{Case, Subject};
use crate::rows::Tensors;

pub fn cases(s: &Subject) -> Vec<BadInput> {
    let mut cases = routes(s);
    cases.extend(match s.schema.tensors {
        Tensors::Matrix => tensors(s),
        Tensors::PerInput => inputs(s),
    });
    cases.extend(by_feature(s));
    cases
}

/// The routes around infer, and requests wrong whatever their tensors.
fn routes(s: &Subject) -> Vec<BadInput> {
    let (name, infer) = (s.oracle.name(), s.infer.as_str());
    let one = s.one_row_request();
    let case = |name| Case::v2(name).post(infer);
    vec![
        Case::v2("v2 unknown model")
            .post("/v2/models/no-such-model/infer")
            .body(&one)
            .refused(s.not_served("no-such-model", None)),
        Case::v2("v2 unknown model metadata")
            .get("/v2/models/no-such-model")
            .refused(s.not_served("no-such-model", None)),
        Case::v2("v2 unknown version")
            .get(&format!("/v2/models/{name}/versions/9.9.9"))
            .refused(s.not_served(name, Some("9.9.9"))),
        case("v2 malformed JSON")
            .body("{\"inputs\": [")
            .answered(400, "malformed JSON"),
        case("v2 missing inputs")
            .body("{}")
            .answered(400, "missing field `inputs`"),
        case("v2 unknown output")
            .body(with_outputs(&one, json!([{"name": "logits"}])))
            .refused(TensorError::UnknownOutput {
                name: "logits".into(),
            }),
        case("v2 text content type")
            .content_type("text/plain")
            .body(&one)
            .refused(ApiError::UnsupportedMediaType {
                mime: "text/plain".into(),
            }),
        Case::v2("v2 wrong method")
            .get(infer)
            .answered(405, "use POST"),
        Case::v2("v2 unknown route")
            .get("/v2/repository/index")
            .answered(404, "no route"),
    ]
}

/// One `[N, F]` tensor, wrong.
fn tensors(s: &Subject) -> Vec<BadInput> {
    let (width, infer) = (s.width, s.infer.as_str());
    let row = || Value::from(s.row.clone());
    let one = s.one_row_request();
    let case = |name| Case::v2(name).post(infer);
    vec![
        case("v2 two inputs")
            .body(json!({"inputs": [one["inputs"][0], one["inputs"][0]]}))
            .refused(TensorError::InputCount { found: 2 }),
        case("v2 shape disagrees with data")
            .body(s.tensor(json!([2, width]), "FP64", row()))
            .refused(TensorError::DataLength {
                input: "input".into(),
                shape: vec![2, width as i64],
                needed: 2 * width,
                found: width,
            }),
        case("v2 one-dimensional shape")
            .body(s.tensor(json!([width]), "FP64", row()))
            .refused(TensorError::Rank {
                input: "input".into(),
                shape: vec![width as i64],
            }),
        case("v2 wrong feature count")
            .body(s.tensor(json!([1, width + 1]), "FP64", s.long_row().into()))
            .refused(ApiError::Width {
                input: "input".into(),
                expected: width,
                found: width + 1,
            }),
        case("v2 unsupported datatype")
            .body(s.tensor(json!([1, width]), "BOOL", row()))
            .refused(TensorError::Datatype {
                input: "input".into(),
                datatype: "BOOL".into(),
            }),
        case("v2 fraction in an integer tensor")
            .body(s.tensor(json!([1, width]), "INT32", fraction(width)))
            .refused(TensorError::OutOfType {
                input: "input".into(),
                element: 0,
                value: 1.5,
                datatype: "INT32".into(),
            }),
        case("v2 NaN token")
            .body(token_tensor(s, "NaN"))
            .refused(InputError::NonFinite {
                row: 0,
                feature: s.first().clone(),
            }),
        case("v2 a number too large for a double")
            .body(token_tensor(s, "1e999"))
            .refused(InputError::NonFinite {
                row: 0,
                feature: s.first().clone(),
            }),
        case("v2 empty batch")
            .body(s.tensor(json!([0, width]), "FP64", json!([])))
            .refused(InputError::Empty),
    ]
}

/// One input per feature, each wrong in its own way: the tensors a model with categories or
/// gaps takes.
fn inputs(s: &Subject) -> Vec<BadInput> {
    let case = |name| Case::v2(name).post(&s.infer);
    let one = columns(s, 1, None);
    let first = s.first().clone();
    let with = |at: usize, key: &str, value: Value| {
        let mut request = one.clone();
        request["inputs"][at][key] = value;
        request
    };
    let mut cases = vec![
        case("v2 an input given twice")
            .body(with_inputs(&one, one["inputs"][0].clone()))
            .refused(TensorError::RepeatedInput {
                input: first.clone(),
            }),
        case("v2 shape disagrees with data")
            .body(with(0, "shape", json!([2, 1])))
            .refused(TensorError::DataLength {
                input: first.clone(),
                shape: vec![2, 1],
                needed: 2,
                found: 1,
            }),
        case("v2 an input of two columns")
            .body(with(0, "shape", json!([1, 2])))
            .refused(TensorError::ColumnShape {
                input: first.clone(),
                shape: vec![1, 2],
            }),
        case("v2 empty batch")
            .body({
                let mut request = one.clone();
                for input in request["inputs"].as_array_mut().into_iter().flatten() {
                    input["shape"] = json!([0]);
                    input["data"] = json!([]);
                }
                request
            })
            .refused(InputError::Empty),
    ];
    if let Some(at) = s.number {
        let feature = &s.features[at];
        let token = |token: &str| {
            with(at, "data", json!(["TOKEN"]))
                .to_string()
                .replace("\"TOKEN\"", token)
        };
        cases.extend([
            case("v2 a datatype that does not fit a number")
                .body(with(at, "datatype", json!("BYTES")))
                .answered(
                    400,
                    &format!("datatype \"BYTES\" does not fit feature {feature:?}"),
                ),
            case("v2 fraction in an integer tensor")
                .body(with(at, "datatype", json!("INT32")).tap(|r| {
                    r["inputs"][at]["data"] = json!([1.5]);
                }))
                .refused(TensorError::OutOfType {
                    input: feature.clone(),
                    element: 0,
                    value: 1.5,
                    datatype: "INT32".into(),
                }),
            case("v2 a number too large for a double")
                .body(token("1e999"))
                .refused(s.non_finite(0, at)),
        ]);
    }
    if let Some(at) = s.strict_number {
        cases.push(
            case("v2 NaN token")
                .body(
                    with(at, "data", json!(["TOKEN"]))
                        .to_string()
                        .replace("\"TOKEN\"", "NaN"),
                )
                .refused(s.non_finite(0, at)),
        );
    }
    if let Some(at) = s.category {
        let feature = &s.features[at];
        cases.push(
            case("v2 a datatype that does not fit a category")
                .body(with(at, "datatype", json!("FP64")).tap(|r| {
                    r["inputs"][at]["data"] = json!([1.5]);
                }))
                .answered(
                    400,
                    &format!("datatype \"FP64\" does not fit feature {feature:?}"),
                ),
        );
    }
    let wrong = [
        ("v2 an unknown category", s.strict_category, s.unseen()),
        (
            "v2 null where nothing fills it",
            s.not_nullable,
            Value::Null,
        ),
    ];
    for (name, at, value) in wrong {
        let Some(at) = at else { continue };
        if let Some(refusal) = s.value_refused(0, at, &value) {
            cases.push(
                case(name)
                    .body(with(at, "data", json!([value])))
                    .refused(refusal),
            );
        }
    }
    cases
}

/// A value changed in place, in an expression.
trait Tap: Sized {
    fn tap(self, change: impl FnOnce(&mut Self)) -> Self;
}

impl Tap for Value {
    fn tap(mut self, change: impl FnOnce(&mut Value)) -> Value {
        change(&mut self);
        self
    }
}

/// One input per feature, as MLServer's pandas codec sends them, with one wrong.
fn by_feature(s: &Subject) -> Vec<BadInput> {
    let case = |name| Case::v2(name).post(&s.infer);
    vec![
        case("v2 one input per feature, one missing")
            .body(columns(s, 1, Some(s.last_required())))
            .refused(TensorError::MissingInput {
                feature: s.last_required().clone(),
            }),
        case("v2 one input per feature, of different lengths")
            .body(uneven_columns(s))
            .refused(TensorError::InputLengths {
                input: s.last().clone(),
                rows: 2,
                first: s.first().clone(),
                expected: 1,
            }),
        case("v2 an input that is not a feature")
            .body(with_inputs(
                &columns(s, 1, None),
                json!({"name": "colour", "shape": [1], "datatype": "FP64", "data": [1.0]}),
            ))
            .refused(TensorError::UnknownInput {
                input: "colour".into(),
                expected: s.features.to_vec(),
            }),
    ]
}

/// One row of an integer tensor whose first element has a fraction.
fn fraction(width: usize) -> Value {
    let mut values = vec![json!(1); width];
    values[0] = json!(1.5);
    values.into()
}

/// The one-row tensor with its first value written as `token`, which no serializer writes.
fn token_tensor(s: &Subject, token: &str) -> String {
    format!(
        "{{\"inputs\": [{{\"name\": \"input\", \"shape\": [1, {}], \"datatype\": \"FP64\", \"data\": {}}}]}}",
        s.width,
        s.row_text_with_first(token)
    )
}

/// One input per feature, as MLServer's pandas codec sends them: `[rows, 1]` each, without
/// `skip`.
fn columns(s: &Subject, rows: usize, skip: Option<&String>) -> Value {
    let inputs: Vec<Value> = s
        .features
        .iter()
        .zip(&s.row)
        .zip(&s.schema.inputs)
        .filter(|((f, _), _)| Some(*f) != skip)
        .map(|((f, v), input)| {
            json!({"name": f, "shape": [rows, 1], "datatype": input.datatype(), "data": vec![v; rows]})
        })
        .collect();
    json!({"parameters": {"content_type": "pd"}, "inputs": inputs})
}

/// One input per feature, the last with two rows where the others have one.
fn uneven_columns(s: &Subject) -> Value {
    let mut request = columns(s, 1, None);
    let last = s.width - 1;
    request["inputs"][last]["shape"] = json!([2, 1]);
    request["inputs"][last]["data"] = json!([s.row[last], s.row[last]]);
    request
}

fn with_inputs(request: &Value, extra: Value) -> Value {
    let mut request = request.clone();
    if let Some(inputs) = request["inputs"].as_array_mut() {
        inputs.push(extra);
    }
    request
}

fn with_outputs(request: &Value, outputs: Value) -> Value {
    let mut request = request.clone();
    request["outputs"] = outputs;
    request
}
