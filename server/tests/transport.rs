//! The transport's bounds, over real sockets on 127.0.0.1 against the real binary as a child
//! process, so that the figures read from /proc are its own: idle connections cost no threads,
//! a huge head costs no memory, a slow head times out, the connection cap holds, pipelined and
//! chunked requests work, and SIGTERM loses no request that had been sent or begun. Times are printed,
//! never asserted; no sleep decides an outcome.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use server::contract::lifecycle::{ADDR, EVENT, IN_FLIGHT, IN_FLIGHT_METRIC, LISTENING, STOPPING};

use crate::util::read_response;

/// The server binary on a free port with `env`, and its address once it listens.
pub(crate) fn spawn(
    env: &[(&str, &str)],
) -> (
    Child,
    SocketAddr,
    std::io::Lines<BufReader<std::process::ChildStdout>>,
) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_server"))
        .env("HOST", "127.0.0.1")
        .env("PORT", "0")
        .env("LOG_FORMAT", "json")
        .envs(env.iter().copied())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut log = BufReader::new(child.stdout.take().unwrap()).lines();
    let addr = log
        .by_ref()
        .find_map(|line| {
            let value: Value = serde_json::from_str(&line.unwrap()).ok()?;
            (value[EVENT] == LISTENING).then(|| value[ADDR].as_str().unwrap().parse().unwrap())
        })
        .unwrap();
    (child, addr, log)
}

/// A server for many requests: a log line each, read aside, or the full pipe would stop it.
fn spawn_logging_aside(env: &[(&str, &str)]) -> (Child, SocketAddr) {
    let (child, addr, log) = spawn(env);
    std::thread::spawn(move || log.for_each(drop));
    (child, addr)
}

/// A `/proc/<pid>/status` field, in its own unit (kB for memory).
fn status(child: &Child, field: &str) -> u64 {
    let text = std::fs::read_to_string(format!("/proc/{}/status", child.id())).unwrap();
    text.lines()
        .find_map(|l| {
            l.strip_prefix(field)?
                .trim_start_matches(':')
                .split_whitespace()
                .next()?
                .parse()
                .ok()
        })
        .unwrap()
}

/// A connection whose reads give up after 10 s, so a missing answer fails the test.
pub(crate) fn connect(addr: SocketAddr) -> TcpStream {
    let stream = TcpStream::connect(addr).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    stream
}

/// A one-row `/predict` body for the default model.
fn predict_body() -> String {
    json!({"instances": [[7.4, 0.7, 0.0, 1.9, 0.076, 11, 34, 0.9978, 3.51, 0.56, 9.4]]}).to_string()
}

/// `GET path` on a connection of its own: the status and the body.
fn get(addr: SocketAddr, path: &str) -> (u16, String) {
    let mut stream = connect(addr);
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    read_response(&mut BufReader::new(stream)).unwrap()
}

fn health(addr: SocketAddr) -> u16 {
    get(addr, "/health").0
}

/// One scrape of `/metrics`.
fn metrics(addr: SocketAddr) -> String {
    get(addr, "/metrics").1
}

pub(crate) fn stop(mut child: Child) {
    let _ = child.kill();
    let _ = child.wait();
}

/// 3,000 idle keep-alive connections: the thread count stays the workers plus a small
/// constant, memory stays small, and a fresh connection is still answered.
#[test]
fn three_thousand_idle_connections_cost_no_threads() {
    rlimit::increase_nofile_limit(u64::MAX).unwrap();
    let (child, addr, _log) = spawn(&[("WORKERS", "4")]);
    let threads_before = status(&child, "Threads");
    let started = Instant::now();
    let idle: Vec<TcpStream> = (0..3000)
        .map(|_| TcpStream::connect(addr).unwrap())
        .collect();
    // Every connection answered is every connection accepted before it.
    assert_eq!(health(addr), 200);
    let threads = status(&child, "Threads");
    let rss_kb = status(&child, "VmRSS");
    eprintln!(
        "3000 idle connections in {:?}: threads {threads_before} -> {threads}, RSS {rss_kb} kB",
        started.elapsed()
    );
    assert!(threads <= 4 + 4, "{threads} threads");
    assert!(rss_kb < 30 * 1024, "RSS {rss_kb} kB");
    drop(idle);
    stop(child);
}

/// A 64 MiB head is refused with 431 after the limit, without being held in memory.
#[test]
fn a_huge_head_is_refused_without_being_read() {
    let (child, addr, _log) = spawn(&[]);
    let mut stream = connect(addr);
    stream
        .write_all(b"GET /health HTTP/1.1\r\nHost: t\r\nX-Padding: ")
        .unwrap();
    let chunk = vec![b'y'; 1 << 20];
    // The server answers and closes once the limit is passed: writing then fails.
    for _ in 0..64 {
        if stream.write_all(&chunk).is_err() {
            break;
        }
    }
    let (status, body) = read_response(&mut BufReader::new(&stream)).unwrap();
    assert_eq!(status, 431, "{body}");
    assert!(
        body.contains("the request head is larger than the limit of 16384 bytes"),
        "{body}"
    );
    let peak_kb = status_of(&child, "VmHWM");
    eprintln!("64 MiB head: peak RSS {peak_kb} kB");
    assert!(peak_kb < 20 * 1024, "peak RSS {peak_kb} kB");
    assert_eq!(health(addr), 200);
    stop(child);
}

fn status_of(child: &Child, field: &str) -> u64 {
    status(child, field)
}

/// A head that trickles in past HEADER_TIMEOUT_MS gets 408 and the connection is closed.
#[test]
fn a_slow_head_times_out_with_408() {
    let (child, addr, _log) = spawn(&[("HEADER_TIMEOUT_MS", "300")]);
    let mut stream = connect(addr);
    let started = Instant::now();
    stream
        .write_all(b"GET /health HTTP/1.1\r\nHost: t\r\n")
        .unwrap();
    let (status, body) = read_response(&mut BufReader::new(&stream)).unwrap();
    eprintln!("slow head refused after {:?}", started.elapsed());
    assert_eq!(status, 408, "{body}");
    assert_eq!(
        body,
        r#"{"error":"the request did not arrive within 300 ms"}"#
    );
    let mut rest = Vec::new();
    assert_eq!(
        stream.read_to_end(&mut rest).unwrap(),
        0,
        "the connection stays open"
    );
    assert_eq!(health(addr), 200);
    stop(child);
}

/// A body that keeps trickling in past HEADER_TIMEOUT_MS gets 408, whether the event loop
/// holds it (`Content-Length`) or a worker reads it (chunked): every byte resets no clock.
#[test]
fn a_trickling_body_times_out_with_408() {
    let (child, addr, _log) = spawn(&[("HEADER_TIMEOUT_MS", "300")]);
    let heads = [
        "POST /predict HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n",
        "POST /predict HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n64\r\n",
    ];
    for head in heads {
        let mut stream = connect(addr);
        let started = Instant::now();
        stream.write_all(head.as_bytes()).unwrap();
        let writer = stream.try_clone().unwrap();
        // One byte every 20 ms, 100 in all: 2 s, far past the deadline.
        let trickle = std::thread::spawn(move || {
            let mut writer = writer;
            for _ in 0..100 {
                if writer.write_all(b" ").is_err() {
                    return;
                }
                std::thread::sleep(Duration::from_millis(20));
            }
        });
        let (status, body) = read_response(&mut BufReader::new(&stream)).unwrap();
        eprintln!("trickling body refused after {:?}", started.elapsed());
        assert_eq!(status, 408, "{head}: {body}");
        trickle.join().unwrap();
    }
    assert_eq!(health(addr), 200);
    stop(child);
}

/// Bodies half sent, four by length and four chunked, hold no worker: with two workers a new
/// connection is still answered, and each request is served once its body is complete.
#[test]
fn half_sent_bodies_hold_no_worker() {
    let (child, addr, _log) = spawn(&[("WORKERS", "2"), ("HEADER_TIMEOUT_MS", "60000")]);
    let body = predict_body();
    let by_length = format!(
        "POST /predict HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    let half = body.len() / 2;
    let chunked = format!(
        "POST /predict HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n{half:x}\r\n{}\r\n{:x}\r\n{}\r\n0\r\n\r\n",
        &body[..half],
        body.len() - half,
        &body[half..]
    );
    let requests = [by_length, chunked];
    // Each cut inside the body: by length halfway, chunked within its second chunk.
    let splits = [requests[0].len() - half, requests[1].len() - half / 2 - 7];
    let mut uploads: Vec<(TcpStream, usize)> = (0..8)
        .map(|i| {
            let kind = i / 4;
            let mut stream = connect(addr);
            stream
                .write_all(&requests[kind].as_bytes()[..splits[kind]])
                .unwrap();
            (stream, kind)
        })
        .collect();
    // Every upload has begun (the gauge counts the scrape too); were a worker waiting for one
    // of these bodies, asking would wait a minute and time out.
    while in_flight(addr) < 9.0 {}
    assert_eq!(health(addr), 200);
    for (stream, kind) in &mut uploads {
        stream
            .write_all(&requests[*kind].as_bytes()[splits[*kind]..])
            .unwrap();
        let (status, answer) = read_response(&mut BufReader::new(&*stream)).unwrap();
        assert_eq!(status, 200, "{answer}");
    }
    stop(child);
}

/// A client that sends many requests and reads none of the answers holds no worker: with one
/// worker, once its answers fill the socket, other clients are still answered, and every one of
/// its answers is delivered once it reads.
#[test]
fn a_client_slow_to_read_holds_no_worker() {
    const SENT: usize = 500;
    let (child, addr) = spawn_logging_aside(&[("WORKERS", "1")]);
    let mut slow = connect(addr);
    slow.write_all(
        "GET /openapi.json HTTP/1.1\r\nHost: t\r\n\r\n"
            .repeat(SENT)
            .as_bytes(),
    )
    .unwrap();
    // Each scrape is answered beside the stuck connection; the count of answers encoded for
    // it stops growing once the socket is full.
    let mut last = None;
    let answered = loop {
        let count = answered_openapi(addr);
        if last == Some(count) {
            break count;
        }
        last = Some(count);
    };
    eprintln!("{answered} of {SENT} answers encoded before the client read any");
    assert!(answered < SENT, "the answers never filled the socket");
    assert_eq!(health(addr), 200);
    let mut reader = BufReader::new(&slow);
    for i in 0..SENT {
        let answer = read_response(&mut reader);
        assert!(matches!(answer, Ok((200, _))), "answer {i}: {answer:?}");
    }
    stop(child);
}

/// A client that pipelines thousands of requests while it reads the answers keeps the socket
/// full past the read cap, so the worker reads on after each answer without an event: every
/// answer arrives, in order, on the one connection.
#[test]
fn a_long_pipelined_stream_is_answered_whole() {
    const SENT: usize = 20_000;
    let (child, addr) = spawn_logging_aside(&[("WORKERS", "1")]);
    let stream = connect(addr);
    let request = format!(
        "GET /health HTTP/1.1\r\nHost: t\r\nX-Padding: {}\r\n\r\n",
        "y".repeat(2000)
    );
    let mut writer = stream.try_clone().unwrap();
    let sender = std::thread::spawn(move || {
        let batch = request.repeat(100);
        (0..SENT / 100).all(|_| writer.write_all(batch.as_bytes()).is_ok())
    });
    let mut reader = BufReader::new(&stream);
    let answered = (0..SENT)
        .take_while(|_| matches!(read_response(&mut reader), Ok((200, _))))
        .count();
    assert!(sender.join().unwrap(), "the service stopped reading");
    assert_eq!(answered, SENT);
    stop(child);
}

/// How many `/openapi.json` answers the service has encoded, from its metrics.
fn answered_openapi(addr: SocketAddr) -> usize {
    metrics(addr)
        .lines()
        .filter(|l| l.starts_with("http_requests_total{route=\"/openapi.json\""))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<usize>().ok())
        .sum()
}

/// Past MAX_CONNECTIONS a new connection gets 503 with `Connection: close`; the service
/// answers again once one closes.
#[test]
fn the_connection_cap_answers_503() {
    let (child, addr, _log) = spawn(&[("MAX_CONNECTIONS", "3")]);
    let open: Vec<TcpStream> = (0..3).map(|_| TcpStream::connect(addr).unwrap()).collect();
    let mut extra = connect(addr);
    let mut answer = String::new();
    extra.read_to_string(&mut answer).unwrap();
    assert!(answer.starts_with("HTTP/1.1 503"), "{answer}");
    assert!(answer.contains("Connection: close"), "{answer}");
    assert!(
        answer.ends_with(r#"{"error":"too many connections: 3 are open already"}"#),
        "{answer}"
    );
    drop(open);
    // Closed connections are noticed when they are read: ask until one is free again.
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let mut stream = connect(addr);
        stream
            .write_all(b"GET /health HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
            .unwrap();
        let (status, _) = read_response(&mut BufReader::new(stream)).unwrap();
        if status == 200 {
            break;
        }
        assert!(Instant::now() < deadline, "still {status}");
    }
    stop(child);
}

/// Two requests in one write get two answers, in order; a chunked body is read.
#[test]
fn pipelined_and_chunked_requests_are_served() {
    let (child, addr, _log) = spawn(&[]);
    let mut stream = connect(addr);
    let row = predict_body();
    let chunked = format!(
        "POST /predict HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n{:x}\r\n{}\r\n{:x}\r\n{}\r\n0\r\n\r\n",
        10,
        &row[..10],
        row.len() - 10,
        &row[10..]
    );
    let two = format!(
        "GET /health HTTP/1.1\r\nHost: t\r\n\r\n{chunked}GET /ready HTTP/1.1\r\nHost: t\r\n\r\n"
    );
    stream.write_all(two.as_bytes()).unwrap();
    let mut reader = BufReader::new(&stream);
    assert_eq!(
        read_response(&mut reader).unwrap(),
        (200, r#"{"status":"ok"}"#.into())
    );
    let (status, body) = read_response(&mut reader).unwrap();
    assert_eq!(status, 200, "{body}");
    assert!(body.contains(r#""label":"bad""#), "{body}");
    assert_eq!(
        read_response(&mut reader).unwrap(),
        (200, r#"{"status":"ready"}"#.into())
    );
    stop(child);
}

/// An HTTP/1.0 client asking for keep-alive is told so and can send a second request; a client
/// that sends `Expect: 100-continue` gets `100 Continue` before it sends the body.
#[test]
fn http_1_0_keep_alive_and_expect_continue() {
    let (child, addr, _log) = spawn(&[]);
    let stream = connect(addr);
    let mut reader = BufReader::new(&stream);
    for _ in 0..2 {
        (&stream)
            .write_all(b"GET /health HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
            .unwrap();
        let mut head = String::new();
        loop {
            let mut line = String::new();
            reader.read_line(&mut line).unwrap();
            if line == "\r\n" || line.is_empty() {
                break;
            }
            head.push_str(&line);
        }
        assert!(head.starts_with("HTTP/1.0 200"), "{head}");
        assert!(head.contains("Connection: keep-alive\r\n"), "{head}");
        let mut body = [0u8; 15];
        reader.read_exact(&mut body).unwrap();
        assert_eq!(&body, br#"{"status":"ok"}"#);
    }

    let body = predict_body();
    let mut stream = connect(addr);
    write!(
        stream,
        "POST /predict HTTP/1.1\r\nHost: t\r\nExpect: 100-continue\r\nContent-Length: {}\r\n\r\n",
        body.len()
    )
    .unwrap();
    let mut reader = BufReader::new(&stream);
    let mut line = String::new();
    reader.read_line(&mut line).unwrap();
    assert_eq!(line, "HTTP/1.1 100 Continue\r\n");
    reader.read_line(&mut line).unwrap();
    (&stream).write_all(body.as_bytes()).unwrap();
    assert_eq!(read_response(&mut reader).unwrap().0, 200);
    stop(child);
}

/// The `stopping` event, from the server's JSON log.
fn stopping_event(log: &mut impl Iterator<Item = std::io::Result<String>>) -> Value {
    log.find_map(|l| {
        serde_json::from_str::<Value>(&l.unwrap())
            .ok()
            .filter(|v| v[EVENT] == STOPPING)
    })
    .unwrap()
}

/// The in-flight gauge, which counts the scrape asking too.
fn in_flight(addr: SocketAddr) -> f64 {
    metrics(addr)
        .lines()
        .find_map(|l| l.strip_prefix(IN_FLIGHT_METRIC)?.trim().parse().ok())
        .unwrap()
}

/// SIGTERM while requests are still arriving, four within the head and four within the body:
/// each began before the signal (the in-flight gauge shows them, the stopping event counts
/// them), so each is answered 200 once the rest arrives, and the process exits 0.
#[test]
fn sigterm_serves_the_requests_still_arriving() {
    let (mut child, addr, mut log) = spawn(&[]);
    let body = predict_body();
    let request = format!(
        "POST /predict HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    let head_len = request.len() - body.len();
    let splits = [head_len / 2, head_len + body.len() / 2];
    let mut clients: Vec<(TcpStream, usize)> = (0..8)
        .map(|i| {
            let mut stream = connect(addr);
            let split = splits[i % 2];
            stream.write_all(&request.as_bytes()[..split]).unwrap();
            (stream, split)
        })
        .collect();
    let deadline = Instant::now() + Duration::from_secs(10);
    while in_flight(addr) < 9.0 {
        assert!(
            Instant::now() < deadline,
            "the partial requests are not in flight"
        );
    }
    let kill = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(kill.success());
    let stopping = stopping_event(&mut log);
    assert!(stopping[IN_FLIGHT].as_u64() >= Some(8), "{stopping}");
    for (stream, split) in &mut clients {
        stream.write_all(&request.as_bytes()[*split..]).unwrap();
        let (status, answer) = read_response(&mut BufReader::new(&*stream)).unwrap();
        assert_eq!(status, 200, "split at byte {split}: {answer}");
    }
    assert_eq!(child.wait().unwrap().code(), Some(0));
}

/// SIGTERM with requests sent on 16 keep-alive connections: every request whose write
/// completed before `kill` returned is answered 200, none 503, none lost; new connections are
/// refused; the process exits 0.
#[test]
fn sigterm_loses_no_request_sent_before_it() {
    let (mut child, addr, mut log) = spawn(&[]);
    let body = predict_body();
    let request = format!(
        "POST /predict HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    let mut clients: Vec<TcpStream> = (0..16).map(|_| connect(addr)).collect();
    // A first exchange on each, so they are established keep-alive connections.
    for stream in &mut clients {
        stream.write_all(request.as_bytes()).unwrap();
        assert_eq!(read_response(&mut BufReader::new(&*stream)).unwrap().0, 200);
    }
    for stream in &mut clients {
        stream.write_all(request.as_bytes()).unwrap();
    }
    let kill = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(kill.success());
    let (mut ok, mut unavailable, mut lost) = (0, 0, 0);
    for stream in &clients {
        match read_response(&mut BufReader::new(stream)) {
            Ok((200, _)) => ok += 1,
            Ok((503, _)) => unavailable += 1,
            _ => lost += 1,
        }
    }
    eprintln!("SIGTERM with 16 requests sent: {ok} answered 200, {unavailable} 503, {lost} lost");
    assert_eq!((ok, unavailable, lost), (16, 0, 0));
    let stopping = stopping_event(&mut log);
    assert!(stopping["in_flight"].as_u64().is_some(), "{stopping}");
    let refused = TcpStream::connect(addr).map(|_| ()).map_err(|e| e.kind());
    assert_eq!(refused, Err(std::io::ErrorKind::ConnectionRefused));
    assert_eq!(child.wait().unwrap().code(), Some(0));
}

/// A client that ends its side after its requests gets every answer and then the end of the
/// connection, at once: the connection does not wait out the idle time in CLOSE-WAIT.
#[test]
fn a_client_that_ends_its_side_gets_its_answers_and_the_close() {
    let (child, addr, _log) = spawn(&[("IDLE_TIMEOUT_MS", "60000")]);
    for requests in [1, 2] {
        let mut stream = connect(addr);
        let request = "GET /health HTTP/1.1\r\nHost: t\r\n\r\n".repeat(requests);
        stream.write_all(request.as_bytes()).unwrap();
        stream.shutdown(std::net::Shutdown::Write).unwrap();
        let started = Instant::now();
        let mut answers = String::new();
        // Within the client's 10 s read timeout, far below the idle time.
        BufReader::new(&stream)
            .read_to_string(&mut answers)
            .expect("the server closes after answering");
        eprintln!(
            "{requests} request(s) then FIN: closed after {:?}",
            started.elapsed()
        );
        assert_eq!(answers.matches("HTTP/1.1 200 OK").count(), requests);
    }
    stop(child);
}

/// Sixteen connections that send a chunked head and stall hold no body memory they have not
/// been sent, so a body that arrives behind them in a second segment is answered at once, not
/// after their 408s (a minute away here).
#[test]
fn a_body_behind_stalled_chunked_uploads_is_answered() {
    let (child, addr) = spawn_logging_aside(&[("HEADER_TIMEOUT_MS", "60000")]);
    let stalled: Vec<TcpStream> = (0..16)
        .map(|_| {
            let mut stream = connect(addr);
            stream
                .write_all(
                    b"POST /predict HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n",
                )
                .unwrap();
            stream
        })
        .collect();
    while in_flight(addr) < 17.0 {}
    let body = predict_body();
    let mut stream = connect(addr);
    write!(
        stream,
        "POST /predict HTTP/1.1\r\nHost: t\r\nContent-Length: {}\r\n\r\n",
        body.len()
    )
    .unwrap();
    while in_flight(addr) < 18.0 {}
    let started = Instant::now();
    stream.write_all(body.as_bytes()).unwrap();
    let (status, answer) = read_response(&mut BufReader::new(&stream)).unwrap();
    eprintln!(
        "a body behind 16 stalled chunked uploads: answered in {:?}",
        started.elapsed()
    );
    assert_eq!(status, 200, "{answer}");
    drop(stalled);
    stop(child);
}

/// At SIGTERM a connection holding part of a head that never completes is closed once the
/// arrival window ends: the drain completes (`drained: true`) rather than waiting out the grace.
#[test]
fn sigterm_does_not_wait_for_a_stalled_partial_head() {
    let (mut child, addr, mut log) = spawn(&[("HEADER_TIMEOUT_MS", "60000")]);
    let mut stalled = connect(addr);
    stalled.write_all(b"GET /health HTT").unwrap();
    while in_flight(addr) < 2.0 {}
    let started = Instant::now();
    let kill = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(kill.success());
    let stopped = log
        .find_map(|l| {
            serde_json::from_str::<Value>(&l.unwrap())
                .ok()
                .filter(|v| v[EVENT] == server::contract::lifecycle::STOPPED)
        })
        .unwrap();
    eprintln!(
        "SIGTERM with a stalled partial head: stopped after {:?}",
        started.elapsed()
    );
    assert_eq!(
        stopped[server::contract::lifecycle::DRAINED],
        true,
        "{stopped}"
    );
    let (status, _) = read_response(&mut BufReader::new(&stalled)).unwrap();
    assert_eq!(status, 408);
    assert_eq!(child.wait().unwrap().code(), Some(0));
}
