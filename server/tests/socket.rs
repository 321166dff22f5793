//! The service over real sockets on 127.0.0.1: keep-alive, concurrency, and the real binary's
//! start-up, configuration errors, healthcheck and clean SIGTERM with a request in flight. The
//! limits are checked over sockets by the harness.

use std::io::{BufRead, BufReader, Lines, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::{ChildStdout, Command, Stdio};
use std::time::{Duration, Instant, SystemTime};

use serde_json::{Value, json};
use server::contract::Config;
use server::contract::lifecycle::{
    ADDR, DRAINED, EVENT, IN_FLIGHT, IN_FLIGHT_METRIC, LISTENING, STARTUP_MS, STOPPED, STOPPING,
};
use server::http::Service;
use server::{Artifact, Rows};

use crate::util::{assert_same_bits, read_response};

const ONES: [f64; 11] = [1.0; 11];

fn start() -> Service {
    let config = Config {
        host: [127, 0, 0, 1].into(),
        port: 0,
        workers: 8,
        ..Config::default()
    };
    Service::launch(&config, Artifact::embedded().unwrap(), SystemTime::now()).unwrap()
}

fn connect(addr: SocketAddr) -> (TcpStream, BufReader<TcpStream>) {
    let stream = TcpStream::connect(addr).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let reader = BufReader::new(stream.try_clone().unwrap());
    (stream, reader)
}

fn post_head(path: &str, length: usize) -> String {
    format!(
        "POST {path} HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\nContent-Length: {length}\r\n\r\n"
    )
}

#[test]
fn keep_alive_serves_many_requests_on_one_connection() {
    let service = start();
    let (mut stream, mut reader) = connect(service.addr());
    let body = json!({"instances": [ONES]}).to_string();
    for _ in 0..5 {
        stream
            .write_all(b"GET /health HTTP/1.1\r\nHost: test\r\n\r\n")
            .unwrap();
        assert_eq!(
            read_response(&mut reader).unwrap(),
            (200, r#"{"status":"ok"}"#.to_owned())
        );
        stream
            .write_all(post_head("/predict", body.len()).as_bytes())
            .unwrap();
        stream.write_all(body.as_bytes()).unwrap();
        assert_eq!(read_response(&mut reader).unwrap().0, 200);
    }
}

/// A small deterministic generator, so that a failure can be replayed.
fn rows(seed: u64, n: usize) -> Vec<Vec<f64>> {
    let mut state = seed
        .wrapping_mul(6364136223846793005)
        .wrapping_add(1442695040888963407);
    (0..n)
        .map(|_| {
            (0..11)
                .map(|_| {
                    state = state
                        .wrapping_mul(6364136223846793005)
                        .wrapping_add(1442695040888963407);
                    ((state >> 11) as f64 / (1u64 << 53) as f64 - 0.5) * 40.0
                })
                .collect()
        })
        .collect()
}

#[test]
fn concurrent_clients_each_get_the_in_process_answer() {
    let service = start();
    let url = format!("http://{}", service.addr());
    let model = Artifact::embedded().unwrap().model().clone();
    let classes = model.classes().to_vec();
    std::thread::scope(|scope| {
        for client in 0..16u64 {
            let (url, model, classes) = (&url, &model, &classes);
            scope.spawn(move || {
                let http = reqwest::blocking::Client::builder().no_proxy().build().unwrap();
                for request in 0..20u64 {
                    let batch = rows(client * 1000 + request, 1 + (request as usize % 7));
                    let v2 = request % 2 == 0;
                    let response: Value = if v2 {
                        let body = json!({"inputs": [{"name": "x", "shape": [batch.len(), 11], "datatype": "FP64", "data": batch}]});
                        http.post(format!("{url}/v2/models/wine-quality/infer")).json(&body).send().unwrap().json().unwrap()
                    } else {
                        http.post(format!("{url}/predict")).json(&json!({"instances": batch})).send().unwrap().json().unwrap()
                    };
                    let expected = model.predict(&Rows::from_rows(&batch, model.features()).unwrap()).unwrap();
                    for (i, want) in expected.iter().enumerate() {
                        let got: Vec<f64> = if v2 {
                            let data = response["outputs"][1]["data"].as_array().unwrap();
                            data[i * 2..i * 2 + 2].iter().map(|v| v.as_f64().unwrap()).collect()
                        } else {
                            classes.iter().map(|c| response["predictions"][i]["probabilities"][c].as_f64().unwrap()).collect()
                        };
                        assert_same_bits(&format!("client {client} request {request} row {i}"), &want.probabilities, &got);
                    }
                }
            });
        }
    });
}

/// The next JSON log line whose event is `event`; lines are read as the server writes them.
fn next_event(log: &mut Lines<BufReader<ChildStdout>>, event: &str) -> Value {
    for line in log.by_ref() {
        let line = line.unwrap();
        let value: Value = serde_json::from_str(&line).unwrap_or_else(|e| panic!("{e}: {line}"));
        if value[EVENT] == event {
            return value;
        }
    }
    panic!("the server's output ended before a {event:?} event")
}

/// The value of the in-flight gauge on `/metrics`, asked over a fresh connection.
fn in_flight(addr: SocketAddr) -> f64 {
    let mut stream = TcpStream::connect(addr).unwrap();
    stream
        .write_all(b"GET /metrics HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n")
        .unwrap();
    let (status, text) = read_response(&mut BufReader::new(stream)).unwrap();
    assert_eq!(status, 200);
    text.lines()
        .find_map(|l| l.strip_prefix(IN_FLIGHT_METRIC)?.trim().parse().ok())
        .unwrap_or_else(|| panic!("no {IN_FLIGHT_METRIC} in {text}"))
}

/// The real binary: start, take a request whose body is still arriving, receive SIGTERM,
/// refuse new work, finish the request, exit 0. Each step waits for the server to show the
/// previous one (the metric, then the log event), so no timing decides the outcome.
#[test]
fn sigterm_lets_the_in_flight_request_finish_then_exits_zero() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_server"))
        .env("HOST", "127.0.0.1")
        .env("PORT", "0")
        .env("LOG_FORMAT", "json")
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut log = BufReader::new(child.stdout.take().unwrap()).lines();
    let listening = next_event(&mut log, LISTENING);
    assert!(listening[STARTUP_MS].as_f64().unwrap() > 0.0, "{listening}");
    let addr: SocketAddr = listening[ADDR].as_str().unwrap().parse().unwrap();

    // A request is in flight from its first byte: its head and part of its body are sent.
    let body = json!({"instances": vec![ONES; 40]}).to_string();
    let (mut stream, mut reader) = connect(addr);
    stream
        .write_all(post_head("/predict", body.len()).as_bytes())
        .unwrap();
    stream.write_all(&body.as_bytes()[..10]).unwrap();
    // The scrape counts itself: two means the half-sent request is in flight.
    let deadline = Instant::now() + Duration::from_secs(10);
    while in_flight(addr) < 2.0 {
        assert!(Instant::now() < deadline, "the request never arrived");
    }

    let kill = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(kill.success());
    let signalled = Instant::now();
    let stopping = next_event(&mut log, STOPPING);
    assert_eq!(stopping[IN_FLIGHT], 1, "{stopping}");

    // Draining: the listener is closed, so a new connection is refused, while the request in
    // flight is still open.
    let refused = TcpStream::connect(addr).map(|_| ()).map_err(|e| e.kind());
    assert_eq!(refused, Err(std::io::ErrorKind::ConnectionRefused));
    assert!(
        child.try_wait().unwrap().is_none(),
        "exited with a request in flight"
    );

    stream.write_all(&body.as_bytes()[10..]).unwrap();
    let (status, answer) = read_response(&mut reader).unwrap();
    assert_eq!(status, 200, "{answer}");

    let stopped = next_event(&mut log, STOPPED);
    assert_eq!(stopped[DRAINED], true, "{stopped}");
    let exit = child.wait().unwrap();
    assert_eq!(exit.code(), Some(0));
    eprintln!(
        "SIGTERM to exit with one request drained: {:.1} ms",
        signalled.elapsed().as_secs_f64() * 1e3
    );
}
#[test]
fn bad_configuration_stops_start_up_with_one_line() {
    let zeros = "0".repeat(64);
    let wrong_hash = format!(
        "server: MODEL_SHA256 is {zeros}, but embedded default artifact has sha256 {}\n",
        Artifact::embedded().unwrap().sha256()
    );
    for (var, value, expected) in [
        (
            "PORT",
            "http",
            "server: PORT=\"http\" is invalid: expected a port number from 0 to 65535\n",
        ),
        (
            "MODEL_PATH",
            "/no/such/model.json",
            "server: /no/such/model.json: cannot read the artifact: No such file or directory (os error 2)\n",
        ),
        ("MODEL_SHA256", zeros.as_str(), wrong_hash.as_str()),
    ] {
        let output = Command::new(env!("CARGO_BIN_EXE_server"))
            .env(var, value)
            .output()
            .unwrap();
        assert_eq!(output.status.code(), Some(1));
        assert_eq!(String::from_utf8_lossy(&output.stderr), expected);
    }
}

#[test]
fn help_lists_every_variable_and_exits_zero() {
    for flag in ["--help", "-h"] {
        let output = Command::new(env!("CARGO_BIN_EXE_server"))
            .arg(flag)
            .output()
            .unwrap();
        assert_eq!(output.status.code(), Some(0), "{flag}");
        let text = String::from_utf8_lossy(&output.stdout);
        for var in server::contract::env::VARIABLES {
            assert!(text.contains(var), "{flag}: {var} missing from\n{text}");
        }
        assert!(text.contains("[default: 8000]"), "{text}");
    }
}

#[test]
fn healthcheck_reports_readiness_by_exit_code() {
    let service = start();
    let port = service.addr().port().to_string();
    let healthy = Command::new(env!("CARGO_BIN_EXE_server"))
        .arg("healthcheck")
        .env("PORT", &port)
        .output()
        .unwrap();
    assert_eq!(
        healthy.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&healthy.stderr)
    );
    // Readiness turns off and the listener closes together, at the signal: the probe then
    // finds nothing to ask. (A 503 answer is the probe's unit test.)
    service.stop_accepting();
    let stopping = Command::new(env!("CARGO_BIN_EXE_server"))
        .arg("healthcheck")
        .env("PORT", &port)
        .output()
        .unwrap();
    assert_eq!(stopping.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&stopping.stderr).contains("cannot reach"));
}
