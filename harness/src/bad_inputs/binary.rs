//! Bad requests in the binary tensor data extension: a JSON header, then the tensor's bytes.
//! The bytes are UINT8 letters, so that the body stays text.

use serde_json::{Value, json};
use server::contract::errors::TensorError;
use server::contract::fixtures::BadInput;
use server::contract::v2::BINARY_HEADER_LENGTH;

use super::{Case, Subject};

pub fn cases(s: &Subject) -> Vec<BadInput> {
    let width = s.width;
    let header = |size: usize, data: Option<Value>| header(s, size, data);
    let letters = |n: usize| "a".repeat(n);
    let whole = header(width, None);
    let body_len = whole.len() + width;
    let data = Value::from(vec![97; width]);
    // Every case: the header, `tensors` after it, and the header's length as sent.
    let case = |name, json: &str, tensors: String, length: String| {
        Case::v2(name)
            .post(&s.infer)
            .body(format!("{json}{tensors}"))
            .header(BINARY_HEADER_LENGTH, length)
    };
    let length_of = |json: &str| json.len().to_string();
    vec![
        case(
            "v2 binary header length past the body",
            &whole,
            letters(width),
            (body_len + 1).to_string(),
        )
        .refused(TensorError::HeaderLength {
            value: (body_len + 1).to_string(),
            body: body_len,
        }),
        case(
            "v2 binary header length not a number",
            &whole,
            letters(width),
            "0x10".into(),
        )
        .refused(TensorError::HeaderLength {
            value: "0x10".into(),
            body: body_len,
        }),
        case(
            "v2 binary sizes do not add up to the body",
            &whole,
            letters(width - 1),
            length_of(&whole),
        )
        .refused(TensorError::BinaryTotal {
            declared: width as u64,
            found: width - 1,
        }),
        case(
            "v2 binary size is not the shape's",
            &header(width + 1, None),
            letters(width + 1),
            length_of(&header(width + 1, None)),
        )
        .refused(TensorError::BinarySize {
            input: "input".into(),
            size: width as u64 + 1,
            shape: vec![1, width as i64],
            datatype: "UINT8".into(),
            expected: width,
        }),
        case(
            "v2 binary input with data too",
            &header(width, Some(data.clone())),
            letters(width),
            length_of(&header(width, Some(data))),
        )
        .refused(TensorError::BinaryAndData {
            input: "input".into(),
        }),
        case(
            "v2 binary header is not JSON",
            "not json",
            letters(width),
            length_of("not json"),
        )
        .answered(400, "malformed JSON"),
    ]
}

/// The JSON header of one UINT8 input of `size` bytes, with `data` as well when given.
fn header(s: &Subject, size: usize, data: Option<Value>) -> String {
    let mut input = json!({"name": "input", "shape": [1, s.width], "datatype": "UINT8",
                           "parameters": {"binary_data_size": size}});
    if let Some(data) = data {
        input["data"] = data;
    }
    json!({ "inputs": [input] }).to_string()
}
