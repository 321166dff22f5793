//! `harness bench`: figures, not verdicts. Cold start against a bare container start, the
//! throughput and latency of `/predict` and V2 infer next to `/health` (the HTTP floor) and to
//! the in-process model, image size, and memory idle and under load, with the CPU the load
//! generator and the server each used, so a reader can tell which one was the limit.

pub mod loadgen;
pub mod measure;
pub mod procstat;
pub mod report;
pub mod transports;

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use server::Artifact;
use server::contract::routes::PREDICT;
use server::contract::v2::{INPUT, LABEL, PROBABILITIES};

use crate::bench::measure::{Configuration, Server};
use crate::checks::cold_start;
use crate::client::{free_port, infer_binary_body, infer_body, infer_path, predict_body};
use crate::container::{self, Launch};
use crate::docker::Docker;
use crate::error::HarnessError;
use crate::fixtures::{Fixtures, Reference};
use crate::report::Machine;
use crate::rows::{Row, Schema};
use crate::stats::quantile;

pub use report::{BenchReport, ColdStartFigures, InProcess, LoadFigures, Memory, update_doc};

/// What to measure.
#[derive(Debug, Clone, PartialEq)]
pub struct Options {
    pub cold_starts: usize,
    pub concurrency: Vec<usize>,
    /// Rows per request for the prediction routes.
    pub batches: Vec<usize>,
    pub warmup: Duration,
    /// Recorded time per repetition.
    pub duration: Duration,
    /// Repetitions of each configuration; the report gives the median and the spread.
    pub repetitions: usize,
    /// Server binaries compared on loopback, beside nginx when it is installed: this one
    /// first, then a baseline (e.g. built from an earlier commit). Empty: no comparison.
    pub servers: Vec<transports::Contender>,
    /// Connections for the comparison.
    pub transport_concurrency: Vec<usize>,
}

impl Default for Options {
    fn default() -> Options {
        Options {
            cold_starts: 20,
            concurrency: vec![1, 4, 32],
            batches: vec![1, 100],
            warmup: Duration::from_millis(300),
            duration: Duration::from_millis(1500),
            repetitions: 3,
            servers: vec![],
            transport_concurrency: vec![1, 16],
        }
    }
}

const METHOD: &str = "Closed-loop load over keep-alive connections from the harness process, \
multiplexed on one event loop per core; \
the container shares the host network (no userland proxy), as in a Kubernetes pod. \
Each configuration is warmed up, then recorded three times; throughput is the median with \
the lowest and highest, latency percentiles are over every recorded request. CPU is from \
/proc: the server's process seen from the host, and the generator's own process.";

/// Runs every measurement against `reference`.
pub fn run(
    fixtures: &Fixtures,
    docker: &Docker,
    reference: &str,
    options: &Options,
) -> Result<BenchReport, HarnessError> {
    let image_bytes = docker
        .inspect_image(reference)?
        .and_then(|i| i.size)
        .unwrap_or_default();
    let cold_start = cold_start_figures(reference, options)?;
    let (mut in_process, mut load, mut memory) = (vec![], vec![], vec![]);
    let default_model = fixtures.default_model()?.oracle.name();
    for (model, fixture) in &fixtures.references {
        let measured = measure_model(docker, reference, fixture, model != default_model, options)?;
        in_process.extend(measured.in_process);
        load.extend(measured.load);
        memory.push(measured.memory);
    }
    let transports = if options.servers.is_empty() {
        None
    } else {
        Some(compare_servers(fixtures.default_model()?, options)?)
    };
    Ok(BenchReport {
        date: crate::report::now(),
        machine: Machine::detect(),
        image: reference.to_owned(),
        image_mb: image_bytes as f64 / 1e6,
        repetitions: options.repetitions,
        cold_start,
        in_process,
        load,
        memory,
        transports,
        method: METHOD.into(),
    })
}

fn cold_start_figures(
    reference: &str,
    options: &Options,
) -> Result<ColdStartFigures, HarnessError> {
    eprintln!("bench: cold start, {} starts", options.cold_starts);
    let cold = cold_start::measure(
        reference,
        &crate::profile::Profile::default(),
        options.cold_starts,
    )?;
    Ok(ColdStartFigures {
        starts: options.cold_starts,
        ready_p50: cold.p50_ready(),
        ready_p95: cold.p95_ready(),
        ready_min: quantile(&cold.ready_ms, 0.0).unwrap_or(f64::NAN),
        ready_max: quantile(&cold.ready_ms, 1.0).unwrap_or(f64::NAN),
        bare_p50: cold.p50_bare(),
        bare_p95: cold.p95_bare(),
        ratio_to_bare: cold.p50_ready() / cold.p50_bare(),
        server_startup_p50: cold.p50_server(),
        samples: cold,
    })
}

/// One model's figures: in process, under load in its container, and its memory.
struct ModelFigures {
    in_process: Vec<InProcess>,
    load: Vec<LoadFigures>,
    memory: Memory,
}

/// Starts `reference` serving `fixture` (mounted unless it is the image's own model) and
/// loads it with every endpoint, batch and concurrency.
fn measure_model(
    docker: &Docker,
    reference: &str,
    fixture: &Reference,
    mounted: bool,
    options: &Options,
) -> Result<ModelFigures, HarnessError> {
    let oracle = &fixture.oracle;
    let model = oracle.name();
    let rows = sample_rows(fixture, options.batches.iter().copied().max().unwrap_or(1))?;
    let in_process = options
        .batches
        .iter()
        .map(|&batch| InProcess {
            model: model.into(),
            rows: batch,
            predict_us_p50: time_in_process(oracle, &rows[..batch]),
        })
        .collect();

    let port = free_port()?;
    let mut launch = Launch {
        host_port: Some(port),
        ..Launch::default()
    };
    if mounted {
        launch = launch
            .with_artifact(&format!("{model}.json"), fixture.bytes.clone())
            .ok_or_else(|| HarnessError::Usage {
                problem: "this image's profile takes no other artifact".into(),
            })?;
    }
    let running = container::start(reference, &launch)?;
    let pid = docker
        .inspect_container(running.container.id())?
        .state
        .and_then(|s| s.pid)
        .map(|p| p.to_string())
        .ok_or_else(|| HarnessError::NotReady {
            image: reference.to_owned(),
            why: "Docker reports no PID for the running container".into(),
            exit_code: None,
            stderr: String::new(),
            stdout: String::new(),
        })?;
    // Idle memory is read once the process has settled after its first answers.
    std::thread::sleep(Duration::from_millis(300));
    let idle_kb = procstat::memory_kb(&pid, "VmRSS").unwrap_or_default();

    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let server = Server { addr, pid: &pid };
    let mut load = vec![];
    let mut floors: Vec<(usize, f64)> = vec![];
    for (endpoint, batch, request) in &requests(oracle, &rows, &options.batches) {
        for &concurrency in &options.concurrency {
            eprintln!("bench: {model} {endpoint} rows={batch} concurrency={concurrency}");
            let config = Configuration {
                model,
                endpoint,
                rows: *batch,
                concurrency,
                request,
            };
            let figures = measure::load(&config, server, options);
            if endpoint == "/health" {
                floors.push((concurrency, figures.requests_per_s));
            }
            let floor = floors
                .iter()
                .find(|(c, _)| *c == concurrency)
                .map(|(_, f)| *f);
            load.push(LoadFigures {
                share_of_floor: floor
                    .filter(|_| endpoint != "/health")
                    .map(|f| figures.requests_per_s / f),
                ..figures
            });
        }
    }
    let peak_kb = procstat::memory_kb(&pid, "VmHWM").unwrap_or_default();
    Ok(ModelFigures {
        in_process,
        load,
        memory: Memory {
            model: model.into(),
            idle_rss_mib: idle_kb as f64 / 1024.0,
            peak_rss_mib: peak_kb as f64 / 1024.0,
        },
    })
}

/// `/health` (the floor), then `/predict` and V2 infer for each batch size: endpoint, rows
/// and the request's bytes.
fn requests(oracle: &Artifact, rows: &[Row], batches: &[usize]) -> Vec<(String, usize, Vec<u8>)> {
    let schema = Schema::of(oracle);
    let mut requests = vec![("/health".into(), 0, loadgen::get("/health"))];
    for &batch in batches {
        let instances = &rows[..batch];
        let seed = predict_body(instances).to_string();
        requests.push((PREDICT.into(), batch, loadgen::post(PREDICT, &seed)));
        let tensor = infer_body(instances, &schema, None).to_string();
        requests.push((
            "v2 infer".into(),
            batch,
            loadgen::post(&infer_path(oracle.name()), &tensor),
        ));
    }
    requests
}

/// The server binaries side by side on loopback, with nginx as the floor when installed.
fn compare_servers(
    fixture: &Reference,
    options: &Options,
) -> Result<transports::Comparison, HarnessError> {
    let rows = sample_rows(fixture, 100)?;
    let mut workloads = vec![transports::Workload {
        endpoint: "/health".into(),
        rows: 0,
        request: loadgen::get("/health"),
    }];
    for batch in [1, 100] {
        workloads.push(transports::Workload {
            endpoint: PREDICT.into(),
            rows: batch,
            request: loadgen::post(PREDICT, &predict_body(&rows[..batch]).to_string()),
        });
    }
    let oracle = &fixture.oracle;
    let infer = infer_path(oracle.name());
    let schema = Schema::of(oracle);
    workloads.push(transports::Workload {
        endpoint: "V2 infer".into(),
        rows: 100,
        request: loadgen::post(&infer, &infer_body(&rows, &schema, None).to_string()),
    });
    // The same rows as binary tensor data, in and out: raw IEEE bytes, no decimal text.
    let (header, tensors) = infer_binary_body(&rows, &schema, INPUT, &[LABEL, PROBABILITIES]);
    workloads.push(transports::Workload {
        endpoint: "V2 infer, binary".into(),
        rows: 100,
        request: loadgen::post_binary(&infer, &header.to_string(), &tensors),
    });
    let mut contenders = options.servers.clone();
    contenders.extend(transports::nginx());
    transports::run(
        &contenders,
        &workloads,
        &options.transport_concurrency,
        options,
    )
}

/// Realistic rows: the golden held-out rows, repeated up to `n`.
fn sample_rows(reference: &Reference, n: usize) -> Result<Vec<Row>, HarnessError> {
    let golden = &reference.golden;
    let pool: Vec<Row> = golden
        .cases
        .iter()
        .find(|c| c.name == "held-out rows")
        .or(golden.cases.first())
        .map(|c| c.instances.clone())
        .unwrap_or_default();
    if pool.is_empty() {
        return Err(HarnessError::MissingFixture {
            what: "golden rows",
            model: golden.model.clone(),
        });
    }
    Ok(pool.iter().cycle().take(n).cloned().collect())
}

/// Median time of `Model::predict_batch` on `rows`, in microseconds.
fn time_in_process(oracle: &Artifact, rows: &[Row]) -> f64 {
    let model = oracle.model();
    let Ok(checked) = server::contract::fixtures::checked(model, rows) else {
        return f64::NAN;
    };
    let mut samples = Vec::with_capacity(2000);
    for _ in 0..2000 {
        let started = Instant::now();
        let predictions = model.predict_batch(&checked);
        samples.push(started.elapsed().as_secs_f64() * 1e6);
        std::hint::black_box(predictions).ok();
    }
    quantile(&samples, 0.5).unwrap_or(f64::NAN)
}
