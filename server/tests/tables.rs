//! Tables as people have them: categorical columns and missing values, from `train` to the
//! answers of every API, which must be the in-process model's to the bit.

use std::io::Read;
use std::time::SystemTime;

use rouille::Request;
use serde_json::{Value, json};
use server::Artifact;
use server::contract::limits::Limits;
use server::http::State;
use server::http::pipeline::answer;
use server::inputs::{Cell, Table, Value as In};
use server::train::{self, Options, Statistic};

use crate::util::fixtures;

/// A passenger list: a string column, a numeric-coded class, and gaps in both kinds.
fn passengers() -> String {
    let mut csv = String::from("age,sex,class,fare,embarked,survived\n");
    for i in 0..60 {
        let sex = ["male", "female"][i % 2];
        let class = 1 + i % 3;
        let age = if i % 7 == 3 {
            String::new()
        } else {
            format!("{}", 20 + (i * 13) % 50)
        };
        let fare = if i % 11 == 5 {
            "NA".to_owned()
        } else {
            format!("{:.2}", 7.25 + (i * 31 % 90) as f64)
        };
        let embarked = ["S", "C", "Q", ""][i % 4];
        let survived = usize::from(sex == "female" || class == 1);
        csv.push_str(&format!(
            "{age},{sex},{class},{fare},{embarked},{survived}\n"
        ));
    }
    csv
}

fn passenger_options() -> Options {
    Options {
        categorical: vec!["class".into()],
        impute: Some(Statistic::Mean),
        standardize: true,
        ..Options::new("passengers", "survived")
    }
}

fn penguins_options() -> Options {
    Options {
        features: train::Features::Exclude(vec!["year".into()]),
        impute: Some(Statistic::Median),
        standardize: true,
        ..Options::new("penguins", "species")
    }
}

#[test]
fn a_table_with_categories_and_gaps_trains_into_format_3_the_same_every_time() {
    let csv = passengers();
    let first = train::train_bytes(csv.as_bytes(), "passengers.csv", &passenger_options()).unwrap();
    let again = train::train_bytes(csv.as_bytes(), "passengers.csv", &passenger_options()).unwrap();
    assert_eq!(first.artifact, again.artifact, "training is deterministic");
    let artifact = Artifact::from_bytes(&first.artifact, "passengers.json").unwrap();
    assert_eq!(artifact.format_version(), 3);
    let columns = artifact.model().columns().unwrap();
    let described: Vec<(String, Value)> = columns
        .features()
        .iter()
        .map(|f| (f.name.clone(), json!(f.describe())))
        .collect();
    assert_eq!(described[1].1["categories"], json!(["female", "male"]));
    assert_eq!(described[1].1["nullable"], false, "sex never missing");
    assert_eq!(
        described[2].1["categories"],
        json!([1, 2, 3]),
        "integers, sorted"
    );
    assert_eq!(described[4].1["categories"], json!(["C", "Q", "S"]));
    assert_eq!(
        described[4].1["nullable"], true,
        "embarked was missing in training: its own category"
    );
    assert_eq!(described[0].1["nullable"], true, "age is imputed");
    assert_eq!(described[0].1["kind"], "numeric");
}

#[test]
fn a_numeric_table_without_gaps_is_still_format_2() {
    let csv = "a,b,label\n1,2,x\n2,1,y\n3,3,x\n4,0,y\n5,5,x\n6,1,y\n";
    let trained = train::train_bytes(csv.as_bytes(), "t.csv", &Options::new("t", "label")).unwrap();
    let artifact = Artifact::from_bytes(&trained.artifact, "t.json").unwrap();
    assert_eq!(artifact.format_version(), 2);
    assert!(artifact.model().columns().is_none());
}

#[test]
fn the_penguins_reference_is_what_train_makes_of_the_committed_data() {
    let data = fixtures().join("data/penguins.csv");
    let trained = train::train(&data, &penguins_options()).unwrap();
    let committed = std::fs::read(fixtures().join("models/penguins.json")).unwrap();
    assert!(
        trained.artifact == committed,
        "fixtures/models/penguins.json is stale: train --data fixtures/data/penguins.csv --target species --name penguins --exclude year --impute median --standardize --out fixtures/models/penguins.json"
    );
}

fn penguins_app() -> State {
    let artifact = Artifact::load(&fixtures().join("models/penguins.json")).unwrap();
    State::new(artifact, Limits::default(), SystemTime::now())
}

fn send(app: &State, path: &str, headers: &[(&str, String)], body: Vec<u8>) -> (u16, Vec<u8>) {
    let mut all: Vec<(String, String)> = headers
        .iter()
        .map(|(k, v)| ((*k).to_owned(), v.clone()))
        .collect();
    all.push(("Content-Length".into(), body.len().to_string()));
    let response = answer(app, &Request::fake_http("POST", path, all, body));
    let status = response.status_code;
    let (mut reader, _) = response.data.into_reader_and_size();
    let mut out = vec![];
    reader.read_to_end(&mut out).unwrap();
    (status, out)
}

fn post(app: &State, path: &str, body: &Value) -> (u16, Value) {
    let json = [("Content-Type", "application/json".to_owned())];
    let (status, out) = send(app, path, &json, body.to_string().into_bytes());
    (status, serde_json::from_slice(&out).unwrap())
}

/// Rows as clients write them: island, four measurements, sex; gaps as `null`.
fn rows() -> Vec<Value> {
    vec![
        json!(["Torgersen", 39.1, 18.7, 181, 3750, "female"]),
        json!(["Dream", null, 18.0, 190, 3700, null]),
        json!(["Biscoe", 50.0, 15.0, null, 5000, "male"]),
        json!(["Biscoe", null, null, null, null, null]),
    ]
}

/// The in-process answers' probability bits, from the same values checked by the model's own
/// features.
fn oracle(app: &State) -> Vec<Vec<u64>> {
    let model = app.artifact().model();
    let features = model.columns().unwrap().features();
    let cells: Vec<Cell> = rows()
        .iter()
        .flat_map(|row| {
            row.as_array()
                .unwrap()
                .iter()
                .zip(features)
                .map(|(v, f)| {
                    let value = match v {
                        Value::Null => In::Null,
                        Value::String(s) => In::Text(s),
                        v => In::Number(v.as_f64().unwrap()),
                    };
                    f.cell(value).unwrap()
                })
                .collect::<Vec<_>>()
        })
        .collect();
    model
        .predict_table(&Table::new(cells, features.len()))
        .unwrap()
        .iter()
        .map(|p| p.probabilities.iter().map(|v| v.to_bits()).collect())
        .collect()
}

fn bits(values: &Value) -> Vec<u64> {
    values
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_f64().unwrap().to_bits())
        .collect()
}

#[test]
fn every_api_answers_a_table_with_the_models_bits() {
    let app = penguins_app();
    let expected = oracle(&app);
    let classes = app.artifact().model().classes().to_vec();
    let names = [
        "island",
        "bill_length_mm",
        "bill_depth_mm",
        "flipper_length_mm",
        "body_mass_g",
        "sex",
    ];

    // /predict, rows as arrays and as objects.
    let objects: Vec<Value> = rows()
        .iter()
        .map(|r| {
            names
                .iter()
                .zip(r.as_array().unwrap())
                .map(|(n, v)| ((*n).to_owned(), v.clone()))
                .collect::<serde_json::Map<_, _>>()
                .into()
        })
        .collect();
    for instances in [rows(), objects] {
        let (status, body) = post(&app, "/predict", &json!({ "instances": instances }));
        assert_eq!(status, 200, "{body}");
        for (p, want) in body["predictions"]
            .as_array()
            .unwrap()
            .iter()
            .zip(&expected)
        {
            let got: Vec<u64> = classes
                .iter()
                .map(|c| p["probabilities"][c].as_f64().unwrap().to_bits())
                .collect();
            assert_eq!(&got, want);
        }
    }

    // KServe V1 with PREDICT_PROBA's rows is the same decoding; its labels must agree.
    let (status, body) = post(
        &app,
        "/v1/models/penguins:predict",
        &json!({ "instances": rows() }),
    );
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["predictions"].as_array().unwrap().len(), 4);

    // V2, one input per feature as MLServer's pandas codec sends them: BYTES for categories.
    let column = |j: usize| -> Vec<Value> { rows().iter().map(|r| r[j].clone()).collect() };
    let inputs: Vec<Value> = names
        .iter()
        .enumerate()
        .map(|(j, name)| {
            let datatype = if j == 0 || j == 5 { "BYTES" } else { "FP64" };
            json!({"name": name, "shape": [4, 1], "datatype": datatype, "data": column(j)})
        })
        .rev()
        .collect();
    let (status, body) = post(
        &app,
        "/v2/models/penguins/infer",
        &json!({ "inputs": inputs }),
    );
    assert_eq!(status, 200, "{body}");
    let probabilities = bits(&body["outputs"][1]["data"]);
    assert_eq!(probabilities, expected.concat());

    // V2 binary tensor data, as tritonclient sends it: BYTES as length-prefixed strings, a
    // missing number as NaN; probabilities back as raw FP64.
    let mut tensors = vec![];
    let mut header_inputs = vec![];
    for (j, name) in names.iter().enumerate() {
        let start = tensors.len();
        let datatype = if j == 0 || j == 5 {
            for v in column(j) {
                let s = v.as_str().unwrap_or("");
                if v.is_null() {
                    // A BYTES element cannot be null: send that column as JSON instead.
                    break;
                }
                tensors.extend_from_slice(&(s.len() as u32).to_le_bytes());
                tensors.extend_from_slice(s.as_bytes());
            }
            "BYTES"
        } else {
            for v in column(j) {
                tensors.extend_from_slice(&v.as_f64().unwrap_or(f64::NAN).to_le_bytes());
            }
            "FP64"
        };
        if j == 5 {
            tensors.truncate(start);
            header_inputs
                .push(json!({"name": name, "shape": [4], "datatype": datatype, "data": column(j)}));
        } else {
            header_inputs.push(json!({
                "name": name, "shape": [4], "datatype": datatype,
                "parameters": {"binary_data_size": tensors.len() - start},
            }));
        }
    }
    let header = json!({
        "inputs": header_inputs,
        "outputs": [{"name": "probabilities", "parameters": {"binary_data": true}}],
    })
    .to_string();
    let mut body = header.clone().into_bytes();
    body.extend_from_slice(&tensors);
    let (status, out) = send(
        &app,
        "/v2/models/penguins/infer",
        &[("Inference-Header-Content-Length", header.len().to_string())],
        body,
    );
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&out));
    let raw = &out[out.len() - 4 * classes.len() * 8..];
    let got: Vec<u64> = raw
        .chunks_exact(8)
        .map(|c| f64::from_le_bytes(c.try_into().unwrap()).to_bits())
        .collect();
    assert_eq!(got, expected.concat());
}

#[test]
fn a_value_that_does_not_fit_is_refused_naming_row_feature_and_value() {
    let app = penguins_app();
    let one = |row: Value| json!({ "instances": [["Dream", 40.0, 18.0, 190, 3700, "male"], row] });
    let cases = [
        (
            json!(["Mars", 40.0, 18.0, 190, 3700, "male"]),
            r#"row 1: feature "island": unknown category "Mars"; known: ["Biscoe", "Dream", "Torgersen"]"#,
        ),
        (
            json!([1, 40.0, 18.0, 190, 3700, "male"]),
            r#"row 1: feature "island": expected a category (a string), found 1"#,
        ),
        (
            json!(["Dream", "long", 18.0, 190, 3700, "male"]),
            r#"row 1: feature "bill_length_mm": expected a number, found "long""#,
        ),
        (
            json!([null, 40.0, 18.0, 190, 3700, "male"]),
            r#"row 1: feature "island": the value is missing (null), and this model has nothing to fill it with"#,
        ),
    ];
    for (row, message) in cases {
        let (status, body) = post(&app, "/predict", &one(row.clone()));
        assert_eq!((status, body["error"].as_str().unwrap()), (422, message));
        let (status, body) = post(&app, "/v1/models/penguins:predict", &one(row));
        assert_eq!((status, body["error"].as_str().unwrap()), (400, message));
    }
    let v2 = json!({"inputs": [
        {"name": "island", "shape": [1], "datatype": "BYTES", "data": ["Mars"]},
        {"name": "sex", "shape": [1], "datatype": "BYTES", "data": ["male"]},
        {"name": "bill_length_mm", "shape": [1], "datatype": "FP64", "data": [40.0]},
        {"name": "bill_depth_mm", "shape": [1], "datatype": "FP64", "data": [18.0]},
        {"name": "flipper_length_mm", "shape": [1], "datatype": "FP64", "data": [190]},
        {"name": "body_mass_g", "shape": [1], "datatype": "FP32", "data": [3700]},
    ]});
    let (status, body) = post(&app, "/v2/models/penguins/infer", &v2);
    assert_eq!(status, 400);
    assert!(
        body["error"]
            .as_str()
            .unwrap()
            .contains(r#"unknown category "Mars""#),
        "{body}"
    );
    let mut wrong = v2.clone();
    wrong["inputs"][0] = json!({"name": "island", "shape": [1], "datatype": "FP64", "data": [1.0]});
    let (status, body) = post(&app, "/v2/models/penguins/infer", &wrong);
    assert_eq!(status, 400);
    assert!(
        body["error"].as_str().unwrap().contains("use BYTES"),
        "{body}"
    );
}

#[test]
fn model_metadata_and_openapi_describe_each_feature() {
    let app = penguins_app();
    let get = |path: &str| {
        let response = answer(&app, &Request::fake_http("GET", path, vec![], vec![]));
        let (mut reader, _) = response.data.into_reader_and_size();
        let mut body = String::new();
        reader.read_to_string(&mut body).unwrap();
        serde_json::from_str::<Value>(&body).unwrap()
    };
    let model = get("/model");
    assert_eq!(
        model["inputs"][0],
        json!({"name": "island", "kind": "categorical", "categories": ["Biscoe", "Dream", "Torgersen"], "nullable": false, "unknown": "error"})
    );
    assert_eq!(
        model["inputs"][5],
        json!({"name": "sex", "kind": "categorical", "categories": ["female", "male"], "nullable": true, "unknown": "error"})
    );
    let metadata = get("/v2/models/penguins");
    assert_eq!(
        metadata["inputs"][0],
        json!({"name": "island", "datatype": "BYTES", "shape": [-1]})
    );
    assert_eq!(metadata["inputs"][1]["datatype"], "FP64");
    let openapi = get("/openapi.json");
    assert_eq!(openapi["openapi"], "3.1.0");
    let rows = &openapi["components"]["schemas"]["Rows"]["items"]["oneOf"];
    let sex = &rows[1]["properties"]["sex"];
    assert_eq!(sex["enum"], json!(["female", "male", null]));
    assert_eq!(
        rows[1]["properties"]["bill_length_mm"]["type"],
        json!(["number", "null"])
    );
    // An array row is typed position by position.
    assert_eq!(
        rows[0]["prefixItems"][0]["enum"],
        json!(["Biscoe", "Dream", "Torgersen"])
    );
    assert_eq!(rows[0]["prefixItems"][5], *sex);
    let inputs = &openapi["components"]["schemas"]["V2InferRequest"]["properties"]["inputs"];
    assert_eq!(
        inputs["prefixItems"][0]["properties"]["datatype"]["const"],
        "BYTES"
    );
    assert_eq!(inputs["minItems"], 6);
}

/// Under `--unknown ignore`, every API takes a category training never saw, and `/metrics`
/// counts it per feature: the first sign that production data has drifted from training.
#[test]
fn unknown_categories_ignored_are_counted_per_feature() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("passengers.csv");
    std::fs::write(&data, passengers()).unwrap();
    let options = Options {
        unknown: server::inputs::Unknown::Ignore,
        ..passenger_options()
    };
    let trained = train::train(&data, &options).unwrap();
    let artifact = Artifact::from_bytes(&trained.artifact, "passengers").unwrap();
    let app = State::new(artifact, Limits::default(), SystemTime::now());
    let metrics = |app: &State| {
        let response = answer(app, &Request::fake_http("GET", "/metrics", vec![], vec![]));
        let (mut reader, _) = response.data.into_reader_and_size();
        let mut text = String::new();
        reader.read_to_string(&mut text).unwrap();
        text
    };
    let count = |text: &str, feature: &str| {
        let series = format!("unknown_categories_total{{feature=\"{feature}\"}} ");
        text.lines()
            .find_map(|l| l.strip_prefix(&series))
            .map(|v| v.parse::<u64>().unwrap())
    };
    let before = metrics(&app);
    assert_eq!(count(&before, "sex"), Some(0), "{before}");
    assert_eq!(
        count(&before, "age"),
        None,
        "a numeric feature has no series"
    );

    let (status, _) = post(
        &app,
        "/predict",
        &json!({"instances": [
            {"age": 30, "sex": "unknown", "class": 9, "fare": 10.0, "embarked": "X"},
            {"age": 30, "sex": "male", "class": 1, "fare": 10.0, "embarked": "S"},
        ]}),
    );
    assert_eq!(status, 200);
    let (status, _) = post(
        &app,
        "/v2/models/passengers/infer",
        &json!({"inputs": [
            {"name": "age", "shape": [1], "datatype": "FP64", "data": [30]},
            {"name": "sex", "shape": [1], "datatype": "BYTES", "data": ["other"]},
            {"name": "class", "shape": [1], "datatype": "INT64", "data": [2]},
            {"name": "fare", "shape": [1], "datatype": "FP64", "data": [10.0]},
            {"name": "embarked", "shape": [1], "datatype": "BYTES", "data": ["S"]},
        ]}),
    );
    assert_eq!(status, 200);
    let after = metrics(&app);
    assert_eq!(count(&after, "sex"), Some(2), "{after}");
    assert_eq!(count(&after, "class"), Some(1), "{after}");
    assert_eq!(count(&after, "embarked"), Some(1), "{after}");
}

/// NaN is how numpy and pandas hold a gap, and what their clients send for one (tritonclient's
/// JSON, MLServer's pandas codec): where a feature takes a gap, NaN is one, on every API;
/// infinity is still refused.
#[test]
fn nan_is_a_gap_where_a_feature_takes_one() {
    let app = penguins_app();
    let json = [("Content-Type", "application/json".to_owned())];
    let predict = |row: &str| {
        let body = format!(r#"{{"instances": [{row}]}}"#);
        let (status, out) = send(&app, "/predict", &json, body.into_bytes());
        (status, String::from_utf8(out).unwrap())
    };
    let gap = predict(r#"["Dream", null, 17.5, 190, 3700, "female"]"#);
    assert_eq!(gap.0, 200, "{}", gap.1);
    assert_eq!(predict(r#"["Dream", NaN, 17.5, 190, 3700, "female"]"#), gap);
    let infinite = predict(r#"["Dream", Infinity, 17.5, 190, 3700, "female"]"#);
    assert_eq!(infinite.0, 422, "{}", infinite.1);
    let v2 = |bill: &str| {
        let body = format!(
            r#"{{"inputs": [
                {{"name": "island", "shape": [1], "datatype": "BYTES", "data": ["Dream"]}},
                {{"name": "bill_length_mm", "shape": [1], "datatype": "FP64", "data": [{bill}]}},
                {{"name": "bill_depth_mm", "shape": [1], "datatype": "FP64", "data": [17.5]}},
                {{"name": "flipper_length_mm", "shape": [1], "datatype": "FP64", "data": [190]}},
                {{"name": "body_mass_g", "shape": [1], "datatype": "FP64", "data": [3700]}},
                {{"name": "sex", "shape": [1], "datatype": "BYTES", "data": ["female"]}}]}}"#
        );
        let (status, out) = send(&app, "/v2/models/penguins/infer", &json, body.into_bytes());
        (status, String::from_utf8(out).unwrap())
    };
    assert_eq!(v2("NaN"), v2("null"));
    assert_eq!(v2("null").0, 200);
}

/// A column every transformer of a scikit-learn `ColumnTransformer` drops (the penguins'
/// `year`, left to `remainder="drop"`) is optional: a request may leave it out, on every API,
/// and `GET /model` says so.
#[test]
fn a_feature_the_model_drops_may_be_left_out() {
    let file = "table-penguins-median-onehot-3.export.json";
    let bytes = std::fs::read(fixtures().join("sklearn/kinds").join(file)).unwrap();
    let options = server::import::ImportOptions {
        name: "penguins-sklearn".into(),
        version: "1.0.0".into(),
        class_names: None,
    };
    let imported = server::import::import(&bytes, file, &options).unwrap();
    let app = State::new(imported.loaded, Limits::default(), SystemTime::now());
    let row = json!({"island": "Dream", "sex": null, "bill_length_mm": 46.5,
                     "bill_depth_mm": 17.9, "flipper_length_mm": 192, "body_mass_g": 3500});
    let mut with_year = row.clone();
    with_year["year"] = json!(2008);
    let (status, without) = post(&app, "/predict", &json!({"instances": [row]}));
    assert_eq!(status, 200, "{without}");
    let (_, with) = post(&app, "/predict", &json!({"instances": [with_year]}));
    assert_eq!(with, without, "the dropped column changes nothing");
    let mut inputs: Vec<Value> = ["island", "sex"]
        .iter()
        .map(|f| json!({"name": f, "shape": [1], "datatype": "BYTES", "data": [row[f]]}))
        .collect();
    for f in [
        "bill_length_mm",
        "bill_depth_mm",
        "flipper_length_mm",
        "body_mass_g",
    ] {
        inputs.push(json!({"name": f, "shape": [1], "datatype": "FP64", "data": [row[f]]}));
    }
    let (status, answer) = post(
        &app,
        "/v2/models/penguins-sklearn/infer",
        &json!({"inputs": inputs}),
    );
    assert_eq!(status, 200, "{answer}");
    assert_eq!(
        answer["outputs"][1]["data"],
        json!(
            without["predictions"][0]["probabilities"]
                .as_object()
                .unwrap()
                .values()
                .collect::<Vec<_>>()
        )
    );
    let (status, refused) = post(
        &app,
        "/predict",
        &json!({"instances": [{"island": "Dream", "year": 2008}]}),
    );
    assert_eq!(status, 422);
    assert_eq!(
        refused["error"],
        "row 0: missing feature \"bill_length_mm\""
    );
    let response = answer_model(&app);
    assert_eq!(response["inputs"][6]["name"], "year");
    assert_eq!(response["inputs"][6]["optional"], true);
    assert!(response["inputs"][0].get("optional").is_none());
}

fn answer_model(app: &State) -> Value {
    let response = answer(app, &Request::fake_http("GET", "/model", vec![], vec![]));
    let (mut reader, _) = response.data.into_reader_and_size();
    let mut body = String::new();
    reader.read_to_string(&mut body).unwrap();
    serde_json::from_str(&body).unwrap()
}

/// Integer categories with a gap travel as a float column with NaN (pandas' dtype for them):
/// NaN is then the missing value, in JSON as in binary data.
#[test]
fn nan_in_integer_categories_is_their_gap() {
    let file = "table-tenants-categories-binary.export.json";
    let bytes = std::fs::read(fixtures().join("sklearn/kinds").join(file)).unwrap();
    let options = server::import::ImportOptions {
        name: "tenants".into(),
        version: "1.0.0".into(),
        class_names: None,
    };
    let imported = server::import::import(&bytes, file, &options).unwrap();
    let app = State::new(imported.loaded, Limits::default(), SystemTime::now());
    let json = [("Content-Type", "application/json".to_owned())];
    let predict = |region: &str, rooms: &str| {
        let body =
            format!(r#"{{"instances": [["plus", true, {rooms}, {region}, 80.5, 40, null]]}}"#);
        let (status, out) = send(&app, "/predict", &json, body.into_bytes());
        (status, String::from_utf8(out).unwrap())
    };
    let gap = predict("null", "3");
    assert_eq!(gap.0, 200, "{}", gap.1);
    assert_eq!(predict("NaN", "3"), gap);
    // rooms ignores what it has not seen, a gap included: NaN is that gap.
    assert_eq!(predict("2", "NaN"), predict("2", "null"));
    assert_eq!(predict("2", "NaN").0, 200);
}
