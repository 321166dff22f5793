//! One load configuration, measured: throughput over repetitions, latency over every recorded
//! request, and the CPU the server, the generator and the whole machine used meanwhile.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use crate::bench::report::LoadFigures;
use crate::bench::{Options, loadgen, procstat};
use crate::stats::quantile;

/// One configuration of the load table.
#[derive(Debug, Clone, Copy)]
pub struct Configuration<'a> {
    pub model: &'a str,
    /// `/health`, `/predict` or `v2 infer`.
    pub endpoint: &'a str,
    /// Rows per request; 0 for `/health`.
    pub rows: usize,
    pub concurrency: usize,
    /// The whole HTTP request, sent as is.
    pub request: &'a [u8],
}

/// Where the service under load is.
#[derive(Debug, Clone, Copy)]
pub struct Server<'a> {
    pub addr: SocketAddr,
    /// The server process's PID as the host sees it, for its CPU time.
    pub pid: &'a str,
}

/// Runs `config` against `server` `options.repetitions` times.
pub fn load(config: &Configuration<'_>, server: Server<'_>, options: &Options) -> LoadFigures {
    let Configuration {
        model,
        endpoint,
        rows,
        concurrency,
        request,
    } = *config;
    let (addr, pid) = (server.addr, server.pid);
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
