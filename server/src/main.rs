//! `server`: serves the model over HTTP until SIGTERM or SIGINT.
//! `server healthcheck`: exits 0 when the local server is ready, 1 otherwise.
//! `server --version`: prints the version and exits at once.

use std::net::SocketAddr;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use signal_hook::consts::{SIGINT, SIGTERM};
use signal_hook::iterator::Signals;

use server::service::DRAIN_GRACE;
use server::{App, Artifact, Config, Limits, Service, healthcheck, log};

fn main() -> ExitCode {
    let started = (Instant::now(), SystemTime::now());
    match std::env::args().nth(1).as_deref() {
        None => serve(started),
        Some("healthcheck") => healthcheck(),
        Some("--version") => {
            println!("server {}", env!("CARGO_PKG_VERSION"));
            ExitCode::SUCCESS
        }
        Some(other) => {
            eprintln!(
                "server: unknown argument {other:?}; usage: server [healthcheck | --version]"
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
    let limits = Limits {
        max_body_bytes: config.max_body_bytes,
        max_batch_rows: config.max_batch_rows,
    };
    let app = Arc::new(App::new(artifact, limits, start_time));
    let service = Service::start(
        Arc::clone(&app),
        SocketAddr::new(config.host, config.port),
        config.workers,
    )
    .map_err(|e| e.to_string())?;
    let startup = start.elapsed();
    app.mark_started(startup);
    let artifact = app.artifact();
    tracing::info!(
        addr = %service.addr(),
        model = artifact.name(),
        version = artifact.version(),
        artifact = artifact.origin(),
        sha256 = artifact.sha256(),
        workers = config.workers,
        startup_ms = startup.as_secs_f64() * 1e3,
        "listening"
    );

    let signal = signals.forever().next().unwrap_or(SIGTERM);
    let stopping = Instant::now();
    tracing::info!(signal, in_flight = app.in_flight(), "stopping");
    let drained = service.shutdown(DRAIN_GRACE);
    tracing::info!(
        drained,
        shutdown_ms = stopping.elapsed().as_secs_f64() * 1e3,
        "stopped"
    );
    Ok(())
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
