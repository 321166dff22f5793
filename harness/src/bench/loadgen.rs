//! A closed-loop HTTP/1.1 load generator over keep-alive connections.
//!
//! Written here rather than taken from a tool: the machines this runs on have only the Rust
//! toolchain and Docker, and the bench needs per-request latencies and the generator's own CPU
//! time in the same process. Each connection sends one fixed, pre-encoded request, waits for the
//! whole response, and sends the next: no allocation per request, so the generator's cost
//! stays small next to the server's, and is measured anyway.
//!
//! Connections are multiplexed on one event loop per core, not a thread each: with a thread
//! per connection every answer wakes a sleeping thread, and on a small machine the scheduler's
//! work for that lands on the server's side of the exchange and swamps what the server itself
//! does per request.

use std::io::{ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use mio::net::TcpStream as Socket;
use mio::{Events, Interest, Poll, Token};
use server::contract::v2::BINARY_HEADER_LENGTH;

/// How long one exchange may take before it counts as an error and its connection is dropped.
const EXCHANGE_TIMEOUT: Duration = Duration::from_secs(10);

/// How often a loop looks for exchanges over their time and connections to reopen.
const SWEEP: Duration = Duration::from_millis(10);

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

/// Encodes a V2 infer request with binary tensor data: `header`, then `tensors`.
pub fn post_binary(path: &str, header: &str, tensors: &[u8]) -> Vec<u8> {
    let mut request = format!(
        "POST {path} HTTP/1.1\r\nHost: bench\r\n{}: {}\r\nContent-Length: {}\r\n\r\n{header}",
        BINARY_HEADER_LENGTH,
        header.len(),
        header.len() + tensors.len()
    )
    .into_bytes();
    request.extend_from_slice(tensors);
    request
}

/// Encodes a GET request.
pub fn get(path: &str) -> Vec<u8> {
    format!("GET {path} HTTP/1.1\r\nHost: bench\r\n\r\n").into_bytes()
}

/// Runs `load` and merges what every loop recorded.
pub fn run(load: &Load) -> Outcome {
    // Opened one after another, each answered once before the next opens, as a client's pool
    // grows: a burst of simultaneous connects measures the server's accept path instead, and
    // some servers (tiny_http 0.12's task pool) can leave a connection opened in a burst
    // unread for as long as another one lives.
    let mut opened: Vec<Option<TcpStream>> = (0..load.concurrency).map(|_| open(load)).collect();
    let failed = opened.iter().filter(|s| s.is_none()).count() as u64;
    let start = Instant::now();
    let window = Window {
        record_from: start + load.warmup,
        end: start + load.warmup + load.duration,
    };
    let cores = std::thread::available_parallelism().map_or(1, usize::from);
    let loops = load.concurrency.clamp(1, cores);
    // Connections dealt evenly: loop i drives every loops-th one.
    let mut shares: Vec<Vec<Option<TcpStream>>> = (0..loops).map(|_| vec![]).collect();
    for (i, stream) in opened.drain(..).enumerate() {
        shares[i % loops].push(stream);
    }
    let outcomes: Vec<Outcome> = std::thread::scope(|scope| {
        let handles: Vec<_> = shares
            .into_iter()
            .map(|share| scope.spawn(move || drive(load, share, window)))
            .collect();
        handles.into_iter().filter_map(|h| h.join().ok()).collect()
    });
    let mut merged = Outcome {
        elapsed: load.duration,
        errors: failed,
        ..Outcome::default()
    };
    for outcome in outcomes {
        merged.latencies_us.extend(outcome.latencies_us);
        merged.errors += outcome.errors;
    }
    merged
}

/// Opens a connection and makes one exchange on it, not recorded.
fn open(load: &Load) -> Option<TcpStream> {
    let mut stream = TcpStream::connect(load.addr).ok()?;
    stream.set_nodelay(true).ok()?;
    stream.set_read_timeout(Some(EXCHANGE_TIMEOUT)).ok()?;
    stream.write_all(&load.request).ok()?;
    let mut received = Vec::new();
    let mut chunk = [0u8; 16 * 1024];
    loop {
        let n = stream.read(&mut chunk).ok().filter(|&n| n > 0)?;
        received.extend_from_slice(&chunk[..n]);
        match parse(&received) {
            Parsed::Partial => {}
            Parsed::Invalid => return None,
            Parsed::Whole(_, keep_alive) => return keep_alive.then_some(stream),
        }
    }
}

/// When requests are recorded, and when no new one is sent.
#[derive(Debug, Clone, Copy)]
struct Window {
    record_from: Instant,
    end: Instant,
}

/// One event loop driving the connections opened for it (a `None` is reopened) until the
/// window ends and every exchange sent before then has finished.
fn drive(load: &Load, opened: Vec<Option<TcpStream>>, window: Window) -> Outcome {
    let Ok(poll) = Poll::new() else {
        return Outcome {
            errors: 1,
            ..Outcome::default()
        };
    };
    let mut events = Events::with_capacity(opened.len().max(1));
    let mut conns: Vec<Connection> = opened
        .into_iter()
        .enumerate()
        .map(|(i, stream)| Connection {
            socket: stream.and_then(|s| register(s, &poll, Token(i))),
            ..Connection::default()
        })
        .collect();
    let mut shared = Shared {
        poll,
        load,
        window,
        outcome: Outcome::default(),
    };
    for (i, conn) in conns.iter_mut().enumerate() {
        conn.advance(&mut shared, Token(i));
    }
    let mut swept = Instant::now();
    loop {
        let now = Instant::now();
        if now >= window.end && conns.iter().all(|c| c.sent.is_none()) {
            break;
        }
        if now.duration_since(swept) >= SWEEP {
            swept = now;
            for (i, conn) in conns.iter_mut().enumerate() {
                conn.sweep(&mut shared, Token(i), now);
            }
        }
        if shared.poll.poll(&mut events, Some(SWEEP)).is_err() {
            shared.outcome.errors += 1;
            break;
        }
        for event in &events {
            if let Some(conn) = conns.get_mut(event.token().0) {
                conn.advance(&mut shared, event.token());
            }
        }
    }
    shared.outcome
}

/// What the connections of one loop share: the poll they are registered with, the load, and
/// what they record.
struct Shared<'a> {
    poll: Poll,
    load: &'a Load,
    window: Window,
    outcome: Outcome,
}

/// One keep-alive connection with at most one request outstanding.
#[derive(Debug, Default)]
struct Connection {
    socket: Option<Socket>,
    /// When the outstanding request started to be written; `None` when there is none.
    sent: Option<Instant>,
    /// Bytes of the outstanding request written so far.
    written: usize,
    /// Bytes of the response received so far.
    received: Vec<u8>,
}

/// Where an exchange stands after a step.
enum Step {
    /// The socket has no more to give or take for now.
    Wait,
    /// The connection broke or answered what cannot be read; counted as an error.
    Broken,
    /// A whole response: its status and whether the connection stays open.
    Answered(u16, bool),
}

impl Connection {
    /// Moves this connection on as far as its socket allows: (re)connects, writes the request,
    /// reads the answer, records it and sends the next, until the socket would block.
    fn advance(&mut self, shared: &mut Shared<'_>, token: Token) {
        let Shared {
            poll,
            load,
            window,
            outcome,
        } = shared;
        loop {
            if self.sent.is_none() {
                if Instant::now() >= window.end {
                    return;
                }
                if self.socket.is_none() {
                    match connect(load.addr, poll, token) {
                        Some(socket) => self.socket = Some(socket),
                        None => {
                            // Retried at the next sweep.
                            outcome.errors += 1;
                            return;
                        }
                    }
                }
                self.sent = Some(Instant::now());
                self.written = 0;
                self.received.clear();
            }
            match self.step(&load.request) {
                Step::Wait => return,
                Step::Broken => {
                    outcome.errors += 1;
                    self.close(poll);
                }
                Step::Answered(status, keep_alive) => {
                    if let Some(sent) = self.sent.take()
                        && sent >= window.record_from
                    {
                        let micros = sent.elapsed().as_micros().min(u128::from(u32::MAX));
                        outcome.latencies_us.push(micros as u32);
                        if status != 200 {
                            outcome.errors += 1;
                        }
                    }
                    if !keep_alive {
                        self.close(poll);
                    }
                }
            }
        }
    }

    /// Drops an exchange that has taken too long and reopens a connection that could not be
    /// opened.
    fn sweep(&mut self, shared: &mut Shared<'_>, token: Token, now: Instant) {
        if self
            .sent
            .is_some_and(|sent| now.duration_since(sent) > EXCHANGE_TIMEOUT)
        {
            shared.outcome.errors += 1;
            self.close(&shared.poll);
        }
        if self.socket.is_none() {
            self.advance(shared, token);
        }
    }

    /// Writes what is left of the request, then reads until the response is whole.
    fn step(&mut self, request: &[u8]) -> Step {
        let Some(socket) = self.socket.as_mut() else {
            return Step::Broken;
        };
        while self.written < request.len() {
            match socket.write(&request[self.written..]) {
                Ok(0) => return Step::Broken,
                Ok(n) => self.written += n,
                Err(e) if e.kind() == ErrorKind::WouldBlock => return Step::Wait,
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(_) => return Step::Broken,
            }
        }
        let mut chunk = [0u8; 16 * 1024];
        loop {
            match socket.read(&mut chunk) {
                Ok(0) => return Step::Broken,
                Ok(n) => {
                    self.received.extend_from_slice(&chunk[..n]);
                    match parse(&self.received) {
                        Parsed::Partial => {}
                        Parsed::Invalid => return Step::Broken,
                        Parsed::Whole(status, keep_alive) => {
                            return Step::Answered(status, keep_alive);
                        }
                    }
                }
                Err(e) if e.kind() == ErrorKind::WouldBlock => return Step::Wait,
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(_) => return Step::Broken,
            }
        }
    }

    fn close(&mut self, poll: &Poll) {
        if let Some(mut socket) = self.socket.take() {
            let _ = poll.registry().deregister(&mut socket);
        }
        self.sent = None;
    }
}

/// Opens a connection (blocking: on loopback it is immediate) and registers it for both
/// directions.
fn connect(addr: SocketAddr, poll: &Poll, token: Token) -> Option<Socket> {
    let stream = TcpStream::connect(addr).ok()?;
    stream.set_nodelay(true).ok()?;
    register(stream, poll, token)
}

/// Hands an open connection to the loop.
fn register(stream: TcpStream, poll: &Poll, token: Token) -> Option<Socket> {
    stream.set_nonblocking(true).ok()?;
    let mut socket = Socket::from_std(stream);
    poll.registry()
        .register(&mut socket, token, Interest::READABLE | Interest::WRITABLE)
        .ok()?;
    Some(socket)
}

/// What the bytes received so far hold.
#[derive(Debug, PartialEq)]
enum Parsed {
    Partial,
    Invalid,
    /// A whole response: its status and whether the connection stays open.
    Whole(u16, bool),
}

/// Reads a response with a `Content-Length` body (or none); a chunked answer is not one the
/// servers under test give, and counts as invalid.
fn parse(received: &[u8]) -> Parsed {
    let mut headers = [httparse::EMPTY_HEADER; 32];
    let mut response = httparse::Response::new(&mut headers);
    let head = match response.parse(received) {
        Ok(httparse::Status::Complete(head)) => head,
        Ok(httparse::Status::Partial) => return Parsed::Partial,
        Err(_) => return Parsed::Invalid,
    };
    let (mut length, mut keep_alive) = (0usize, response.version == Some(1));
    for header in response.headers.iter() {
        let value = std::str::from_utf8(header.value).unwrap_or("").trim();
        if header.name.eq_ignore_ascii_case("content-length") {
            match value.parse() {
                Ok(n) => length = n,
                Err(_) => return Parsed::Invalid,
            }
        } else if header.name.eq_ignore_ascii_case("transfer-encoding") {
            return Parsed::Invalid;
        } else if header.name.eq_ignore_ascii_case("connection") {
            keep_alive = !value.eq_ignore_ascii_case("close");
        }
    }
    if received.len() < head + length {
        return Parsed::Partial;
    }
    Parsed::Whole(response.code.unwrap_or(0), keep_alive)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_a_response_as_it_arrives() {
        let whole = b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello";
        for cut in 0..whole.len() {
            assert_eq!(parse(&whole[..cut]), Parsed::Partial, "cut at {cut}");
        }
        assert_eq!(parse(whole), Parsed::Whole(200, true));
        let closing =
            b"HTTP/1.1 503 Service Unavailable\r\nConnection: close\r\nContent-Length: 0\r\n\r\n";
        assert_eq!(parse(closing), Parsed::Whole(503, false));
        assert_eq!(
            parse(b"HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n"),
            Parsed::Whole(200, false)
        );
        assert_eq!(
            parse(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"),
            Parsed::Invalid
        );
        assert_eq!(parse(b"garbage\r\n\r\n"), Parsed::Invalid);
    }

    #[test]
    fn drives_every_connection_against_a_real_server() {
        // A server of a few lines that answers each request on its own keep-alive connection.
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let addr = listener.local_addr().expect("addr");
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                std::thread::spawn(move || answer_each(stream));
            }
        });
        let load = Load {
            addr,
            request: get("/health"),
            concurrency: 5,
            warmup: Duration::from_millis(50),
            duration: Duration::from_millis(200),
        };
        let outcome = run(&load);
        assert_eq!(outcome.errors, 0);
        assert!(
            outcome.latencies_us.len() >= 5,
            "{}",
            outcome.latencies_us.len()
        );
    }

    fn answer_each(mut stream: TcpStream) {
        let mut buf = Vec::new();
        let mut chunk = [0u8; 1024];
        while let Ok(n) = stream.read(&mut chunk) {
            if n == 0 {
                return;
            }
            buf.extend_from_slice(&chunk[..n]);
            while let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                buf.drain(..end + 4);
                let answer = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";
                if stream.write_all(answer).is_err() {
                    return;
                }
            }
        }
    }
}
