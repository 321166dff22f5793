//! Every route and every bad-input class through `Request::fake_http`, with no socket.

use std::io::Read;
use std::time::SystemTime;

use rouille::{Request, Response};
use serde_json::{Value, json};
use server::fixtures::{BadInputs, GoldenFile};
use server::routes::ROUTES;
use server::{App, Artifact, Limits};

use crate::util::{assert_same_bits, fixtures, reference_artifacts};

const ONES: [f64; 11] = [1.0; 11];
const TWOS: [f64; 11] = [2.0; 11];

const LIMITS: Limits = Limits {
    max_body_bytes: 64 * 1024,
    max_batch_rows: 100,
};

fn wine_app() -> App {
    App::new(Artifact::embedded().unwrap(), LIMITS, SystemTime::now())
}

/// Sends one request and returns the status and the body.
fn call(
    app: &App,
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
    read(app.handle(&request))
}

fn read(response: Response) -> (u16, String) {
    let status = response.status_code;
    let (mut reader, _) = response.data.into_reader_and_size();
    let mut body = String::new();
    reader.read_to_string(&mut body).unwrap();
    (status, body)
}

fn get(app: &App, path: &str) -> (u16, Value) {
    let (status, body) = call(app, "GET", path, None, b"");
    (
        status,
        serde_json::from_str(&body).unwrap_or(Value::String(body)),
    )
}

fn post(app: &App, path: &str, body: &Value) -> (u16, Value) {
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
fn every_get_route_answers() {
    let app = wine_app();
    assert_eq!(get(&app, "/health"), (200, json!({"status": "ok"})));
    assert_eq!(get(&app, "/ready"), (200, json!({"status": "ready"})));
    assert_eq!(get(&app, "/v2/health/live"), (200, json!({"live": true})));
    assert_eq!(get(&app, "/v2/health/ready"), (200, json!({"ready": true})));
    let (status, server) = get(&app, "/v2");
    assert_eq!(status, 200);
    assert_eq!(server["name"], "server");
    assert_eq!(server["extensions"], json!([]));
    for path in [
        "/v2/models/wine-quality/ready",
        "/v2/models/wine-quality/versions/1.0.0/ready",
    ] {
        assert_eq!(
            get(&app, path),
            (200, json!({"name": "wine-quality", "ready": true}))
        );
    }

    let (status, model) = get(&app, "/model");
    assert_eq!(status, 200);
    let artifact = app.artifact();
    assert_eq!(model["name"], "wine-quality");
    assert_eq!(model["kind"], "binary");
    assert_eq!(model["artifact_sha256"], artifact.sha256());
    assert_eq!(model["features"].as_array().unwrap().len(), 11);
    assert_eq!(model["classes"], json!(artifact.model().classes()));
    assert_eq!(model["training"]["rows"], 1599);

    for path in [
        "/v2/models/wine-quality",
        "/v2/models/wine-quality/versions/1.0.0",
    ] {
        let (status, meta) = get(&app, path);
        assert_eq!(status, 200);
        assert_eq!(meta["versions"], json!(["1.0.0"]));
        assert_eq!(meta["inputs"][0]["shape"], json!([-1, 11]));
        assert_eq!(
            meta["outputs"][1],
            json!({"name": "probabilities", "datatype": "FP64", "shape": [-1, 2]})
        );
    }
}

#[test]
fn predictions_match_the_in_process_model_on_every_golden_case() {
    for (recipe, artifact) in reference_artifacts() {
        let golden: GoldenFile = serde_json::from_slice(
            &std::fs::read(fixtures().join(format!("golden/{}.json", recipe.name))).unwrap(),
        )
        .unwrap();
        let app = App::new(artifact, LIMITS, SystemTime::now());
        let classes = app.artifact().model().classes().to_vec();
        let width = app.artifact().model().features().len();
        for case in &golden.cases {
            let (status, seed) = post(&app, "/predict", &json!({"instances": case.instances}));
            assert_eq!(status, 200, "{}: {seed}", case.name);
            assert_eq!(seed["model"]["artifact_sha256"], app.artifact().sha256());

            let infer = json!({"id": case.name, "inputs": [{
                "name": "input", "shape": [case.instances.len(), width], "datatype": "FP64",
                "data": case.instances,
            }]});
            let path = format!("/v2/models/{}/infer", recipe.name);
            let (status, v2) = post(&app, &path, &infer);
            assert_eq!(status, 200, "{}: {v2}", case.name);
            assert_eq!(v2["id"], case.name.as_str());
            assert_eq!(
                v2["outputs"][1]["shape"],
                json!([case.instances.len(), classes.len()])
            );
            let v2_probabilities: Vec<f64> =
                serde_json::from_value(v2["outputs"][1]["data"].clone()).unwrap();

            for (i, want) in case.predictions.iter().enumerate() {
                let context = format!("{} {} row {i}", recipe.name, case.name);
                let seed_row = &seed["predictions"][i];
                assert_eq!(seed_row["label"], want.label.as_str(), "{context}");
                assert_eq!(
                    v2["outputs"][0]["data"][i],
                    want.label.as_str(),
                    "{context}"
                );
                let expected: Vec<f64> = classes.iter().map(|c| want.probabilities[c]).collect();
                let seed_probs: Vec<f64> = classes
                    .iter()
                    .map(|c| seed_row["probabilities"][c].as_f64().unwrap())
                    .collect();
                assert_same_bits(&context, &expected, &seed_probs);
                let n = classes.len();
                assert_same_bits(&context, &expected, &v2_probabilities[i * n..(i + 1) * n]);
            }
        }
    }
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
fn every_bad_input_gets_its_status_and_a_json_error() {
    let bad: BadInputs =
        serde_json::from_slice(&std::fs::read(fixtures().join("bad-inputs.json")).unwrap())
            .unwrap();
    let app = wine_app();
    assert_eq!(bad.model, app.artifact().name());
    for case in &bad.cases {
        let (status, body) = call(
            &app,
            &case.method,
            &case.path,
            case.content_type.as_deref(),
            case.body.as_deref().unwrap_or("").as_bytes(),
        );
        assert_eq!(status, case.status, "{}: {body}", case.name);
        let error: Value = serde_json::from_str(&body).unwrap();
        let message = error["error"]
            .as_str()
            .unwrap_or_else(|| panic!("{}: {body}", case.name));
        assert_eq!(error.as_object().unwrap().len(), 1, "{}: {body}", case.name);
        assert!(
            message.contains(&case.error_contains),
            "{}: {message:?} lacks {:?}",
            case.name,
            case.error_contains
        );
    }
    assert_eq!(get(&app, "/health").0, 200);
}

#[test]
fn limits_refuse_large_bodies_and_batches() {
    let app = wine_app();
    let rows = vec![[1.0; 11]; LIMITS.max_batch_rows + 1];
    let (status, body) = post(&app, "/predict", &json!({"instances": rows}));
    assert_eq!(status, 413);
    assert!(
        body["error"]
            .as_str()
            .unwrap()
            .contains("101 rows, more than the limit of 100")
    );
    let infer = json!({"inputs": [{"name": "x", "shape": [rows.len(), 11], "datatype": "FP64", "data": rows}]});
    assert_eq!(post(&app, "/v2/models/wine-quality/infer", &infer).0, 400);

    let padding = " ".repeat(LIMITS.max_body_bytes);
    let body = format!("{{\"instances\": [[{}]]}}{padding}", ["1"; 11].join(","));
    let (status, message) = call(
        &app,
        "POST",
        "/predict",
        Some("application/json"),
        body.as_bytes(),
    );
    assert_eq!(status, 413, "{message}");
    let (status, _) = call(
        &app,
        "POST",
        "/v2/models/wine-quality/infer",
        None,
        body.as_bytes(),
    );
    assert_eq!(status, 400);
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
    let (status, text) = call(&app, "GET", "/metrics", None, b"");
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
        .map(|(m, p)| ((*m).to_owned(), (*p).to_owned()))
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
