//! `server`: serves the model over HTTP until SIGTERM or SIGINT.
//! `server healthcheck`: exits 0 when the local server is ready, 1 otherwise.
//! `server --version`: prints the version and exits at once.
//! `server --help`: prints the usage and every environment variable.

use std::process::ExitCode;
use std::time::{Duration, Instant, SystemTime};

use signal_hook::consts::{SIGINT, SIGTERM};
use signal_hook::iterator::Signals;

use server::Artifact;
use server::contract::Config;
use server::contract::env::HELP;
use server::contract::lifecycle::{DRAIN_GRACE, LISTENING, STOPPED, STOPPING};
use server::http::{Service, healthcheck, log};

fn main() -> ExitCode {
    let started = (Instant::now(), SystemTime::now());
    match std::env::args().nth(1).as_deref() {
        None => serve(started),
        Some("healthcheck") => healthcheck(),
        Some("--version") => {
            println!("server {}", env!("CARGO_PKG_VERSION"));
            ExitCode::SUCCESS
        }
        Some("-h" | "--help") => {
            print!("{}", help());
            ExitCode::SUCCESS
        }
        Some(other) => {
            eprintln!(
                "server: unknown argument {other:?}; usage: server [healthcheck | --version | --help]"
            );
            ExitCode::from(2)
        }
    }
}

fn serve((start, start_time): (Instant, SystemTime)) -> ExitCode {
    match run(start, start_time) {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("server: {message}");
            ExitCode::FAILURE
        }
    }
}

fn run(start: Instant, start_time: SystemTime) -> Result<(), String> {
    let config = Config::from_env().map_err(|e| e.to_string())?;
    log::init(config.log_format);
    // Registered before listening, so a stop signal is never missed.
    let mut signals = Signals::new([SIGTERM, SIGINT]).map_err(|e| format!("signals: {e}"))?;
    let artifact = match &config.model_path {
        Some(path) => Artifact::load(path),
        None => Artifact::embedded(),
    }
    .map_err(|e| e.to_string())?;
    if let Some(expected) = &config.model_sha256
        && artifact.sha256() != expected
    {
        return Err(format!(
            "MODEL_SHA256 is {expected}, but {} has sha256 {}",
            artifact.location(),
            artifact.sha256()
        ));
    }
    let service = Service::launch(&config, artifact, start_time).map_err(|e| e.to_string())?;
    let startup = start.elapsed();
    let state = service.state();
    state.mark_started(startup);
    let artifact = state.artifact();
    // The field names are the contract's (`lifecycle::ADDR`, `STARTUP_MS`, …); tests hold
    // these lines to them.
    tracing::info!(
        addr = %service.addr(),
        model = artifact.name(),
        version = artifact.version(),
        artifact = artifact.location(),
        sha256 = artifact.sha256(),
        workers = config.workers,
        startup_ms = startup.as_secs_f64() * 1e3,
        "{LISTENING}"
    );

    let signal = signals.forever().next().unwrap_or(SIGTERM);
    let stopping = Instant::now();
    // Readiness turns 503 and the listener closes before the event is written, so whoever
    // reads it sees the drain, and the count is of every request that had arrived.
    service.stop_accepting();
    tracing::info!(signal, in_flight = state.in_flight(), "{STOPPING}");
    let drained = service.drain(DRAIN_GRACE);
    tracing::info!(
        drained,
        shutdown_ms = stopping.elapsed().as_secs_f64() * 1e3,
        "{STOPPED}"
    );
    Ok(())
}

/// The usage, and every environment variable with its default.
fn help() -> String {
    let mut out = format!(
        "server {}: logistic-regression predictions over HTTP (a simple JSON API and the Open \
         Inference Protocol), until SIGTERM or SIGINT.\n\n\
         Usage: server [healthcheck | --version | --help]\n  \
         healthcheck  exit 0 when the local server is ready, 1 otherwise\n\n\
         Configuration, by environment only; a bad value stops start-up with one line:\n",
        env!("CARGO_PKG_VERSION")
    );
    for (name, default, meaning) in HELP {
        out.push_str(&format!("  {name:<16} {meaning} [default: {default}]\n"));
    }
    out
}

fn healthcheck() -> ExitCode {
    let port = match Config::from_env() {
        Ok(config) => config.port,
        Err(e) => {
            eprintln!("server healthcheck: {e}");
            return ExitCode::FAILURE;
        }
    };
    match healthcheck::probe(port, Duration::from_secs(2)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("server healthcheck: {e}");
            ExitCode::FAILURE
        }
    }
}
