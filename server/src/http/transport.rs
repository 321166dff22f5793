//! The connection layer: HTTP/1.1 over `mio` and `httparse`, feeding rouille requests to a
//! bounded pool of workers.
//!
//! tiny_http gave every connection a thread, had no limit on the request head, no timeout,
//! no cap on connections, and no way to set `Connection`; on SIGTERM it lost requests that had
//! reached the socket. Here one event-loop thread holds every connection that is idle or whose
//! request head is still arriving, so thousands of idle connections cost file descriptors, not
//! threads. It enforces the transport limits before routing (431, 414, 408, 503 with
//! `{"error": …}`), and hands a connection with a complete head to a worker, which reads the
//! body under the limit, runs the pipeline, writes the answer, serves any request already
//! buffered behind it (pipelining), and gives the connection back.
//!
//! Shutdown: the loop accepts what is already in the kernel's accept queue, closes the
//! listener, reads each idle connection once without blocking (serving a request found there),
//! closes the rest, and exits when the last connection is answered. A request counts as in
//! flight from its first byte; every request whose first byte arrived before the sweep is
//! served, answers carry `Connection: close` from the signal on.

use std::collections::HashMap;
use std::io::{self, Read, Write};
use std::net::SocketAddr;
use std::panic::{self, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Receiver};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use mio::net::{TcpListener, TcpStream};
use mio::{Events, Interest, Poll, Token, Waker};
use serde::Serialize;

use crate::contract::errors::{ApiError, shown_path};
use crate::contract::limits::Limits;
use crate::contract::routes;
use crate::http::body::Body;
use crate::http::handoff::{Jobs, Returns};
use crate::http::pipeline;
use crate::http::state::{InFlight, State};

const LISTENER: Token = Token(0);
const WAKER: Token = Token(1);
/// How often the loop looks at timeouts when nothing happens.
const TICK: Duration = Duration::from_millis(50);
/// How long a worker waits for a client to take an answer.
const WRITE_TIMEOUT: Duration = Duration::from_secs(30);
/// Bytes of request bodies the event loop holds, in all, while they arrive; a body that does
/// not fit is read by its worker instead. Bodies arriving slowly then cost memory within this
/// budget, not workers.
const BODY_BUDGET: usize = 32 << 20;
/// How long accepting pauses when the process has no file descriptor left.
const FD_PAUSE: Duration = Duration::from_millis(100);

/// A connection and what has been read from it but not yet used. It stays registered with
/// the event loop under one token for its whole life, also while a worker has it.
#[derive(Debug)]
struct Conn {
    token: Token,
    stream: TcpStream,
    peer: SocketAddr,
    buf: Vec<u8>,
    /// When the connection became idle, or when the current request's first byte arrived.
    since: Instant,
    /// Set from a request's first byte until its answer is written.
    entry: Option<InFlight>,
    /// Its request began before the shutdown sweep (or it came back from a worker after the
    /// sweep, answered with keep-alive): the request is served normally, however late it
    /// completes.
    admit: bool,
    /// A parsed head whose body is still arriving.
    pending: Option<Pending>,
    /// The loop stopped reading at its cap with bytes still in the socket: no edge will come
    /// for them.
    unread: bool,
}

/// A request head waiting for its body in the event loop.
#[derive(Debug)]
struct Pending {
    head: Head,
    /// Body bytes reserved for it in [`BODY_BUDGET`]; 0 when its worker reads the body.
    reserved: usize,
}

/// A parsed request head.
#[derive(Debug)]
struct Head {
    method: String,
    url: String,
    minor_version: u8,
    headers: Vec<(String, String)>,
}

impl Head {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The body length the loop may wait for: a `Content-Length`, unless the body is chunked
    /// or the client waits for `100 Continue` before sending it.
    fn body_to_buffer(&self) -> Option<usize> {
        let chunked = self.header("Transfer-Encoding").is_some();
        let expects = self.header("Expect").is_some();
        if chunked || expects {
            return None;
        }
        self.header("Content-Length")?.trim().parse().ok()
    }

    /// Whether the client wants the connection kept: HTTP/1.1 unless it says `close`, HTTP/1.0
    /// only when it says `keep-alive`.
    fn keep_alive(&self) -> bool {
        let connection = self.header("Connection").map(str::to_ascii_lowercase);
        match self.minor_version {
            0 => connection.is_some_and(|c| c.contains("keep-alive")),
            _ => !connection.is_some_and(|c| c.contains("close")),
        }
    }
}

/// A connection with a complete request head, for a worker.
#[derive(Debug)]
struct Job {
    conn: Conn,
    head: Head,
    /// Whether the request arrived before shutdown: it is then served normally.
    admitted: bool,
    /// When the request's first byte arrived: all of it must have arrived within the header
    /// timeout from then.
    since: Instant,
}

/// What the workers give back to the loop.
#[derive(Debug)]
enum Returned {
    /// A keep-alive connection, idle or with part of the next request buffered.
    Conn(Conn),
    /// A connection the worker closed.
    Closed,
}

/// The running transport: one event loop and its workers.
#[derive(Debug)]
pub struct Transport {
    addr: SocketAddr,
    shutting_down: Arc<AtomicBool>,
    waker: Arc<Waker>,
    swept: Mutex<Receiver<()>>,
    done: Mutex<Receiver<()>>,
}

impl Transport {
    /// Serves `listener` with `workers` threads until [`Transport::shut_down`].
    pub fn start(
        listener: std::net::TcpListener,
        state: Arc<State>,
        workers: usize,
    ) -> io::Result<Transport> {
        listener.set_nonblocking(true)?;
        let addr = listener.local_addr()?;
        let listener = TcpListener::from_std(listener);
        let poll = Poll::new()?;
        let waker = Arc::new(Waker::new(poll.registry(), WAKER)?);
        let shutting_down = Arc::new(AtomicBool::new(false));
        // A bounded queue: a burst beyond what the workers take waits in the loop's sockets.
        let jobs = Arc::new(Jobs::new(workers.max(1) * 4));
        let returns = Arc::new(Returns::default());
        for i in 0..workers.max(1) {
            let worker = Worker {
                state: Arc::clone(&state),
                jobs: Arc::clone(&jobs),
                returns: Arc::clone(&returns),
                waker: Arc::clone(&waker),
                shutting_down: Arc::clone(&shutting_down),
            };
            thread::Builder::new()
                .name(format!("worker-{i}"))
                .spawn(move || worker.run())?;
        }
        let (finished, done) = mpsc::channel();
        let (sweep_done, swept) = mpsc::channel();
        let event_loop = EventLoop {
            sweep_done,
            poll,
            listener: Some(listener),
            conns: HashMap::new(),
            next_token: 2,
            busy: 0,
            buffered: 0,
            chunk: vec![0; 8192],
            state,
            jobs,
            returns,
            shutting_down: Arc::clone(&shutting_down),
            swept: false,
            accept_paused_until: None,
        };
        thread::Builder::new()
            .name("event-loop".into())
            .spawn(move || {
                event_loop.run();
                let _ = finished.send(());
            })?;
        Ok(Transport {
            addr,
            shutting_down,
            waker,
            swept: Mutex::new(swept),
            done: Mutex::new(done),
        })
    }

    /// The bound address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Accepts what the kernel has queued, closes the listener and sweeps the idle
    /// connections; returns once that is done, so that new connections are refused from then
    /// on and every request that had arrived is in flight.
    pub fn stop_accepting(&self) {
        self.shutting_down.store(true, Ordering::Release);
        let _ = self.waker.wake();
        let swept = self.swept.lock().unwrap_or_else(|e| e.into_inner());
        let _ = swept.recv_timeout(Duration::from_secs(1));
    }

    /// Waits up to `grace` for the last answer after [`Transport::stop_accepting`]. True when
    /// every connection was answered and closed in time.
    pub fn wait(&self, grace: Duration) -> bool {
        let done = self.done.lock().unwrap_or_else(|e| e.into_inner());
        done.recv_timeout(grace).is_ok()
    }
}

struct EventLoop {
    sweep_done: mpsc::Sender<()>,
    poll: Poll,
    listener: Option<TcpListener>,
    conns: HashMap<Token, Conn>,
    next_token: usize,
    /// Connections with a worker.
    busy: usize,
    /// Body bytes reserved by pending requests, within [`BODY_BUDGET`].
    buffered: usize,
    /// Where reads land before they join a connection's buffer; zeroed once, not per read.
    chunk: Vec<u8>,
    state: Arc<State>,
    jobs: Arc<Jobs<Job>>,
    returns: Arc<Returns<Returned>>,
    shutting_down: Arc<AtomicBool>,
    /// Shutdown has accepted the queued connections and read each idle one once.
    swept: bool,
    accept_paused_until: Option<Instant>,
}

impl EventLoop {
    fn limits(&self) -> Limits {
        self.state.limits()
    }

    fn run(mut self) {
        if let Some(listener) = self.listener.as_mut()
            && self
                .poll
                .registry()
                .register(listener, LISTENER, Interest::READABLE)
                .is_err()
        {
            return;
        }
        let mut events = Events::with_capacity(1024);
        loop {
            if self.poll.poll(&mut events, Some(TICK)).is_err() {
                continue;
            }
            let ready: Vec<Token> = events.iter().map(|e| e.token()).collect();
            for token in ready {
                match token {
                    LISTENER => self.accept(),
                    WAKER => {}
                    token => self.read(token),
                }
            }
            self.take_back();
            if self
                .accept_paused_until
                .is_some_and(|until| Instant::now() >= until)
            {
                self.accept_paused_until = None;
                self.accept();
            }
            self.expire();
            if self.shutting_down.load(Ordering::Acquire) && !self.swept {
                self.sweep();
            }
            if self.swept && self.conns.is_empty() && self.busy == 0 {
                self.jobs.close();
                return;
            }
        }
    }

    fn accept(&mut self) {
        if self.accept_paused_until.is_some() {
            return;
        }
        // Connections come back from the workers without waking the loop: count them now, or
        // the cap would count connections already closed.
        self.take_back();
        loop {
            let Some(listener) = self.listener.as_ref() else {
                return;
            };
            match listener.accept() {
                Ok((mut stream, peer)) => {
                    if self.conns.len() + self.busy >= self.limits().max_connections {
                        let error = ApiError::TooManyConnections {
                            limit: self.limits().max_connections,
                        };
                        refuse(&self.state, &mut stream, &error);
                        continue;
                    }
                    let _ = stream.set_nodelay(true);
                    // Once per connection: a worker's blocking writes are bounded by this
                    // (its blocking reads by each request's deadline).
                    if socket2::SockRef::from(&stream)
                        .set_write_timeout(Some(WRITE_TIMEOUT))
                        .is_err()
                    {
                        continue;
                    }
                    let token = Token(self.next_token);
                    self.next_token += 1;
                    if self
                        .poll
                        .registry()
                        .register(&mut stream, token, Interest::READABLE)
                        .is_err()
                    {
                        continue;
                    }
                    self.conns.insert(
                        token,
                        Conn {
                            token,
                            stream,
                            peer,
                            buf: Vec::new(),
                            since: Instant::now(),
                            entry: None,
                            admit: false,
                            pending: None,
                            unread: false,
                        },
                    );
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) if matches!(e.raw_os_error(), Some(23 | 24)) => {
                    // No file descriptor left (ENFILE, EMFILE): try again shortly rather
                    // than spin on a listener that stays readable.
                    self.accept_paused_until = Some(Instant::now() + FD_PAUSE);
                    return;
                }
                Err(_) => return,
            }
        }
    }

    /// Reads what has arrived on `token`, and acts on a complete or faulty head.
    fn read(&mut self, token: Token) {
        if !self.conns.contains_key(&token) {
            // A worker has it, or had it: take back what has come back, and note the event
            // for the connection if it is still away.
            let back = self.returns.miss(token);
            self.put_back(back);
            return;
        }
        loop {
            let eof = self.read_some(token);
            self.advance(token, eof);
            // Reading stopped at the cap for a head; now that the head is parsed, its body is
            // read on: no edge will come for bytes already in the socket.
            let again = self.conns.get(&token).is_some_and(|c| {
                c.unread && c.pending.as_ref().is_some_and(|p| c.buf.len() < p.reserved)
            });
            if !again {
                return;
            }
        }
    }

    /// Reads what `token`'s socket has, up to the cap; true at the end of the stream.
    fn read_some(&mut self, token: Token) -> bool {
        let Some(conn) = self.conns.get_mut(&token) else {
            return false;
        };
        let chunk = &mut self.chunk[..];
        let mut eof = false;
        // Never hold more than a head can be, or than the body reserved, and a little more.
        let cap = conn
            .pending
            .as_ref()
            .map_or(self.state.limits().max_header_bytes, |p| p.reserved)
            + chunk.len();
        conn.unread = false;
        loop {
            match conn.stream.read(chunk) {
                Ok(0) => {
                    eof = true;
                    break;
                }
                Ok(n) => {
                    if conn.entry.is_none() {
                        // A request's first byte: it is in flight from now on.
                        conn.entry = Some(self.state.enter());
                        conn.since = Instant::now();
                    }
                    conn.buf.extend_from_slice(&chunk[..n]);
                    // A short read emptied the socket: what arrives later raises a new edge.
                    if n < chunk.len() {
                        break;
                    }
                    if conn.buf.len() > cap {
                        conn.unread = true;
                        break;
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(_) => {
                    eof = true;
                    break;
                }
            }
        }
        eof
    }

    /// Parses the buffered head of `token`'s connection and waits for its body (within the
    /// budget), then hands the request to a worker; or refuses it, or leaves it to wait for
    /// more bytes.
    fn advance(&mut self, token: Token, eof: bool) {
        let limits = self.limits();
        let Some(conn) = self.conns.get_mut(&token) else {
            return;
        };
        if conn.pending.is_none() {
            match parse_head(&conn.buf, limits) {
                Parsed::Complete(head, used) => {
                    conn.buf.drain(..used);
                    let reserved = match head.body_to_buffer() {
                        Some(len)
                            if len > conn.buf.len()
                                && len <= limits.max_body_bytes
                                && self.buffered + len <= BODY_BUDGET =>
                        {
                            len
                        }
                        _ => 0,
                    };
                    self.buffered += reserved;
                    conn.pending = Some(Pending { head, reserved });
                }
                Parsed::Partial => {
                    if eof {
                        self.close(token);
                    }
                    return;
                }
                Parsed::Refused(error) => {
                    if let Some(mut conn) = self.remove(token) {
                        refuse(&self.state, &mut conn.stream, &error);
                    }
                    return;
                }
            }
        }
        let arriving = conn
            .pending
            .as_ref()
            .is_some_and(|p| conn.buf.len() < p.reserved);
        if arriving {
            if eof {
                self.close(token);
            }
            return;
        }
        // The connection stays registered: events while a worker has it are noted in
        // `returns`.
        let Some(mut conn) = self.remove(token) else {
            return;
        };
        let Some(Pending { head, .. }) = conn.pending.take() else {
            return;
        };
        let admitted = !self.swept || conn.admit;
        let since = conn.since;
        // When every worker is busy and the queue is full this waits for one, as the kernel
        // would have queued the connection anyway.
        let job = Job {
            conn,
            head,
            admitted,
            since,
        };
        if self.jobs.push(job).is_ok() {
            self.busy += 1;
        }
    }

    /// Takes `token`'s connection out of the loop, releasing its body reservation.
    fn remove(&mut self, token: Token) -> Option<Conn> {
        let conn = self.conns.remove(&token)?;
        if let Some(pending) = &conn.pending {
            self.buffered = self.buffered.saturating_sub(pending.reserved);
        }
        Some(conn)
    }

    /// Takes back the connections the workers are done with.
    fn take_back(&mut self) {
        let back = self.returns.take();
        self.put_back(back);
    }

    /// Puts connections back from the workers; one that became readable while away is read
    /// now, as its edge has passed.
    fn put_back(&mut self, back: Vec<(Token, Returned, bool)>) {
        for (token, returned, missed) in back {
            self.busy = self.busy.saturating_sub(1);
            let Returned::Conn(mut conn) = returned else {
                continue;
            };
            if self.swept {
                // It was answered with keep-alive before the sweep could read it: a request
                // the client sent since then is served, then the connection is closed.
                conn.admit = true;
                self.conns.insert(token, conn);
                self.read(token);
                if self.conns.get(&token).is_some_and(|c| c.entry.is_none()) {
                    self.close(token);
                }
                continue;
            }
            let waiting = !conn.buf.is_empty();
            let unread = conn.unread;
            self.conns.insert(token, conn);
            if missed || unread {
                self.read(token);
            } else if waiting {
                // Part of a pipelined request: parse what is buffered.
                self.advance(token, false);
            }
        }
    }

    /// Closes idle connections past the idle time, and refuses heads past the header time.
    fn expire(&mut self) {
        let limits = self.limits();
        let now = Instant::now();
        let idle = Duration::from_millis(limits.idle_timeout_ms);
        let head = Duration::from_millis(limits.header_timeout_ms);
        let expired: Vec<(Token, bool)> = self
            .conns
            .iter()
            .filter_map(|(token, conn)| match conn.entry {
                None if now.duration_since(conn.since) >= idle => Some((*token, false)),
                Some(_) if now.duration_since(conn.since) >= head => Some((*token, true)),
                _ => None,
            })
            .collect();
        for (token, started) in expired {
            if let Some(mut conn) = self.remove(token) {
                let _ = self.poll.registry().deregister(&mut conn.stream);
                if started {
                    let error = ApiError::RequestTimeout {
                        millis: limits.header_timeout_ms,
                    };
                    refuse(&self.state, &mut conn.stream, &error);
                }
            }
        }
    }

    /// Shutdown: accept what the kernel has queued, close the listener, read every idle
    /// connection once (serving what is there), and close the idle ones.
    fn sweep(&mut self) {
        self.accept_paused_until = None;
        self.accept();
        if let Some(mut listener) = self.listener.take() {
            let _ = self.poll.registry().deregister(&mut listener);
        }
        let tokens: Vec<Token> = self.conns.keys().copied().collect();
        for token in &tokens {
            self.read(*token);
        }
        // Requests begun until now arrived before the sweep: they are served, also those whose
        // head or body is still arriving.
        self.swept = true;
        for conn in self.conns.values_mut() {
            conn.admit = conn.entry.is_some();
        }
        let idle: Vec<Token> = self
            .conns
            .iter()
            .filter(|(_, conn)| conn.entry.is_none())
            .map(|(token, _)| *token)
            .collect();
        for token in idle {
            self.close(token);
        }
        let _ = self.sweep_done.send(());
    }

    fn close(&mut self, token: Token) {
        if let Some(mut conn) = self.remove(token) {
            let _ = self.poll.registry().deregister(&mut conn.stream);
        }
    }
}

/// A head as far as it has arrived.
enum Parsed {
    Complete(Head, usize),
    Partial,
    Refused(ApiError),
}

fn parse_head(buf: &[u8], limits: Limits) -> Parsed {
    let line_end = buf.windows(2).position(|w| w == b"\r\n");
    let line_len = line_end.unwrap_or(buf.len());
    if line_len > limits.max_request_line_bytes {
        return Parsed::Refused(ApiError::RequestLineTooLong {
            limit: limits.max_request_line_bytes,
        });
    }
    let head_end = buf.windows(4).position(|w| w == b"\r\n\r\n");
    if head_end.unwrap_or(buf.len()) > limits.max_header_bytes {
        return Parsed::Refused(ApiError::HeaderTooLarge {
            limit: limits.max_header_bytes,
        });
    }
    let mut headers = [httparse::EMPTY_HEADER; 100];
    let mut request = httparse::Request::new(&mut headers);
    match request.parse(buf) {
        Ok(httparse::Status::Complete(used)) => Parsed::Complete(
            Head {
                method: request.method.unwrap_or_default().to_owned(),
                url: request.path.unwrap_or_default().to_owned(),
                minor_version: request.version.unwrap_or(1),
                headers: request
                    .headers
                    .iter()
                    .map(|h| {
                        (
                            h.name.to_owned(),
                            String::from_utf8_lossy(h.value).into_owned(),
                        )
                    })
                    .collect(),
            },
            used,
        ),
        Ok(httparse::Status::Partial) => Parsed::Partial,
        Err(httparse::Error::TooManyHeaders) => Parsed::Refused(ApiError::HeaderTooLarge {
            limit: limits.max_header_bytes,
        }),
        Err(e) => Parsed::Refused(ApiError::MalformedHead {
            detail: e.to_string(),
        }),
    }
}

#[derive(Serialize)]
struct ErrorBody {
    error: String,
}

/// Answers `error` on a raw connection and closes it; best effort, as the client may be gone.
/// Counted in the metrics under the route `transport`.
fn refuse(state: &State, stream: &mut TcpStream, error: &ApiError) {
    let status = error.status(routes::Api::Seed);
    let body = serde_json::to_string(&ErrorBody {
        error: error.to_string(),
    })
    .unwrap_or_default();
    let response = format!(
        "HTTP/1.1 {status} {}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        reason(status),
        body.len()
    );
    let _ = stream.write_all(response.as_bytes());
    let _ = stream.flush();
    let _ = stream.shutdown(std::net::Shutdown::Write);
    state
        .metrics()
        .observe("transport", "OTHER", status, Duration::ZERO);
    tracing::info!(status, error = %error, "{}", crate::contract::lifecycle::REQUEST);
}

struct Worker {
    state: Arc<State>,
    jobs: Arc<Jobs<Job>>,
    returns: Arc<Returns<Returned>>,
    waker: Arc<Waker>,
    shutting_down: Arc<AtomicBool>,
}

impl Worker {
    fn run(self) {
        loop {
            let Some(job) = self.jobs.pop() else {
                return;
            };
            let token = job.conn.token;
            let returned = self.serve(job);
            // The loop needs waking only when it waits for this connection, or for the
            // last answer at shutdown.
            if self.returns.give_back(token, returned) || self.shutting_down.load(Ordering::Acquire)
            {
                let _ = self.waker.wake();
            }
        }
    }

    /// Serves the job's request and any complete one buffered behind it.
    fn serve(&self, job: Job) -> Returned {
        let Job {
            conn,
            mut head,
            admitted,
            since,
        } = job;
        let Conn {
            token,
            stream,
            peer,
            buf,
            entry,
            ..
        } = conn;
        let mut entry = entry;
        let limits = self.state.limits();
        let timeout = Duration::from_millis(limits.header_timeout_ms);
        let mut reader = Buffered {
            buf,
            stream: stream.into(),
            blocking: false,
            deadline: since + timeout,
        };
        loop {
            let keep = self.answer(&mut reader, &head, admitted, peer);
            drop(entry.take());
            if !keep {
                linger(&mut reader);
                return Returned::Closed;
            }
            // A pipelined request already buffered is served here, in order.
            match parse_head(&reader.buf, limits) {
                Parsed::Complete(next, used) => {
                    reader.buf.drain(..used);
                    head = next;
                    entry = Some(self.state.enter());
                    reader.deadline = Instant::now() + timeout;
                }
                _ => break,
            }
        }
        let Buffered {
            buf,
            stream,
            blocking,
            ..
        } = reader;
        if blocking && stream.set_nonblocking(true).is_err() {
            return Returned::Closed;
        }
        let started = !buf.is_empty();
        Returned::Conn(Conn {
            token,
            stream: TcpStream::from_std(stream),
            peer,
            buf,
            since: Instant::now(),
            entry: started.then(|| self.state.enter()),
            admit: false,
            pending: None,
            unread: false,
        })
    }

    /// Reads the body, runs the pipeline, writes the answer. Returns whether the connection
    /// stays open.
    fn answer(&self, reader: &mut Buffered, head: &Head, admitted: bool, peer: SocketAddr) -> bool {
        let limits = self.state.limits();
        let mut keep = head.keep_alive() && !self.shutting_down.load(Ordering::Acquire);
        let body = match read_body(reader, head, limits.max_body_bytes) {
            Ok(body) => body,
            Err(Unread::TooLarge) => {
                // The body was not read: the connection cannot carry another request.
                keep = false;
                Err(ApiError::BodyTooLarge {
                    limit: limits.max_body_bytes,
                })
            }
            Err(Unread::Timeout) => {
                let error = ApiError::RequestTimeout {
                    millis: limits.header_timeout_ms,
                };
                let response = pipeline::error_response(&error, routes::Api::Seed);
                let _ = write_response(reader, head, response, false);
                return false;
            }
            Err(Unread::Broken(detail)) => {
                keep = false;
                Err(ApiError::Invalid { detail })
            }
        };
        let request = rouille::Request::fake_http_from(
            peer,
            head.method.clone(),
            head.url.clone(),
            head.headers.clone(),
            Vec::new(),
        );
        let response = panic::catch_unwind(AssertUnwindSafe(|| {
            pipeline::handle(&self.state, admitted, &request, body)
        }))
        .unwrap_or_else(|_| {
            pipeline::error_response(
                &ApiError::Internal("the server failed to answer this request"),
                routes::api_of(&shown_path(&head.url)),
            )
        });
        if response
            .headers
            .iter()
            .any(|(k, v)| k.eq_ignore_ascii_case("Connection") && v.eq_ignore_ascii_case("close"))
        {
            keep = false;
        }
        write_response(reader, head, response, keep).is_ok() && keep
    }
}

/// The stream, and bytes read from it that are not used yet.
///
/// The socket stays non-blocking while what it needs is at hand, which is the common case (the
/// whole request arrived with its head, the answer fits the send buffer). Only a body still
/// arriving or an answer the client is slow to take switches it to blocking, bounded by the
/// request's deadline and the write timeout set at accept; it is switched back before the
/// connection returns to the loop.
struct Buffered {
    buf: Vec<u8>,
    stream: std::net::TcpStream,
    blocking: bool,
    /// When the current request must have arrived whole.
    deadline: Instant,
}

impl Buffered {
    /// Switches the socket to blocking for the rest of this visit.
    fn block(&mut self) -> io::Result<()> {
        if !self.blocking {
            self.stream.set_nonblocking(false)?;
            self.blocking = true;
        }
        Ok(())
    }

    /// Reads more into the buffer; false at the end of the stream. A blocking read waits no
    /// longer than the request's deadline, however slowly its bytes trickle in.
    fn fill(&mut self) -> io::Result<bool> {
        let mut chunk = [0u8; 8192];
        loop {
            if self.blocking {
                let left = self.deadline.saturating_duration_since(Instant::now());
                if left.is_zero() {
                    return Err(io::ErrorKind::TimedOut.into());
                }
                self.stream.set_read_timeout(Some(left))?;
            }
            match self.stream.read(&mut chunk) {
                Ok(n) => {
                    self.buf.extend_from_slice(&chunk[..n]);
                    return Ok(n > 0);
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock && !self.blocking => {
                    self.block()?;
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
    }

    /// Writes all of `data`, waiting for the client only when it is slow to take it.
    fn write_all(&mut self, mut data: &[u8]) -> io::Result<()> {
        while !data.is_empty() {
            match self.stream.write(data) {
                Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
                Ok(n) => data = &data[n..],
                Err(e) if e.kind() == io::ErrorKind::WouldBlock && !self.blocking => {
                    self.block()?;
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }

    /// Takes exactly `n` bytes, reading as needed.
    fn take(&mut self, n: usize) -> io::Result<Vec<u8>> {
        while self.buf.len() < n {
            if !self.fill()? {
                return Err(io::ErrorKind::UnexpectedEof.into());
            }
        }
        // The body is the buffer, or its start: only what follows it is copied.
        let rest = self.buf.split_off(n);
        Ok(std::mem::replace(&mut self.buf, rest))
    }

    /// Takes one CRLF-terminated line, without the CRLF; at most `max` bytes.
    fn line(&mut self, max: usize) -> io::Result<Vec<u8>> {
        loop {
            if let Some(end) = self.buf.windows(2).position(|w| w == b"\r\n") {
                let line = self.buf.drain(..end + 2).take(end).collect();
                return Ok(line);
            }
            if self.buf.len() > max {
                return Err(io::ErrorKind::InvalidData.into());
            }
            if !self.fill()? {
                return Err(io::ErrorKind::UnexpectedEof.into());
            }
        }
    }
}

/// Why a body was not read.
enum Unread {
    TooLarge,
    Timeout,
    Broken(String),
}

impl From<io::Error> for Unread {
    fn from(e: io::Error) -> Unread {
        match e.kind() {
            io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut => Unread::Timeout,
            _ => Unread::Broken(format!("cannot read the request body: {e}")),
        }
    }
}

/// Reads the body `head` declares, never holding more than `limit` bytes of it.
fn read_body(reader: &mut Buffered, head: &Head, limit: usize) -> Result<Body, Unread> {
    let chunked = head
        .header("Transfer-Encoding")
        .is_some_and(|t| t.to_ascii_lowercase().contains("chunked"));
    let declared = head
        .header("Content-Length")
        .map(|l| l.trim().parse::<u64>());
    if let Some(Ok(len)) = declared
        && len > limit as u64
    {
        return Err(Unread::TooLarge);
    }
    if head
        .header("Expect")
        .is_some_and(|e| e.eq_ignore_ascii_case("100-continue"))
    {
        reader
            .write_all(b"HTTP/1.1 100 Continue\r\n\r\n")
            .map_err(Unread::from)?;
    }
    if chunked {
        let mut body = Vec::new();
        loop {
            let line = reader.line(1024)?;
            let size = std::str::from_utf8(&line)
                .ok()
                .and_then(|l| usize::from_str_radix(l.split(';').next()?.trim(), 16).ok())
                .ok_or_else(|| Unread::Broken("a chunk size is not hexadecimal".into()))?;
            if size == 0 {
                // Trailers, up to the empty line.
                while !reader.line(8192)?.is_empty() {}
                return Ok(Ok(body));
            }
            if body.len() + size > limit {
                return Err(Unread::TooLarge);
            }
            body.extend(reader.take(size)?);
            if !reader.take(2)?.eq(b"\r\n") {
                return Err(Unread::Broken("a chunk does not end with CRLF".into()));
            }
        }
    }
    match declared {
        None => Ok(Ok(Vec::new())),
        Some(Err(_)) => Err(Unread::Broken("Content-Length is not a number".into())),
        Some(Ok(len)) => Ok(Ok(reader.take(len as usize)?)),
    }
}

/// Writes a rouille response with the connection's fate in `Connection`.
fn write_response(
    writer: &mut Buffered,
    head: &Head,
    response: rouille::Response,
    keep: bool,
) -> io::Result<()> {
    let (mut data, length) = response.data.into_reader_and_size();
    // Every answer of this service has a known length: its body is then copied once, into
    // place after the head.
    let mut body = Vec::new();
    let length = match length {
        Some(length) => length,
        None => data.read_to_end(&mut body)?,
    };
    let status = response.status_code;
    let mut out = Vec::with_capacity(length + 256);
    write!(
        out,
        "HTTP/1.{} {status} {}\r\n",
        head.minor_version.min(1),
        reason(status)
    )?;
    for (name, value) in &response.headers {
        if ["Content-Length", "Connection", "Transfer-Encoding"]
            .iter()
            .any(|h| name.eq_ignore_ascii_case(h))
        {
            continue;
        }
        write!(out, "{name}: {value}\r\n")?;
    }
    let connection = if keep { "keep-alive" } else { "close" };
    write!(
        out,
        "Content-Length: {length}\r\nConnection: {connection}\r\n\r\n"
    )?;
    let head_len = out.len();
    if body.is_empty() {
        data.read_to_end(&mut out)?;
    } else {
        out.extend_from_slice(&body);
    }
    if out.len() - head_len != length {
        return Err(io::Error::other(
            "an answer's body is not as long as it said",
        ));
    }
    writer.write_all(&out)
}

/// Closes a connection after its last answer. Closing with unread bytes would reset it before
/// the client reads the answer: end the writing side, then let what the client still sends
/// drain briefly. The request is no longer in flight by then.
fn linger(conn: &mut Buffered) {
    let _ = conn.stream.shutdown(std::net::Shutdown::Write);
    if conn.block().is_err() {
        return;
    }
    let _ = conn
        .stream
        .set_read_timeout(Some(Duration::from_millis(50)));
    let mut sink = [0u8; 4096];
    while matches!(conn.stream.read(&mut sink), Ok(n) if n > 0) {}
}

/// The reason phrase of a status this service answers.
fn reason(status: u16) -> &'static str {
    match status {
        100 => "Continue",
        200 => "OK",
        400 => "Bad Request",
        404 => "Not Found",
        405 => "Method Not Allowed",
        408 => "Request Timeout",
        413 => "Content Too Large",
        414 => "URI Too Long",
        415 => "Unsupported Media Type",
        422 => "Unprocessable Content",
        431 => "Request Header Fields Too Large",
        500 => "Internal Server Error",
        503 => "Service Unavailable",
        _ => "",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits() -> Limits {
        Limits {
            max_request_line_bytes: 32,
            max_header_bytes: 64,
            ..Limits::default()
        }
    }

    #[test]
    fn a_head_parses_once_complete() {
        assert!(matches!(
            parse_head(b"GET /health HTTP/1.1\r\n", limits()),
            Parsed::Partial
        ));
        match parse_head(b"GET /health HTTP/1.0\r\nHost: x\r\n\r\nrest", limits()) {
            Parsed::Complete(head, used) => {
                assert_eq!(
                    (head.method.as_str(), head.url.as_str()),
                    ("GET", "/health")
                );
                assert_eq!(head.minor_version, 0);
                assert!(!head.keep_alive());
                assert_eq!(used, 33);
            }
            _ => panic!("not complete"),
        }
    }

    #[test]
    fn limits_refuse_long_lines_and_large_heads() {
        let long_line = format!("GET /{} HTTP/1.1\r\n", "x".repeat(40));
        assert!(matches!(
            parse_head(long_line.as_bytes(), limits()),
            Parsed::Refused(ApiError::RequestLineTooLong { limit: 32 })
        ));
        let large = format!("GET / HTTP/1.1\r\nX: {}\r\n", "y".repeat(80));
        assert!(matches!(
            parse_head(large.as_bytes(), limits()),
            Parsed::Refused(ApiError::HeaderTooLarge { limit: 64 })
        ));
        assert!(matches!(
            parse_head(b"GET / HTTP/1.1\r\nbad header\r\n\r\n", limits()),
            Parsed::Refused(ApiError::MalformedHead { .. })
        ));
    }
}
