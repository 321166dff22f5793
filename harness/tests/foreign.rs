//! Servers that are not this project's, read as they answer: a V2 server whose probability
//! columns come in another class order than the artifact's (the order learnt from its labels,
//! or given), one whose labels fit no order, and KServe V1 through this project's V1 route.

use std::path::PathBuf;
use std::time::SystemTime;

use harness::classes::Found;
use harness::diff::{self, Options, Spec};
use harness::fixtures::{Fixtures, repository_root};
use harness::protocol::{Protocol, V1Output};
use harness::suite::{self, Options as SuiteOptions, Target};
use serde_json::{Value, json};
use server::Artifact;
use server::contract::Config;
use server::contract::fixtures::checked;
use server::http::Service;
use server::inputs::Datum;

fn model(name: &str) -> PathBuf {
    repository_root().join(format!("fixtures/models/{name}.json"))
}

/// How a foreign server labels a row, given its probabilities in the artifact's order.
type Labeller = fn(&[f64], &[String]) -> String;

/// The most probable class: what a consistent server answers.
fn most_probable(p: &[f64], classes: &[String]) -> String {
    let best = (0..p.len()).fold(0, |b, k| if p[k] > p[b] { k } else { b });
    classes[best].clone()
}

/// A V2 server answering as `artifact` with its probability columns in `columns` order (the
/// artifact's class indices) and labels from `label`; numeric models only, one `[N, F]` input.
fn foreign_v2(
    artifact: &Artifact,
    columns: Vec<usize>,
    label: Labeller,
) -> (String, std::thread::JoinHandle<()>) {
    let artifact = artifact.clone();
    let server = rouille::Server::new("127.0.0.1:0", move |request| {
        if !request.url().ends_with("/infer") {
            return rouille::Response::json(&json!({"ready": true}));
        }
        let body: Value = match rouille::input::json_input(request) {
            Ok(body) => body,
            Err(e) => return rouille::Response::text(e.to_string()).with_status_code(400),
        };
        let data: Vec<f64> = body["inputs"][0]["data"]
            .as_array()
            .map(|d| d.iter().filter_map(Value::as_f64).collect())
            .unwrap_or_default();
        let model = artifact.model();
        let width = model.features().len();
        let rows: Vec<Vec<Datum>> = data
            .chunks(width)
            .map(|r| r.iter().map(|v| Datum::Number(*v)).collect())
            .collect();
        let predictions = model
            .predict_batch(&checked(model, &rows).unwrap())
            .unwrap();
        let classes = model.classes();
        let labels: Vec<String> = predictions
            .iter()
            .map(|p| label(&p.probabilities, classes))
            .collect();
        let probabilities: Vec<f64> = predictions
            .iter()
            .flat_map(|p| columns.iter().map(|&k| p.probabilities[k]))
            .collect();
        rouille::Response::json(&json!({
            "model_name": artifact.name(),
            "outputs": [
                {"name": "label", "datatype": "BYTES", "shape": [rows.len()], "data": labels},
                {"name": "probabilities", "datatype": "FP64",
                 "shape": [rows.len(), classes.len()], "data": probabilities},
            ]
        }))
    })
    .unwrap();
    let url = format!("http://{}", server.server_addr());
    // Dropping the sender does not stop it: it serves until the test binary exits.
    let (handle, _) = server.stoppable();
    (url, handle)
}

fn v2() -> Options {
    Options {
        protocol: Protocol::V2,
        ..Options::default()
    }
}

/// The artifact lists `["good", "bad"]`; the server answers `["bad", "good"]`, as
/// scikit-learn orders them. Read in the server's order, every row agrees to the bit.
#[test]
fn a_v2_server_in_another_class_order_is_read_in_the_order_its_labels_show() {
    let artifact = Artifact::load(&model("wine-quality")).unwrap();
    let (url, _server) = foreign_v2(&artifact, vec![1, 0], most_probable);
    let report = diff::run(
        &Spec::Url(url.clone()),
        &Spec::Artifact(model("wine-quality")),
        &v2(),
    )
    .unwrap();
    assert!(report.within(), "{}", report.table());
    assert_eq!(report.identical, report.values);
    let order = report.from_order.as_ref().unwrap();
    assert_eq!(order.classes, ["bad", "good"]);
    assert_eq!(order.found, Found::Labels);
    assert!(report.table().contains("learnt from the labels"));

    // Told the artifact's order, the harness believes it: every row's label contradicts its
    // probabilities as read, and the report counts them.
    let mut told = v2();
    told.foreign.classes = Some(vec!["good".into(), "bad".into()]);
    let report = diff::run(
        &Spec::Url(url),
        &Spec::Artifact(model("wine-quality")),
        &told,
    )
    .unwrap();
    let order = report.from_order.as_ref().unwrap();
    assert_eq!(order.found, Found::Given);
    assert!(order.rows > 0);
    assert_eq!(order.label_mismatches, order.rows);
    assert!(!report.within());
}

#[test]
fn a_v2_server_whose_labels_fit_no_order_is_refused_in_one_line() {
    let artifact = Artifact::load(&model("iris")).unwrap();
    let first: Labeller = |_, classes| classes[0].clone();
    let (url, _server) = foreign_v2(&artifact, vec![0, 1, 2], first);
    let error = diff::run(&Spec::Url(url), &Spec::Artifact(model("iris")), &v2())
        .unwrap_err()
        .to_string();
    assert!(error.contains("fit no class order"), "{error}");
    assert!(error.contains("--classes"), "{error}");
    assert!(!error.contains('\n'), "{error}");
}

/// `check --protocol v2` learns the order too, and the statement's run records it.
#[test]
fn check_learns_the_class_order_and_records_it() {
    let artifact = Artifact::load(&model("iris")).unwrap();
    let (url, _server) = foreign_v2(&artifact, vec![2, 0, 1], most_probable);
    let fixtures = Fixtures::for_artifact(&repository_root(), &model("iris"), None).unwrap();
    let options = SuiteOptions {
        protocol: Protocol::V2,
        ..SuiteOptions::default()
    };
    let run = suite::run(&fixtures, &Target::Url(url), &options).unwrap();
    let parity = run
        .checks
        .iter()
        .find(|c| c.name.starts_with("parity"))
        .unwrap();
    assert_eq!(parity.status, harness::checks::Status::Pass, "{parity:#?}");
    let order = run.class_order.unwrap();
    assert_eq!(order.classes, ["virginica", "setosa", "versicolor"]);
    assert_eq!(order.found, Found::Labels);
}

/// This project's KServe V1 route, as `check --protocol v1` and `diff --protocol v1` see it:
/// labels, and with `PREDICT_PROBA` rows of probabilities.
#[test]
fn the_v1_route_passes_check_and_diff_in_both_modes() {
    let reference = model("wine-quality-sklearn");
    let artifact = Artifact::load(&reference).unwrap();
    let fixtures = Fixtures::for_artifact(&repository_root(), &reference, None).unwrap();
    for (proba, output) in [(false, V1Output::Labels), (true, V1Output::Probabilities)] {
        let config = Config {
            host: [127, 0, 0, 1].into(),
            port: 0,
            predict_proba: proba,
            ..Config::default()
        };
        let service = Service::launch(&config, artifact.clone(), SystemTime::now()).unwrap();
        let url = format!("http://{}", service.addr());
        let mut options = SuiteOptions {
            protocol: Protocol::V1,
            ..SuiteOptions::default()
        };
        options.foreign.v1_output = output;
        let run = suite::run(&fixtures, &Target::Url(url.clone()), &options).unwrap();
        crate::util::assert_passed(&run.checks, "v1 ");
        crate::util::assert_passed(&run.checks, "parity: V1");
        assert!(
            run.checks
                .iter()
                .filter(|c| c.name.starts_with("v2 "))
                .all(|c| c.status == harness::checks::Status::NotRun)
        );
        let mut diff_options = Options {
            protocol: Protocol::V1,
            ..Options::default()
        };
        diff_options.foreign.v1_output = output;
        let report = diff::run(
            &Spec::Url(url),
            &Spec::Artifact(reference.clone()),
            &diff_options,
        )
        .unwrap();
        assert!(report.within(), "{}", report.table());
        assert_eq!(report.label_changes, 0);
        // Probabilities are compared only where the server answers them.
        assert_eq!(report.values > 0, proba, "{}", report.table());
        assert_eq!(report.identical, report.values);
    }
}

/// A side that refuses every row (here: a model name the server does not serve) stops the diff
/// in one line with the first refusal, rather than reporting every row as changed.
#[test]
fn a_side_that_refuses_every_row_stops_the_diff_in_one_line() {
    let artifact = Artifact::load(&model("iris")).unwrap();
    let config = Config {
        host: [127, 0, 0, 1].into(),
        port: 0,
        ..Config::default()
    };
    let service = Service::launch(&config, artifact, SystemTime::now()).unwrap();
    let mut options = v2();
    options.foreign.model_name = Some("no-such-model".into());
    let error = diff::run(
        &Spec::Url(format!("http://{}", service.addr())),
        &Spec::Artifact(model("iris")),
        &options,
    )
    .unwrap_err()
    .to_string();
    assert!(error.contains("refused every row"), "{error}");
    assert!(error.contains("404"), "{error}");
    assert!(!error.contains('\n'), "{error}");
}
