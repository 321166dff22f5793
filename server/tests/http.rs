//! What only the server can see, through `Request::fake_http` with no socket: the pipeline's
//! decoding paths, shutdown admission, the metrics it counts and the OpenAPI document against
//! the route table. Every route, golden case, bad input and limit is checked over HTTP by the
//! harness (`harness/tests`), in-process and against the container.

use std::io::Read;
use std::time::SystemTime;

use rouille::{Request, Response};
use serde_json::{Value, json};
use server::Artifact;
use server::contract::ROUTES;
use server::contract::limits::Limits;
use server::http::State;
use server::http::pipeline::answer;

const ONES: [f64; 11] = [1.0; 11];
const TWOS: [f64; 11] = [2.0; 11];

fn wine_app() -> State {
    State::new(
        Artifact::embedded().unwrap(),
        Limits::default(),
        SystemTime::now(),
    )
}

/// Sends one request and returns the status and the body.
fn call(
    app: &State,
    method: &str,
    path: &str,
    content_type: Option<&str>,
    body: &[u8],
) -> (u16, String) {
    let mut headers = vec![];
    if let Some(ct) = content_type {
        headers.push(("Content-Type".to_owned(), ct.to_owned()));
    }
    headers.push(("Content-Length".to_owned(), body.len().to_string()));
    let request = Request::fake_http(method, path, headers, body.to_vec());
    read(answer(app, &request))
}

fn read(response: Response) -> (u16, String) {
    let status = response.status_code;
    let (mut reader, _) = response.data.into_reader_and_size();
    let mut body = String::new();
    reader.read_to_string(&mut body).unwrap();
    (status, body)
}

fn get(app: &State, path: &str) -> (u16, Value) {
    let (status, body) = call(app, "GET", path, None, b"");
    (
        status,
        serde_json::from_str(&body).unwrap_or(Value::String(body)),
    )
}

fn post(app: &State, path: &str, body: &Value) -> (u16, Value) {
    let (status, body) = call(
        app,
        "POST",
        path,
        Some("application/json"),
        body.to_string().as_bytes(),
    );
    (status, serde_json::from_str(&body).unwrap())
}

#[test]
fn rows_may_be_objects_keyed_by_feature_name() {
    let app = wine_app();
    let features = app.artifact().model().features().to_vec();
    let row: Vec<f64> = (0..features.len()).map(|i| i as f64 / 3.0).collect();
    let named: serde_json::Map<String, Value> = features
        .iter()
        .rev()
        .zip(row.iter().rev())
        .map(|(k, v)| (k.clone(), json!(v)))
        .collect();
    let (_, by_position) = post(&app, "/predict", &json!({"instances": [row]}));
    let (status, by_name) = post(&app, "/predict", &json!({"instances": [named]}));
    assert_eq!(status, 200);
    assert_eq!(by_position, by_name);
}

#[test]
fn v2_accepts_nested_data_integer_types_and_output_selection() {
    let app = wine_app();
    let path = "/v2/models/wine-quality/versions/1.0.0/infer";
    let row: Vec<i64> = (1..=11).collect();
    let flat =
        json!({"inputs": [{"name": "x", "shape": [1, 11], "datatype": "INT64", "data": row}]});
    let nested = json!({"inputs": [{"name": "x", "shape": [1, 11], "datatype": "FP64", "data": [row]}],
                         "outputs": [{"name": "label"}]});
    let (status, a) = post(&app, path, &flat);
    assert_eq!(status, 200, "{a}");
    let (status, b) = post(&app, path, &nested);
    assert_eq!(status, 200, "{b}");
    assert_eq!(b["outputs"].as_array().unwrap().len(), 1);
    assert_eq!(a["outputs"][0], b["outputs"][0]);
    assert!(a.get("id").is_none());
}

/// Sends a V2 infer body with binary tensor data after a JSON header of `header_length`
/// bytes; returns the status, the answer's JSON header and the bytes after it.
fn infer_binary(app: &State, body: Vec<u8>, header_length: usize) -> (u16, Value, Vec<u8>) {
    let headers = vec![
        (
            "Inference-Header-Content-Length".to_owned(),
            header_length.to_string(),
        ),
        ("Content-Length".to_owned(), body.len().to_string()),
    ];
    let request = Request::fake_http("POST", "/v2/models/wine-quality/infer", headers, body);
    let response = answer(app, &request);
    let status = response.status_code;
    let length = response
        .headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("Inference-Header-Content-Length"))
        .map(|(_, v)| v.parse::<usize>().unwrap());
    let (mut reader, _) = response.data.into_reader_and_size();
    let mut bytes = Vec::new();
    reader.read_to_end(&mut bytes).unwrap();
    let split = length.unwrap_or(bytes.len());
    let header = serde_json::from_slice(&bytes[..split]).unwrap();
    (status, header, bytes[split..].to_vec())
}

/// The labels and probability bits of a V2 answer, each output read from its JSON data or from
/// its bytes after the header.
fn v2_outputs(header: &Value, binary: &[u8]) -> (Vec<String>, Vec<u64>) {
    let (mut labels, mut bits, mut at) = (vec![], vec![], 0);
    for output in header["outputs"].as_array().unwrap() {
        let size = output["parameters"]["binary_data_size"].as_u64();
        let bytes = size.map(|n| {
            let bytes = &binary[at..at + n as usize];
            at += n as usize;
            bytes
        });
        match (output["name"].as_str().unwrap(), bytes) {
            ("label", None) => labels.extend(
                output["data"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|l| l.as_str().unwrap().to_owned()),
            ),
            ("label", Some(mut bytes)) => {
                while !bytes.is_empty() {
                    let n = u32::from_le_bytes(bytes[..4].try_into().unwrap()) as usize;
                    labels.push(String::from_utf8(bytes[4..4 + n].to_vec()).unwrap());
                    bytes = &bytes[4 + n..];
                }
            }
            (_, None) => bits.extend(
                output["data"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|p| p.as_f64().unwrap().to_bits()),
            ),
            (_, Some(bytes)) => bits.extend(
                bytes
                    .chunks_exact(8)
                    .map(|b| f64::from_le_bytes(b.try_into().unwrap()).to_bits()),
            ),
        }
    }
    assert_eq!(at, binary.len(), "bytes past the binary outputs");
    (labels, bits)
}

/// The same rows through `/predict` and through V2 in every encoding, binary or JSON in and
/// out, give the model's own labels and probabilities to the bit.
#[test]
fn every_encoding_of_v2_gives_the_bits_of_the_model() {
    let app = wine_app();
    let model = app.artifact().model();
    let rows: Vec<Vec<f64>> = vec![
        ONES.to_vec(),
        TWOS.to_vec(),
        (0..11).map(|i| 0.1 + f64::from(i) / 7.0).collect(),
    ];
    let checked = server::Rows::from_rows(&rows, model.features()).unwrap();
    let predictions = model.predict(&checked).unwrap();
    let expected = (
        predictions
            .iter()
            .map(|p| model.classes()[p.class].clone())
            .collect::<Vec<_>>(),
        predictions
            .iter()
            .flat_map(|p| p.probabilities.iter().map(|v| v.to_bits()))
            .collect::<Vec<_>>(),
    );

    let (status, predicted) = post(&app, "/predict", &json!({ "instances": rows }));
    assert_eq!(status, 200);
    let seed_bits: Vec<u64> = predicted["predictions"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|p| {
            model
                .classes()
                .iter()
                .map(|c| p["probabilities"][c].as_f64().unwrap().to_bits())
                .collect::<Vec<_>>()
        })
        .collect();
    assert_eq!(seed_bits, expected.1, "/predict");

    let flat: Vec<f64> = rows.concat();
    let mut raw = Vec::new();
    for v in &flat {
        raw.extend_from_slice(&v.to_le_bytes());
    }
    let shape = json!([rows.len(), 11]);
    let json_input = json!({"name": "x", "shape": shape, "datatype": "FP64", "data": flat});
    let binary_input = json!({"name": "x", "shape": shape, "datatype": "FP64",
                              "parameters": {"binary_data_size": raw.len()}});
    let binary_out = json!({"binary_data_output": true});
    for (input, tensors) in [(&json_input, &[][..]), (&binary_input, &raw[..])] {
        for parameters in [None, Some(&binary_out)] {
            let mut header = json!({ "inputs": [input] });
            if let Some(parameters) = parameters {
                header["parameters"] = parameters.clone();
            }
            let mut body = header.to_string().into_bytes();
            let length = body.len();
            body.extend_from_slice(tensors);
            let (status, answer, binary) = infer_binary(&app, body, length);
            assert_eq!(status, 200, "{answer}");
            let what = format!("{} in, {parameters:?}", input["datatype"]);
            assert_eq!(v2_outputs(&answer, &binary), expected, "{what}");
        }
    }
}

#[test]
fn a_missing_content_type_is_read_as_json() {
    let app = wine_app();
    let body = json!({"instances": [ONES]}).to_string();
    let (status, _) = call(&app, "POST", "/predict", None, body.as_bytes());
    assert_eq!(status, 200);
    let (status, _) = call(
        &app,
        "POST",
        "/predict",
        Some("application/json; charset=utf-8"),
        body.as_bytes(),
    );
    assert_eq!(status, 200);
}

#[test]
fn shutting_down_keeps_liveness_and_refuses_the_rest() {
    let app = wine_app();
    app.begin_shutdown();
    assert_eq!(get(&app, "/health").0, 200);
    assert_eq!(get(&app, "/v2/health/live").0, 200);
    assert_eq!(get(&app, "/ready").0, 503);
    assert_eq!(get(&app, "/v2/health/ready").0, 503);
    let (status, body) = post(&app, "/predict", &json!({"instances": [ONES]}));
    assert_eq!(
        (status, body),
        (503, json!({"error": "the server is shutting down"}))
    );
}

#[test]
fn metrics_count_requests_rows_and_describe_the_model() {
    let app = wine_app();
    app.mark_started(std::time::Duration::from_millis(3));
    post(&app, "/predict", &json!({"instances": [ONES, TWOS]}));
    post(&app, "/predict", &json!({"instances": []}));
    get(&app, "/nowhere");
    let openmetrics = Request::fake_http(
        "GET",
        "/metrics",
        vec![("Accept".into(), "application/openmetrics-text".into())],
        vec![],
    );
    let (status, text) = read(answer(&app, &openmetrics));
    assert_eq!(status, 200);
    for line in [
        r#"http_requests_total{route="/predict",method="POST",status="200"} 1"#,
        r#"http_requests_total{route="/predict",method="POST",status="422"} 1"#,
        r#"http_requests_total{route="unmatched",method="GET",status="404"} 1"#,
        r#"predictions_total{route="/predict"} 2"#,
        r#"http_request_duration_seconds_count{route="/predict"} 2"#,
        "startup_duration_seconds 0.003",
    ] {
        assert!(
            text.lines().any(|l| l == line),
            "missing {line:?} in\n{text}"
        );
    }
    let sha = app.artifact().sha256();
    assert!(text.contains(&format!(r#"model_info{{name="wine-quality",version="1.0.0",kind="binary",artifact_sha256="{sha}"}} 1"#)), "{text}");
    assert!(text.contains("process_start_time_seconds "));
    assert!(text.ends_with("# EOF\n"));

    // Without an Accept asking for OpenMetrics: the same samples in Prometheus text 0.0.4.
    let plain = answer(&app, &Request::fake_http("GET", "/metrics", vec![], vec![]));
    let content_type = plain
        .headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("Content-Type"))
        .map(|(_, v)| v.to_string());
    assert_eq!(
        content_type.as_deref(),
        Some("text/plain; version=0.0.4; charset=utf-8")
    );
    let (_, plain) = read(plain);
    assert!(!plain.contains("# EOF"), "{plain}");
    assert!(
        plain.contains("# TYPE http_requests_total counter\n"),
        "{plain}"
    );
    assert!(plain.contains("# TYPE model_info gauge\n"), "{plain}");
    assert!(
        plain.contains(r#"predictions_total{route="/predict"} 2"#),
        "{plain}"
    );
}

#[test]
fn the_openapi_document_lists_exactly_the_routes_served() {
    let app = wine_app();
    let (status, doc) = get(&app, "/openapi.json");
    assert_eq!(status, 200);
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."));
    assert_eq!(doc["info"]["version"], env!("CARGO_PKG_VERSION"));

    let mut documented: Vec<(String, String)> = doc["paths"]
        .as_object()
        .unwrap()
        .iter()
        .flat_map(|(path, item)| {
            item.as_object()
                .unwrap()
                .keys()
                .map(move |m| (m.to_uppercase(), path.clone()))
        })
        .collect();
    documented.sort();
    let mut served: Vec<(String, String)> = ROUTES
        .iter()
        .map(|r| (r.method.to_owned(), r.template.to_owned()))
        .collect();
    served.sort();
    assert_eq!(documented, served);

    // Every reference resolves, and every path parameter is declared.
    let text = doc.to_string();
    for piece in text.split("\"$ref\":\"#/components/schemas/").skip(1) {
        let name = &piece[..piece.find('"').unwrap()];
        assert!(
            doc["components"]["schemas"].get(name).is_some(),
            "dangling $ref {name}"
        );
    }
    for (path, item) in doc["paths"].as_object().unwrap() {
        for op in item.as_object().unwrap().values() {
            let declared: Vec<&str> = op["parameters"].as_array().map_or(vec![], |ps| {
                ps.iter().map(|p| p["name"].as_str().unwrap()).collect()
            });
            let used: Vec<&str> = path
                .split('{')
                .skip(1)
                .map(|s| &s[..s.find('}').unwrap()])
                .collect();
            assert_eq!(declared, used, "{path}");
        }
    }
}
