//! A closed-loop HTTP/1.1 load generator over keep-alive connections.
//!
//! Written here rather than taken from a tool: the machines this runs on have only the Rust
//! toolchain and Docker, and the bench needs per-request latencies and the generator's own CPU
//! time in the same process. Each connection sends one fixed, pre-encoded request, waits for the
//! whole response, and sends the next: no allocation per request, so the generator's cost
//! stays small next to the server's, and is measured anyway.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

/// One load run.
#[derive(Debug, Clone)]
pub struct Load {
    pub addr: SocketAddr,
    /// The complete request, headers and body.
    pub request: Vec<u8>,
    /// Connections, each with one request outstanding.
    pub concurrency: usize,
    /// Requests in this first stretch are sent but not recorded.
    pub warmup: Duration,
    /// Recorded stretch after the warm-up.
    pub duration: Duration,
}

/// What a run recorded.
#[derive(Debug, Clone, Default)]
pub struct Outcome {
    /// Latency of every recorded request, in microseconds.
    pub latencies_us: Vec<u32>,
    /// Responses other than 200, and broken connections.
    pub errors: u64,
    /// Length of the recorded stretch.
    pub elapsed: Duration,
}

/// Encodes a request with a JSON body.
pub fn post(path: &str, body: &str) -> Vec<u8> {
    format!(
        "POST {path} HTTP/1.1\r\nHost: bench\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

/// Encodes a GET request.
pub fn get(path: &str) -> Vec<u8> {
    format!("GET {path} HTTP/1.1\r\nHost: bench\r\n\r\n").into_bytes()
}

/// Runs `load` and merges what every connection recorded.
pub fn run(load: &Load) -> Outcome {
    let start = Instant::now();
    let record_from = start + load.warmup;
    let end = record_from + load.duration;
    let outcomes: Vec<Outcome> = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..load.concurrency)
            .map(|_| scope.spawn(|| connection(load, record_from, end)))
            .collect();
        workers.into_iter().filter_map(|w| w.join().ok()).collect()
    });
    let mut merged = Outcome {
        elapsed: load.duration,
        ..Outcome::default()
    };
    for outcome in outcomes {
        merged.latencies_us.extend(outcome.latencies_us);
        merged.errors += outcome.errors;
    }
    merged
}

fn connection(load: &Load, record_from: Instant, end: Instant) -> Outcome {
    let mut outcome = Outcome::default();
    let mut conn: Option<(TcpStream, BufReader<TcpStream>)> = None;
    let mut body = Vec::with_capacity(64 * 1024);
    let mut line = String::with_capacity(256);
    while Instant::now() < end {
        if conn.is_none() {
            conn = TcpStream::connect(load.addr).ok().and_then(|s| {
                s.set_nodelay(true).ok()?;
                s.set_read_timeout(Some(Duration::from_secs(10))).ok()?;
                let reader = BufReader::with_capacity(64 * 1024, s.try_clone().ok()?);
                Some((s, reader))
            });
            if conn.is_none() {
                outcome.errors += 1;
                std::thread::sleep(Duration::from_millis(10));
                continue;
            }
        }
        let Some((stream, reader)) = conn.as_mut() else {
            continue;
        };
        let sent = Instant::now();
        match exchange(stream, reader, &load.request, &mut line, &mut body) {
            Ok((status, keep_alive)) => {
                if sent >= record_from {
                    let micros = sent.elapsed().as_micros().min(u128::from(u32::MAX)) as u32;
                    outcome.latencies_us.push(micros);
                    if status != 200 {
                        outcome.errors += 1;
                    }
                }
                if !keep_alive {
                    conn = None;
                }
            }
            Err(_) => {
                outcome.errors += 1;
                conn = None;
            }
        }
    }
    outcome
}

/// Sends one request and reads one response: the status and whether the connection stays open.
fn exchange(
    stream: &mut TcpStream,
    reader: &mut BufReader<TcpStream>,
    request: &[u8],
    line: &mut String,
    body: &mut Vec<u8>,
) -> std::io::Result<(u16, bool)> {
    stream.write_all(request)?;
    line.clear();
    reader.read_line(line)?;
    let status = line
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| std::io::Error::other("no status line"))?;
    let (mut length, mut keep_alive) = (0usize, true);
    loop {
        line.clear();
        reader.read_line(line)?;
        if line == "\r\n" || line.is_empty() {
            break;
        }
        if let Some((name, value)) = line.split_once(':') {
            if name.eq_ignore_ascii_case("content-length") {
                length = value.trim().parse().unwrap_or(0);
            } else if name.eq_ignore_ascii_case("connection")
                && value.trim().eq_ignore_ascii_case("close")
            {
                keep_alive = false;
            }
        }
    }
    body.resize(length, 0);
    reader.read_exact(body)?;
    Ok((status, keep_alive))
}
