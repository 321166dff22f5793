//! Server processes side by side on loopback, in one run: this server, a baseline binary when
//! one is given (the previous transport, built from an earlier commit), and nginx's static 200
//! as the floor when nginx is installed.
//!
//! The figure that compares them is the server's CPU time per request at the same load, from
//! `/proc`: it does not depend on how fast the generator or the machine is, only on what each
//! server does per request, and a shared machine's noise moves every column of a row alike.
//! Each configuration runs every contender in turn, repetition by repetition, so drift in the
//! machine's load reaches them all.

use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde::Serialize;

use crate::bench::{Options, loadgen, procstat};
use crate::client::free_port;
use crate::error::HarnessError;
use crate::stats::quantile;

/// One process under comparison.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Contender {
    /// Column heading: `this`, `baseline`, `nginx`.
    pub name: String,
    pub program: PathBuf,
    /// What it is, for the report.
    pub about: String,
}

/// One configuration, measured for every contender.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Row {
    /// `/health` or `/predict`.
    pub endpoint: String,
    /// Rows per request; 0 for `/health`.
    pub rows: usize,
    pub concurrency: usize,
    /// In the order of the contenders.
    pub figures: Vec<Figures>,
}

/// One contender's figures in one configuration.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Figures {
    pub contender: String,
    /// Median over repetitions.
    pub requests_per_s: f64,
    /// Server CPU (user + system) per request, median over repetitions.
    pub cpu_us_per_request: f64,
    pub errors: u64,
}

/// What the comparison measured.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Comparison {
    pub contenders: Vec<Contender>,
    pub rows: Vec<Row>,
}

/// A request body and its rows per request.
#[derive(Debug, Clone)]
pub struct Workload {
    pub endpoint: String,
    pub rows: usize,
    pub request: Vec<u8>,
}

/// Runs every workload at every concurrency against every contender.
pub fn run(
    contenders: &[Contender],
    workloads: &[Workload],
    concurrency: &[usize],
    options: &Options,
) -> Result<Comparison, HarnessError> {
    // nginx's configuration and its pid file; removed at the end.
    let scratch = std::env::temp_dir().join(format!("harness-bench-{}", std::process::id()));
    let outcome = compare(contenders, workloads, concurrency, options, &scratch);
    let _ = std::fs::remove_dir_all(&scratch);
    outcome
}

fn compare(
    contenders: &[Contender],
    workloads: &[Workload],
    concurrency: &[usize],
    options: &Options,
    scratch: &Path,
) -> Result<Comparison, HarnessError> {
    let mut running = vec![];
    for contender in contenders {
        running.push(Running::start(contender, scratch)?);
    }
    let mut rows = vec![];
    for workload in workloads {
        for &concurrency in concurrency {
            eprintln!(
                "bench: transports {} rows={} concurrency={concurrency}",
                workload.endpoint, workload.rows
            );
            let mut samples: Vec<Vec<Sample>> = vec![vec![]; running.len()];
            for _ in 0..options.repetitions {
                for (server, samples) in running.iter().zip(samples.iter_mut()) {
                    samples.push(server.measure(&workload.request, concurrency, options));
                }
            }
            let figures = running
                .iter()
                .zip(&samples)
                .map(|(server, samples)| {
                    let throughputs: Vec<f64> = samples.iter().map(|s| s.requests_per_s).collect();
                    let cpu: Vec<f64> = samples.iter().map(|s| s.cpu_us_per_request).collect();
                    Figures {
                        contender: server.name.clone(),
                        requests_per_s: quantile(&throughputs, 0.5).unwrap_or(f64::NAN),
                        cpu_us_per_request: quantile(&cpu, 0.5).unwrap_or(f64::NAN),
                        errors: samples.iter().map(|s| s.errors).sum(),
                    }
                })
                .collect();
            rows.push(Row {
                endpoint: workload.endpoint.clone(),
                rows: workload.rows,
                concurrency,
                figures,
            });
        }
    }
    Ok(Comparison {
        contenders: contenders.to_vec(),
        rows,
    })
}

/// nginx, when it is on `PATH`.
pub fn nginx() -> Option<Contender> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .chain([PathBuf::from("/usr/sbin")])
        .map(|dir| dir.join("nginx"))
        .find(|p| p.is_file())
        .map(|program| Contender {
            name: "nginx".into(),
            program,
            about: "nginx, one worker, a static 200".into(),
        })
}

/// A contender's process, killed when dropped.
struct Running {
    name: String,
    child: Child,
    addr: SocketAddr,
}

impl Running {
    fn start(contender: &Contender, scratch: &Path) -> Result<Running, HarnessError> {
        let port = free_port()?;
        let addr = SocketAddr::from(([127, 0, 0, 1], port));
        let mut command = Command::new(&contender.program);
        if contender.name == "nginx" {
            let dir = scratch.join(format!("nginx-{port}"));
            let config = nginx_config(&dir, port);
            std::fs::create_dir_all(&dir)
                .and_then(|()| std::fs::write(dir.join("nginx.conf"), config))
                .map_err(|source| HarnessError::Io {
                    path: dir.clone(),
                    source,
                })?;
            command
                .arg("-p")
                .arg(&dir)
                .arg("-c")
                .arg(dir.join("nginx.conf"));
        } else {
            command
                .env("HOST", "127.0.0.1")
                .env("PORT", port.to_string());
        }
        // Both servers write their access log, nginx's to /dev/null, so each pays the write.
        let child = command
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|source| HarnessError::Spawn {
                program: contender.program.clone(),
                source,
            })?;
        let running = Running {
            name: contender.name.clone(),
            child,
            addr,
        };
        running.wait_listening(&contender.program)?;
        Ok(running)
    }

    fn wait_listening(&self, program: &Path) -> Result<(), HarnessError> {
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if TcpStream::connect(self.addr).is_ok() {
                return Ok(());
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        Err(HarnessError::NotListening {
            program: program.to_owned(),
            addr: self.addr.to_string(),
        })
    }

    /// One repetition, after a warm-up.
    fn measure(&self, request: &[u8], concurrency: usize, options: &Options) -> Sample {
        let load = |duration| loadgen::Load {
            addr: self.addr,
            request: request.to_vec(),
            concurrency,
            warmup: Duration::ZERO,
            duration,
        };
        loadgen::run(&load(options.warmup));
        let pid = self.child.id().to_string();
        let before = procstat::cpu_time(&pid);
        let outcome = loadgen::run(&load(options.duration));
        let after = procstat::cpu_time(&pid);
        let requests = outcome.latencies_us.len() as f64;
        let cpu = match (before, after) {
            (Some(b), Some(a)) if requests > 0.0 => {
                a.saturating_sub(b).as_secs_f64() * 1e6 / requests
            }
            _ => f64::NAN,
        };
        Sample {
            requests_per_s: requests / outcome.elapsed.as_secs_f64(),
            cpu_us_per_request: cpu,
            errors: outcome.errors,
        }
    }
}

/// One repetition of one contender in one configuration.
#[derive(Debug, Clone, Copy)]
struct Sample {
    requests_per_s: f64,
    cpu_us_per_request: f64,
    errors: u64,
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One worker process (the one whose CPU is read), a static 200 for every request.
fn nginx_config(dir: &Path, port: u16) -> String {
    let dir = dir.display();
    format!(
        "daemon off;\nmaster_process off;\nworker_processes 1;\nerror_log stderr;\npid {dir}/nginx.pid;\n\
events {{ worker_connections 4096; }}\n\
http {{\n  access_log /dev/null;\n  client_body_temp_path {dir}/body;\n  proxy_temp_path {dir}/proxy;\n  fastcgi_temp_path {dir}/fastcgi;\n  uwsgi_temp_path {dir}/uwsgi;\n  scgi_temp_path {dir}/scgi;\n  keepalive_requests 1000000;\n  server {{\n    listen 127.0.0.1:{port};\n    location / {{ default_type application/json; return 200 '{{\"status\":\"ok\"}}'; }}\n  }}\n}}\n"
    )
}

impl Comparison {
    /// The table, in Markdown: CPU per request for each contender, and each one's ratio to
    /// the first baseline.
    pub fn markdown(&self) -> String {
        let names: Vec<&str> = self.contenders.iter().map(|c| c.name.as_str()).collect();
        let baseline = names.iter().position(|n| *n == "baseline");
        let mut out = String::from("| endpoint | rows/req | conc |");
        for name in &names {
            out.push_str(&format!(" {name}: CPU µs/req (req/s) |"));
        }
        if baseline.is_some() {
            out.push_str(" this ÷ baseline |");
        }
        out.push_str("\n|---|---|---|");
        for _ in &names {
            out.push_str("---|");
        }
        if baseline.is_some() {
            out.push_str("---|");
        }
        out.push('\n');
        for row in &self.rows {
            let rows = if row.rows == 0 {
                "–".into()
            } else {
                row.rows.to_string()
            };
            out.push_str(&format!(
                "| {} | {rows} | {} |",
                row.endpoint, row.concurrency
            ));
            for f in &row.figures {
                let errors = if f.errors > 0 {
                    format!(", {} errors", f.errors)
                } else {
                    String::new()
                };
                out.push_str(&format!(
                    " {:.1} ({:.0}{errors}) |",
                    f.cpu_us_per_request, f.requests_per_s
                ));
            }
            if let Some(b) = baseline {
                let this = row.figures.iter().find(|f| f.contender == "this");
                if let (Some(this), Some(base)) = (this, row.figures.get(b)) {
                    out.push_str(&format!(
                        " {:.2}× |",
                        this.cpu_us_per_request / base.cpu_us_per_request
                    ));
                }
            }
            out.push('\n');
        }
        out
    }
}
