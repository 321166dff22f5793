use proptest::prelude::*;

use super::*;
use crate::contract::errors::TensorError;
use crate::rows::Rows;

fn names(n: usize) -> Vec<String> {
    (0..n).map(|i| format!("f{i}")).collect()
}

fn request(json: &str) -> InferRequest {
    serde_json::from_str(json).unwrap()
}

fn rows(json: &str, binary: &[u8]) -> Result<Inference, ApiError> {
    request(json).into_rows(&names(2), 10, binary)
}

#[test]
fn flat_and_nested_data_give_the_same_rows() {
    let flat = r#"{"inputs":[{"name":"x","shape":[2,2],"datatype":"FP64","data":[1,2,3,4]}]}"#;
    let nested =
        r#"{"inputs":[{"name":"x","shape":[2,2],"datatype":"FP64","data":[[1,2],[3,4]]}]}"#;
    let a = rows(flat, &[]).unwrap().batch.rows().clone();
    let b = rows(nested, &[]).unwrap().batch.rows().clone();
    assert_eq!(a, b);
    assert_eq!(a.len(), 2);
}

#[test]
fn fp32_values_are_read_as_f32() {
    let json = r#"{"inputs":[{"name":"x","shape":[1,1],"datatype":"FP32","data":[0.1]}]}"#;
    let inference = request(json).into_rows(&names(1), 10, &[]).unwrap();
    assert_eq!(
        inference.batch.rows().iter().next().unwrap()[0],
        f64::from(0.1f32)
    );
}

#[test]
fn integer_types_refuse_fractions_and_overflow() {
    for (datatype, value) in [("INT32", "1.5"), ("UINT8", "256"), ("UINT8", "-1")] {
        let json = format!(
            r#"{{"inputs":[{{"name":"x","shape":[1,1],"datatype":"{datatype}","data":[{value}]}}]}}"#
        );
        let err = request(&json).into_rows(&names(1), 10, &[]).unwrap_err();
        assert!(
            matches!(err, ApiError::Tensor(TensorError::OutOfType { .. })),
            "{datatype} {value}: {err:?}"
        );
    }
}

#[test]
fn shape_must_match_the_data_and_the_features() {
    let cases = [
        r#"{"inputs":[{"name":"x","shape":[2,2],"datatype":"FP64","data":[1,2,3]}]}"#,
        r#"{"inputs":[{"name":"x","shape":[4],"datatype":"FP64","data":[1,2,3,4]}]}"#,
        r#"{"inputs":[{"name":"x","shape":[-1,2],"datatype":"FP64","data":[1,2]}]}"#,
        r#"{"inputs":[{"name":"x","shape":[1,2],"datatype":"BYTES","data":[1,2]}]}"#,
        r#"{"inputs":[]}"#,
    ];
    for json in cases {
        assert!(rows(json, &[]).is_err(), "{json}");
    }
    let three = r#"{"inputs":[{"name":"x","shape":[1,3],"datatype":"FP64","data":[1,2,3]}]}"#;
    assert!(matches!(
        rows(three, &[]),
        Err(ApiError::Width {
            expected: 2,
            found: 3,
            ..
        })
    ));
}

#[test]
fn outputs_select_their_encoding() {
    let input = r#""inputs":[{"name":"x","shape":[1,2],"datatype":"FP64","data":[1,2]}]"#;
    let outputs = |rest: &str| rows(&format!("{{{input}{rest}}}"), &[]).map(|i| i.outputs);
    let (json, binary) = (Some(Encoding::Json), Some(Encoding::Binary));
    let cases = [
        ("", (json, json)),
        (
            r#","parameters":{"binary_data_output":true}"#,
            (binary, binary),
        ),
        (r#","outputs":[{"name":"probabilities"}]"#, (None, json)),
        (
            r#","outputs":[{"name":"label","parameters":{"binary_data":true}}]"#,
            (binary, None),
        ),
        (
            r#","parameters":{"binary_data_output":true},"outputs":[{"name":"label","parameters":{"binary_data":false}},{"name":"probabilities"}]"#,
            (json, binary),
        ),
    ];
    for (rest, (label, probabilities)) in cases {
        let got = outputs(rest).unwrap();
        assert_eq!(
            (
                got.label.map(|o| o.encoding),
                got.probabilities.map(|o| o.encoding)
            ),
            (label, probabilities),
            "{rest}"
        );
    }
    assert!(outputs(r#","outputs":[{"name":"logits"}]"#).is_err());
    // MLServer's names, answered under the name asked for.
    let named = outputs(r#","outputs":[{"name":"predict_proba"},{"name":"predict"}]"#).unwrap();
    assert_eq!(named.label.map(|o| o.name), Some("predict"));
    assert_eq!(named.probabilities.map(|o| o.name), Some("predict_proba"));
}

#[test]
fn one_input_per_feature_in_any_order_is_assembled_into_rows() {
    let column = |name: &str, shape: &str, data: &str| {
        format!(r#"{{"name":"{name}","shape":{shape},"datatype":"FP64","data":{data}}}"#)
    };
    let request = |inputs: &[String]| format!(r#"{{"inputs":[{}]}}"#, inputs.join(","));
    // MLServer's pandas codec: [N, 1] per column, any order, with its content type.
    let pd = format!(
        r#"{{"parameters":{{"content_type":"pd"}},"inputs":[{},{}]}}"#,
        column("f1", "[2,1]", "[[3],[4]]"),
        column("f0", "[2,1]", "[[1],[2]]")
    );
    let got = rows(&pd, &[]).unwrap();
    assert_eq!(
        got.batch.rows().iter().collect::<Vec<_>>(),
        [[1.0, 3.0], [2.0, 4.0]]
    );
    let flat = request(&[column("f0", "[2]", "[1,2]"), column("f1", "[2]", "[3,4]")]);
    assert_eq!(
        rows(&flat, &[])
            .unwrap()
            .batch
            .rows()
            .iter()
            .collect::<Vec<_>>(),
        [[1.0, 3.0], [2.0, 4.0]]
    );

    let refused = |inputs: &[String]| rows(&request(inputs), &[]).unwrap_err().to_string();
    assert_eq!(
        refused(&[column("f0", "[2]", "[1,2]")]),
        r#"no input for feature "f1""#
    );
    assert!(
        refused(&[column("f0", "[1]", "[1]"), column("f9", "[1]", "[2]")])
            .starts_with(r#"input "f9" is not a feature"#)
    );
    assert_eq!(
        refused(&[column("f0", "[2]", "[1,2]"), column("f1", "[1]", "[3]")]),
        r#"input "f1" has 1 rows, input "f0" has 2"#
    );
    assert_eq!(
        refused(&[
            column("f0", "[1]", "[1]"),
            column("f0", "[1]", "[2]"),
            column("f1", "[1]", "[2]")
        ]),
        r#"input "f0" is given twice"#
    );
    assert!(
        refused(&[column("f0", "[1,2]", "[1,2]"), column("f1", "[1]", "[2]")])
            .contains("is not [rows] or [rows, 1]")
    );
}

#[test]
fn binary_inputs_are_checked_against_their_shape_and_the_body() {
    let binary = |size: u64, data: &str| {
        format!(
            r#"{{"inputs":[{{"name":"x","shape":[1,2],"datatype":"FP32","parameters":{{"binary_data_size":{size}}}{data}}}]}}"#
        )
    };
    let eight = [0u8; 8];
    assert!(rows(&binary(8, ""), &eight).is_ok());
    let refusals = [
        (
            binary(4, ""),
            &eight[..4],
            "is not the 8 bytes of shape [1, 2] in FP32",
        ),
        (
            binary(8, ""),
            &eight[..4],
            "add up to 8 bytes, but 4 follow",
        ),
        (
            binary(8, ""),
            &[0u8; 12][..],
            "add up to 8 bytes, but 12 follow",
        ),
        (
            binary(8, r#","data":[1,2]"#),
            &eight[..],
            "both binary_data_size and data",
        ),
        (
            r#"{"inputs":[{"name":"x","shape":[1,2],"datatype":"FP64"}]}"#.to_owned(),
            &[][..],
            "neither data nor binary_data_size",
        ),
        (
            r#"{"inputs":[{"name":"x","shape":[1,2],"datatype":"FP64","data":[1,2]}]}"#.to_owned(),
            &eight[..],
            "add up to 0 bytes, but 8 follow",
        ),
    ];
    for (json, body, says) in refusals {
        let error = rows(&json, body).unwrap_err().to_string();
        assert!(error.contains(says), "{json}: {error}");
    }
}

/// Every numeric datatype's values as little-endian bytes and as JSON numbers.
fn encoded(datatype: &str, values: &[f64]) -> (Vec<u8>, String) {
    let mut bytes = Vec::new();
    for v in values {
        match datatype {
            "FP64" => bytes.extend_from_slice(&v.to_le_bytes()),
            "FP32" => bytes.extend_from_slice(&(*v as f32).to_le_bytes()),
            "INT64" => bytes.extend_from_slice(&(*v as i64).to_le_bytes()),
            "UINT64" => bytes.extend_from_slice(&(*v as u64).to_le_bytes()),
            "INT32" => bytes.extend_from_slice(&(*v as i32).to_le_bytes()),
            "UINT32" => bytes.extend_from_slice(&(*v as u32).to_le_bytes()),
            "INT16" => bytes.extend_from_slice(&(*v as i16).to_le_bytes()),
            "UINT16" => bytes.extend_from_slice(&(*v as u16).to_le_bytes()),
            "INT8" => bytes.extend_from_slice(&(*v as i8).to_le_bytes()),
            _ => bytes.extend_from_slice(&(*v as u8).to_le_bytes()),
        }
    }
    let text: Vec<String> = values
        .iter()
        .map(|v| match datatype {
            "FP64" => serde_json::to_string(v).unwrap(),
            "FP32" => serde_json::to_string(&(*v as f32)).unwrap(),
            "INT64" | "INT32" | "INT16" | "INT8" => (*v as i64).to_string(),
            _ => (*v as u64).to_string(),
        })
        .collect();
    (bytes, format!("[{}]", text.join(",")))
}

fn typed_values() -> impl Strategy<Value = (&'static str, Vec<f64>)> {
    let datatype = prop::sample::select(vec![
        "FP64", "FP32", "INT64", "UINT64", "INT32", "UINT32", "INT16", "UINT16", "INT8", "UINT8",
    ]);
    (datatype, 1usize..6).prop_flat_map(|(datatype, rows)| {
        let value = match datatype {
            "FP64" => {
                (prop::num::f64::NORMAL | prop::num::f64::ZERO | prop::num::f64::SUBNORMAL).boxed()
            }
            "FP32" => (prop::num::f32::NORMAL | prop::num::f32::ZERO | prop::num::f32::SUBNORMAL)
                .prop_map(f64::from)
                .boxed(),
            "INT64" => any::<i64>().prop_map(|v| v as f64).boxed(),
            "UINT64" => any::<u64>().prop_map(|v| v as f64).boxed(),
            "INT32" => any::<i32>().prop_map(f64::from).boxed(),
            "UINT32" => any::<u32>().prop_map(f64::from).boxed(),
            "INT16" => any::<i16>().prop_map(f64::from).boxed(),
            "UINT16" => any::<u16>().prop_map(f64::from).boxed(),
            "INT8" => any::<i8>().prop_map(f64::from).boxed(),
            _ => any::<u8>().prop_map(f64::from).boxed(),
        };
        (Just(datatype), prop::collection::vec(value, rows * 2))
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]
    /// The binary decoder and the JSON decoder give the same rows, to the bit, for every
    /// datatype an input may have.
    #[test]
    fn binary_and_json_tensors_give_the_same_rows((datatype, values) in typed_values()) {
        let (bytes, text) = encoded(datatype, &values);
        let rows_n = values.len() / 2;
        let json = format!(
            r#"{{"inputs":[{{"name":"x","shape":[{rows_n},2],"datatype":"{datatype}","data":{text}}}]}}"#
        );
        let binary = format!(
            r#"{{"inputs":[{{"name":"x","shape":[{rows_n},2],"datatype":"{datatype}","parameters":{{"binary_data_size":{}}}}}]}}"#,
            bytes.len()
        );
        let from_json = rows(&json, &[]);
        let from_binary = rows(&binary, &bytes);
        match (from_json, from_binary) {
            (Ok(a), Ok(b)) => {
                let bits = |r: &Rows| r.iter().flatten().map(|v| v.to_bits()).collect::<Vec<_>>();
                prop_assert_eq!(bits(a.batch.rows()), bits(b.batch.rows()));
            }
            (a, b) => prop_assert_eq!(a.map(|_| ()).map_err(|e| e.to_string()), b.map(|_| ()).map_err(|e| e.to_string())),
        }
    }
}
