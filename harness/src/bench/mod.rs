//! `harness bench`: figures, not verdicts. Cold start against a bare container start, the
//! throughput and latency of `/predict` and V2 infer next to `/health` (the HTTP floor) and to
//! the in-process model, image size, and memory idle and under load, with the CPU the load
//! generator and the server each used, so a reader can tell which one was the limit.

pub mod loadgen;
pub mod procstat;

use std::net::{SocketAddr, TcpListener};
use std::path::Path;
use std::time::{Duration, Instant};

use serde::Serialize;
use serde_json::json;
use server::{Artifact, Rows};

use crate::checks::cold_start::{self, ColdStarts};
use crate::container::{self, Launch};
use crate::docker::Docker;
use crate::error::HarnessError;
use crate::fixtures;
use crate::report::Machine;
use crate::stats::quantile;

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
        }
    }
}

/// Cold start summary, in milliseconds.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ColdStartFigures {
    pub starts: usize,
    pub ready_p50: f64,
    pub ready_p95: f64,
    pub ready_min: f64,
    pub ready_max: f64,
    pub bare_p50: f64,
    pub bare_p95: f64,
    /// Ready p50 over bare p50.
    pub ratio_to_bare: f64,
    /// The server's own start-up (process start to listening), from its log line.
    pub server_startup_p50: f64,
    pub samples: ColdStarts,
}

/// In-process prediction time, the floor under any HTTP answer.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct InProcess {
    pub model: String,
    pub rows: usize,
    /// Median time of one `Model::predict` call, in microseconds.
    pub predict_us_p50: f64,
}

/// One load configuration's figures.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LoadFigures {
    pub model: String,
    /// `/health`, `/predict` or `v2 infer`.
    pub endpoint: String,
    /// Rows per request; 0 for `/health`.
    pub rows: usize,
    pub concurrency: usize,
    /// Median over repetitions, and the lowest and highest.
    pub requests_per_s: f64,
    pub requests_per_s_min: f64,
    pub requests_per_s_max: f64,
    pub rows_per_s: f64,
    /// Latency over all recorded requests of all repetitions, in microseconds.
    pub p50_us: f64,
    pub p99_us: f64,
    pub errors: u64,
    /// CPU used during the runs, in percent of one core.
    pub server_cpu_pct: f64,
    pub generator_cpu_pct: f64,
    /// All cores together, so the rest (Docker's log pipeline, the kernel) shows too.
    pub machine_cpu_pct: f64,
    /// Throughput as a share of `/health` at the same concurrency.
    pub share_of_floor: Option<f64>,
}

/// Memory of the server process, in MiB.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Memory {
    pub model: String,
    pub idle_rss_mib: f64,
    pub peak_rss_mib: f64,
}

/// Everything `bench` measured.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BenchReport {
    pub date: String,
    pub machine: Machine,
    pub image: String,
    pub image_mb: f64,
    pub cold_start: ColdStartFigures,
    pub in_process: Vec<InProcess>,
    pub load: Vec<LoadFigures>,
    pub memory: Vec<Memory>,
    pub method: String,
}

const METHOD: &str = "Closed-loop load over keep-alive connections from the harness process; \
the container shares the host network (no userland proxy), as in a Kubernetes pod. \
Each configuration is warmed up, then recorded three times; throughput is the median with \
the lowest and highest, latency percentiles are over every recorded request. CPU is from \
/proc: the server's process seen from the host, and the generator's own process.";

/// Runs every measurement against `reference`.
pub fn run(
    root: &Path,
    docker: &Docker,
    reference: &str,
    options: &Options,
) -> Result<BenchReport, HarnessError> {
    let image_bytes = docker
        .inspect_image(reference)?
        .and_then(|i| i.size)
        .unwrap_or_default();
    eprintln!("bench: cold start, {} starts", options.cold_starts);
    let cold = cold_start::measure(reference, options.cold_starts)?;
    let cold_start = ColdStartFigures {
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
    };

    let mut in_process = vec![];
    let mut load = vec![];
    let mut memory = vec![];
    for model in ["wine-quality", "iris"] {
        let oracle = fixtures::artifact(root, model)?;
        let rows = sample_rows(
            root,
            &oracle,
            options.batches.iter().copied().max().unwrap_or(1),
        )?;
        for &batch in &options.batches {
            in_process.push(InProcess {
                model: model.into(),
                rows: batch,
                predict_us_p50: time_in_process(&oracle, &rows[..batch]),
            });
        }

        let port = free_port()?;
        let mut launch = Launch {
            host_port: Some(port),
            ..Launch::default()
        };
        if model != "wine-quality" {
            launch = launch.with_artifact(
                &format!("{model}.json"),
                fixtures::artifact_bytes(root, model)?,
            );
        }
        let running = container::start(reference, &launch)?;
        let pid = docker
            .inspect_container(running.container.id())?
            .state
            .and_then(|s| s.pid)
            .map(|p| p.to_string())
            .ok_or_else(|| HarnessError::docker("inspect container", "no PID"))?;
        std::thread::sleep(Duration::from_millis(300));
        let idle_kb = procstat::memory_kb(&pid, "VmRSS").unwrap_or_default();

        let addr = SocketAddr::from(([127, 0, 0, 1], port));
        let mut requests: Vec<(String, usize, Vec<u8>)> =
            vec![("/health".into(), 0, loadgen::get("/health"))];
        for &batch in &options.batches {
            let instances = &rows[..batch];
            let seed = json!({"instances": instances}).to_string();
            requests.push(("/predict".into(), batch, loadgen::post("/predict", &seed)));
            let width = oracle.model().features().len();
            let tensor = json!({"inputs": [{"name": "input", "shape": [batch, width], "datatype": "FP64", "data": instances}]}).to_string();
            requests.push((
                "v2 infer".into(),
                batch,
                loadgen::post(&format!("/v2/models/{model}/infer"), &tensor),
            ));
        }
        let mut floors: Vec<(usize, f64)> = vec![];
        for (endpoint, batch, request) in &requests {
            for &concurrency in &options.concurrency {
                eprintln!("bench: {model} {endpoint} rows={batch} concurrency={concurrency}");
                let figures = measure_load(
                    model,
                    endpoint,
                    *batch,
                    concurrency,
                    addr,
                    request,
                    &pid,
                    options,
                );
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
        memory.push(Memory {
            model: model.into(),
            idle_rss_mib: idle_kb as f64 / 1024.0,
            peak_rss_mib: peak_kb as f64 / 1024.0,
        });
    }

    Ok(BenchReport {
        date: crate::report::now(),
        machine: Machine::detect(),
        image: reference.to_owned(),
        image_mb: image_bytes as f64 / 1e6,
        cold_start,
        in_process,
        load,
        memory,
        method: METHOD.into(),
    })
}

#[allow(clippy::too_many_arguments)]
fn measure_load(
    model: &str,
    endpoint: &str,
    rows: usize,
    concurrency: usize,
    addr: SocketAddr,
    request: &[u8],
    pid: &str,
    options: &Options,
) -> LoadFigures {
    let mut throughputs = vec![];
    let mut latencies: Vec<f64> = vec![];
    let (mut errors, mut wall) = (0, Duration::ZERO);
    let (mut server_cpu, mut generator_cpu, mut machine_cpu) =
        (Duration::ZERO, Duration::ZERO, Duration::ZERO);
    for _ in 0..options.repetitions {
        let load = loadgen::Load {
            addr,
            request: request.to_vec(),
            concurrency,
            warmup: options.warmup,
            duration: options.duration,
        };
        let (server_before, generator_before) =
            (procstat::cpu_time(pid), procstat::cpu_time("self"));
        let machine_before = procstat::machine_busy();
        let started = Instant::now();
        let outcome = loadgen::run(&load);
        wall += started.elapsed();
        if let (Some(before), Some(after)) = (server_before, procstat::cpu_time(pid)) {
            server_cpu += after.saturating_sub(before);
        }
        if let (Some(before), Some(after)) = (generator_before, procstat::cpu_time("self")) {
            generator_cpu += after.saturating_sub(before);
        }
        if let (Some(before), Some(after)) = (machine_before, procstat::machine_busy()) {
            machine_cpu += after.saturating_sub(before);
        }
        throughputs.push(outcome.latencies_us.len() as f64 / outcome.elapsed.as_secs_f64());
        latencies.extend(outcome.latencies_us.iter().map(|&us| f64::from(us)));
        errors += outcome.errors;
    }
    let median = quantile(&throughputs, 0.5).unwrap_or(0.0);
    let pct = |cpu: Duration| 100.0 * cpu.as_secs_f64() / wall.as_secs_f64().max(1e-9);
    LoadFigures {
        model: model.into(),
        endpoint: endpoint.into(),
        rows,
        concurrency,
        requests_per_s: median,
        requests_per_s_min: quantile(&throughputs, 0.0).unwrap_or(0.0),
        requests_per_s_max: quantile(&throughputs, 1.0).unwrap_or(0.0),
        rows_per_s: median * rows as f64,
        p50_us: quantile(&latencies, 0.5).unwrap_or(f64::NAN),
        p99_us: quantile(&latencies, 0.99).unwrap_or(f64::NAN),
        errors,
        server_cpu_pct: pct(server_cpu),
        generator_cpu_pct: pct(generator_cpu),
        machine_cpu_pct: pct(machine_cpu),
        share_of_floor: None,
    }
}

/// Realistic rows: the golden held-out rows, repeated up to `n`.
fn sample_rows(root: &Path, oracle: &Artifact, n: usize) -> Result<Vec<Vec<f64>>, HarnessError> {
    let golden = fixtures::golden(root, oracle.name())?;
    let pool: Vec<Vec<f64>> = golden
        .cases
        .iter()
        .find(|c| c.name == "held-out rows")
        .or(golden.cases.first())
        .map(|c| c.instances.clone())
        .unwrap_or_default();
    if pool.is_empty() {
        return Err(HarnessError::Io {
            path: format!("fixtures/golden/{}.json", oracle.name()),
            cause: std::io::Error::other("no rows"),
        });
    }
    Ok(pool.iter().cycle().take(n).cloned().collect())
}

/// Median time of `Model::predict` on `rows`, in microseconds.
fn time_in_process(oracle: &Artifact, rows: &[Vec<f64>]) -> f64 {
    let model = oracle.model();
    let Ok(checked) = Rows::from_rows(rows, model.features()) else {
        return f64::NAN;
    };
    let mut samples = Vec::with_capacity(2000);
    for _ in 0..2000 {
        let started = Instant::now();
        let predictions = model.predict(&checked);
        samples.push(started.elapsed().as_secs_f64() * 1e6);
        std::hint::black_box(predictions).ok();
    }
    quantile(&samples, 0.5).unwrap_or(f64::NAN)
}

fn free_port() -> Result<u16, HarnessError> {
    let listener = TcpListener::bind("127.0.0.1:0").map_err(|cause| HarnessError::Io {
        path: "127.0.0.1:0".into(),
        cause,
    })?;
    listener
        .local_addr()
        .map(|a| a.port())
        .map_err(|cause| HarnessError::Io {
            path: "127.0.0.1:0".into(),
            cause,
        })
}

impl BenchReport {
    /// The tables, in Markdown: readable on a terminal, pasted as-is into the README.
    pub fn markdown(&self) -> String {
        let c = &self.cold_start;
        let mut out = format!(
            "Measured {} on {} ({} cores, {}), image `{}` ({:.2} MB).\n\n",
            self.date,
            self.machine.kernel,
            self.machine.cores,
            self.machine.cpu,
            self.image,
            self.image_mb
        );
        out.push_str(
            "| cold start ({} starts) | p50 | p95 | min–max |\n|---|---|---|---|\n"
                .replace("{}", &c.starts.to_string())
                .as_str(),
        );
        out.push_str(&format!(
            "| container start → first 200 on `/ready` | {:.0} ms | {:.0} ms | {:.0}–{:.0} ms |\n",
            c.ready_p50, c.ready_p95, c.ready_min, c.ready_max
        ));
        out.push_str(&format!(
            "| bare container start → exit (`server --version`) | {:.0} ms | {:.0} ms | |\n",
            c.bare_p50, c.bare_p95
        ));
        out.push_str(&format!(
            "| server's own start-up (process start → listening) | {:.2} ms | | |\n\n",
            c.server_startup_p50
        ));
        out.push_str(&format!(
            "Ready p50 is {:.2}× the bare container start.\n\n",
            c.ratio_to_bare
        ));
        out.push_str(&format!(
            "CPU is in percent of one core; the machine has {}, so {}% is all of it.\n\n",
            self.machine.cores,
            self.machine.cores * 100
        ));
        out.push_str("| model | endpoint | rows/req | conc | req/s (min–max) | rows/s | p50 µs | p99 µs | vs /health | CPU: server | generator | whole machine |\n");
        out.push_str("|---|---|---|---|---|---|---|---|---|---|---|---|\n");
        for l in &self.load {
            let rows = if l.rows == 0 {
                "–".into()
            } else {
                l.rows.to_string()
            };
            let rows_per_s = if l.rows == 0 {
                "–".into()
            } else {
                format!("{:.0}", l.rows_per_s)
            };
            let share = l
                .share_of_floor
                .map_or("–".into(), |s| format!("{:.0}%", s * 100.0));
            let errors = if l.errors > 0 {
                format!(" ({} errors)", l.errors)
            } else {
                String::new()
            };
            out.push_str(&format!(
                "| {} | {} | {rows} | {} | {:.0} ({:.0}–{:.0}){errors} | {rows_per_s} | {:.0} | {:.0} | {share} | {:.0}% | {:.0}% | {:.0}% |\n",
                l.model, l.endpoint, l.concurrency, l.requests_per_s, l.requests_per_s_min, l.requests_per_s_max,
                l.p50_us, l.p99_us, l.server_cpu_pct, l.generator_cpu_pct, l.machine_cpu_pct
            ));
        }
        out.push_str("\n| model | in-process `Model::predict` p50 |\n|---|---|\n");
        for p in &self.in_process {
            out.push_str(&format!(
                "| {} × {} rows | {:.2} µs |\n",
                p.model, p.rows, p.predict_us_p50
            ));
        }
        out.push_str("\n| model | idle RSS | peak RSS under load |\n|---|---|---|\n");
        for m in &self.memory {
            out.push_str(&format!(
                "| {} | {:.1} MiB | {:.1} MiB |\n",
                m.model, m.idle_rss_mib, m.peak_rss_mib
            ));
        }
        out.push_str(&format!("\n{}\n", self.method));
        out
    }
}

/// Replaces the README's text between the bench markers with `markdown`.
pub fn update_readme(readme: &Path, markdown: &str) -> std::io::Result<()> {
    const START: &str = "<!-- bench:start -->";
    const END: &str = "<!-- bench:end -->";
    let text = std::fs::read_to_string(readme)?;
    let (Some(start), Some(end)) = (text.find(START), text.find(END)) else {
        return Err(std::io::Error::other(format!(
            "{} has no {START} … {END} section",
            readme.display()
        )));
    };
    let updated = format!("{}{START}\n{markdown}{}", &text[..start], &text[end..]);
    std::fs::write(readme, updated)
}
