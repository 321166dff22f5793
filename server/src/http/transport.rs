//! The connection layer: HTTP/1.1 over `mio` and `httparse`, feeding rouille requests to the
//! pipeline on a bounded pool of workers, each with its own event loop.
//!
//! tiny_http gave every connection a thread, had no limit on the request head, no timeout,
//! no cap on connections, and no way to set `Connection`; on SIGTERM it lost requests that had
//! reached the socket. Here an acceptor thread deals the accepted connections out to the
//! workers in turn, and each worker runs an event loop over its own: thousands of idle
//! connections cost file descriptors, not threads. A worker reads a request as it arrives,
//! refuses it before routing when it breaks a transport limit (431, 414, 408, 503 with
//! `{"error": …}`), and once it is whole, serves it on the same thread: one wake-up per request,
//! no hand-over between threads. Handlers are short and bounded by the batch and body limits;
//! what can wait on a client (a chunked or oversized body, an answer the client is slow to
//! take) is bounded by the request's deadline and the write timeout.
//!
//! Shutdown: the acceptor accepts what is already in the kernel's accept queue, closes the
//! listener and asks every worker to sweep: read each idle connection once without blocking
//! (serving a request found there) and close the rest. A worker exits when its last connection
//! is answered. A request counts as in flight from its first byte; every request whose first
//! byte arrived before the sweep is served, and answers carry `Connection: close` from the
//! signal on.

use std::collections::HashMap;
use std::io::{self, Read};
use std::net::SocketAddr;
use std::panic::{self, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::mpsc::{self, Receiver, Sender};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use mio::net::{TcpListener, TcpStream};
use mio::{Events, Interest, Poll, Token, Waker};

use crate::contract::errors::{ApiError, shown_path};
use crate::contract::limits::Limits;
use crate::contract::routes;
use crate::http::pipeline;
use crate::http::state::{InFlight, State};
use crate::http::wire::{self, Exchange, Head, Parsed, Unread};

const LISTENER: Token = Token(0);
const WAKER: Token = Token(1);
/// How often an event loop looks at timeouts when nothing happens.
const TICK: Duration = Duration::from_millis(50);
/// How long a worker waits for a client to take an answer.
const WRITE_TIMEOUT: Duration = Duration::from_secs(30);
/// Bytes of request bodies the event loops hold, in all, while they arrive; a body that does
/// not fit is read by its worker in one go instead. Bodies arriving slowly then cost memory
/// within this budget, not workers.
const BODY_BUDGET: usize = 32 << 20;
/// How long accepting pauses when the process has no file descriptor left.
const FD_PAUSE: Duration = Duration::from_millis(100);
/// How long a closing connection drains what its client still sends.
const LINGER: Duration = Duration::from_millis(50);

/// A connection and what has been read from it but not yet used.
#[derive(Debug)]
struct Conn {
    stream: TcpStream,
    peer: SocketAddr,
    buf: Vec<u8>,
    /// When the connection became idle, or when the current request's first byte arrived.
    since: Instant,
    /// Set from a request's first byte until its answer is written.
    entry: Option<InFlight>,
    /// Its request began before the shutdown sweep: it is served normally, however late it
    /// completes.
    admit: bool,
    /// A parsed head whose body is still arriving.
    pending: Option<Pending>,
    /// Reading stopped at its cap with bytes still in the socket: no edge will come for them.
    unread: bool,
    /// Its last answer is written and its writing side shut: what the client still sends is
    /// drained until this instant, so that closing does not reset the connection before the
    /// client has read the answer.
    closing: Option<Instant>,
    /// Counts the connection against the cap while it lives.
    _open: Open,
}

/// A request head waiting for its body in the event loop.
#[derive(Debug)]
struct Pending {
    head: Head,
    /// Body bytes reserved for it in [`BODY_BUDGET`]; 0 when it is read in one go instead.
    reserved: usize,
}

/// One open connection, counted against the cap from accept until it is dropped.
#[derive(Debug)]
struct Open(Arc<AtomicUsize>);

impl Drop for Open {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

/// What the acceptor leaves for a worker.
#[derive(Debug, Default)]
struct Inbox {
    conns: Vec<(TcpStream, SocketAddr, Open)>,
    /// The listener is closed: read what the connections hold and close the idle ones.
    sweep: bool,
}

/// A worker's inbox and the waker of its event loop.
#[derive(Debug)]
struct Mailbox {
    inbox: Mutex<Inbox>,
    waker: Waker,
}

impl Mailbox {
    fn post(&self, post: impl FnOnce(&mut Inbox)) {
        post(&mut self.inbox.lock().unwrap_or_else(|e| e.into_inner()));
        let _ = self.waker.wake();
    }
}

/// The running transport: an acceptor and the workers' event loops.
#[derive(Debug)]
pub struct Transport {
    addr: SocketAddr,
    shutting_down: Arc<AtomicBool>,
    waker: Arc<Waker>,
    workers: usize,
    swept: Mutex<Receiver<()>>,
    done: Mutex<Receiver<()>>,
}

impl Transport {
    /// Serves `listener` with `workers` threads until [`Transport::stop_accepting`].
    pub fn start(
        listener: std::net::TcpListener,
        state: Arc<State>,
        workers: usize,
    ) -> io::Result<Transport> {
        let workers = workers.max(1);
        listener.set_nonblocking(true)?;
        let addr = listener.local_addr()?;
        let shutting_down = Arc::new(AtomicBool::new(false));
        let budget = Arc::new(AtomicUsize::new(0));
        let (swept_tx, swept) = mpsc::channel();
        let (done_tx, done) = mpsc::channel();
        let mut mailboxes = Vec::with_capacity(workers);
        for i in 0..workers {
            let poll = Poll::new()?;
            let mailbox = Arc::new(Mailbox {
                inbox: Mutex::default(),
                waker: Waker::new(poll.registry(), WAKER)?,
            });
            mailboxes.push(Arc::clone(&mailbox));
            let event_loop = EventLoop {
                poll,
                mailbox,
                conns: HashMap::new(),
                next_token: 2,
                budget: Arc::clone(&budget),
                chunk: vec![0; 8192],
                state: Arc::clone(&state),
                shutting_down: Arc::clone(&shutting_down),
                swept: false,
                swept_tx: swept_tx.clone(),
            };
            let done_tx = done_tx.clone();
            thread::Builder::new()
                .name(format!("worker-{i}"))
                .spawn(move || {
                    event_loop.run();
                    let _ = done_tx.send(());
                })?;
        }
        let poll = Poll::new()?;
        let waker = Arc::new(Waker::new(poll.registry(), WAKER)?);
        let acceptor = Acceptor {
            poll,
            listener: TcpListener::from_std(listener),
            mailboxes,
            next: 0,
            open: Arc::new(AtomicUsize::new(0)),
            state,
            shutting_down: Arc::clone(&shutting_down),
            paused_until: None,
        };
        thread::Builder::new()
            .name("acceptor".into())
            .spawn(move || acceptor.run())?;
        Ok(Transport {
            addr,
            shutting_down,
            waker,
            workers,
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
        let deadline = Instant::now() + Duration::from_secs(1);
        for _ in 0..self.workers {
            let left = deadline.saturating_duration_since(Instant::now());
            if swept.recv_timeout(left).is_err() {
                return;
            }
        }
    }

    /// Waits up to `grace` for the last answer after [`Transport::stop_accepting`]. True when
    /// every connection was answered and closed in time.
    pub fn wait(&self, grace: Duration) -> bool {
        let done = self.done.lock().unwrap_or_else(|e| e.into_inner());
        let deadline = Instant::now() + grace;
        (0..self.workers).all(|_| {
            let left = deadline.saturating_duration_since(Instant::now());
            done.recv_timeout(left).is_ok()
        })
    }
}

/// Accepts connections under the cap and deals them out to the workers in turn.
struct Acceptor {
    poll: Poll,
    listener: TcpListener,
    mailboxes: Vec<Arc<Mailbox>>,
    next: usize,
    /// Connections open in all the workers.
    open: Arc<AtomicUsize>,
    state: Arc<State>,
    shutting_down: Arc<AtomicBool>,
    paused_until: Option<Instant>,
}

impl Acceptor {
    fn run(mut self) {
        if self
            .poll
            .registry()
            .register(&mut self.listener, LISTENER, Interest::READABLE)
            .is_err()
        {
            return;
        }
        let mut events = Events::with_capacity(64);
        loop {
            let timeout = self
                .paused_until
                .map(|until| until.saturating_duration_since(Instant::now()));
            if self.poll.poll(&mut events, timeout).is_err() {
                continue;
            }
            if self.shutting_down.load(Ordering::Acquire) {
                // What the kernel has queued was sent before the listener closes: accept it,
                // then close the listener (by returning) and let every worker sweep.
                self.paused_until = None;
                self.accept();
                for mailbox in &self.mailboxes {
                    mailbox.post(|inbox| inbox.sweep = true);
                }
                return;
            }
            if self
                .paused_until
                .is_some_and(|until| Instant::now() >= until)
            {
                self.paused_until = None;
            }
            self.accept();
        }
    }

    fn accept(&mut self) {
        if self.paused_until.is_some() {
            return;
        }
        let limits = self.state.limits();
        loop {
            match self.listener.accept() {
                Ok((stream, peer)) => {
                    if self.open.load(Ordering::Acquire) >= limits.max_connections {
                        let error = ApiError::TooManyConnections {
                            limit: limits.max_connections,
                        };
                        wire::refuse(&self.state, &stream, &error);
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
                    self.open.fetch_add(1, Ordering::AcqRel);
                    let open = Open(Arc::clone(&self.open));
                    let mailbox = &self.mailboxes[self.next];
                    self.next = (self.next + 1) % self.mailboxes.len();
                    mailbox.post(|inbox| inbox.conns.push((stream, peer, open)));
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) if matches!(e.raw_os_error(), Some(23 | 24)) => {
                    // No file descriptor left (ENFILE, EMFILE): try again shortly rather
                    // than spin on a listener that stays readable.
                    self.paused_until = Some(Instant::now() + FD_PAUSE);
                    return;
                }
                Err(_) => return,
            }
        }
    }
}

/// A worker: the event loop over its connections, serving each request where it is read.
struct EventLoop {
    poll: Poll,
    mailbox: Arc<Mailbox>,
    conns: HashMap<Token, Conn>,
    next_token: usize,
    /// Body bytes reserved by pending requests in all the workers, within [`BODY_BUDGET`].
    budget: Arc<AtomicUsize>,
    /// Where reads land before they join a connection's buffer; zeroed once, not per read.
    chunk: Vec<u8>,
    state: Arc<State>,
    shutting_down: Arc<AtomicBool>,
    /// Shutdown has read each idle connection once.
    swept: bool,
    swept_tx: Sender<()>,
}

impl EventLoop {
    fn limits(&self) -> Limits {
        self.state.limits()
    }

    fn run(mut self) {
        let mut events = Events::with_capacity(256);
        loop {
            if self.poll.poll(&mut events, Some(TICK)).is_err() {
                continue;
            }
            for event in events.iter() {
                match event.token() {
                    WAKER => self.open_mail(),
                    token => self.read(token),
                }
            }
            self.expire();
            if self.swept && self.conns.is_empty() {
                return;
            }
        }
    }

    /// Takes the connections the acceptor dealt to this worker, and the call to sweep.
    fn open_mail(&mut self) {
        let Inbox { conns, sweep } =
            std::mem::take(&mut *self.mailbox.inbox.lock().unwrap_or_else(|e| e.into_inner()));
        for (mut stream, peer, open) in conns {
            let token = Token(self.next_token);
            self.next_token += 1;
            // A socket that already holds bytes raises its first event at registration.
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
                    stream,
                    peer,
                    buf: Vec::new(),
                    since: Instant::now(),
                    entry: None,
                    admit: false,
                    pending: None,
                    unread: false,
                    closing: None,
                    _open: open,
                },
            );
        }
        if sweep && !self.swept {
            self.sweep();
        }
    }

    /// Reads what has arrived on `token`, and acts on a complete or faulty request.
    fn read(&mut self, token: Token) {
        if self.conns.get(&token).is_some_and(|c| c.closing.is_some()) {
            self.drain(token);
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
    /// budget), then serves the request, and any complete one buffered behind it; or refuses
    /// it, or leaves it to wait for more bytes.
    fn advance(&mut self, token: Token, mut eof: bool) {
        let limits = self.limits();
        loop {
            let Some(conn) = self.conns.get_mut(&token) else {
                return;
            };
            if conn.pending.is_none() {
                match wire::parse_head(&conn.buf, limits) {
                    Parsed::Complete(head, used) => {
                        conn.buf.drain(..used);
                        let reserved = match head.body_to_buffer() {
                            Some(len)
                                if len > conn.buf.len()
                                    && len <= limits.max_body_bytes
                                    && reserve(&self.budget, len) =>
                            {
                                len
                            }
                            _ => 0,
                        };
                        conn.pending = Some(Pending { head, reserved });
                    }
                    Parsed::Partial => {
                        if eof {
                            self.close(token);
                        }
                        return;
                    }
                    Parsed::Refused(error) => {
                        if let Some(conn) = self.remove(token) {
                            wire::refuse(&self.state, &conn.stream, &error);
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
            let Some(Pending { head, reserved }) = conn.pending.take() else {
                return;
            };
            self.budget.fetch_sub(reserved, Ordering::AcqRel);
            let admitted = !self.swept || conn.admit;
            let deadline = conn.since + Duration::from_millis(limits.header_timeout_ms);
            let mut exchange = Exchange::new(&conn.stream, &mut conn.buf, deadline);
            let keep = serve(
                &self.state,
                &self.shutting_down,
                &mut exchange,
                &head,
                admitted,
                conn.peer,
            );
            drop(conn.entry.take());
            if !exchange.finish() {
                self.close(token);
                return;
            }
            if !keep {
                let _ = conn.stream.shutdown(std::net::Shutdown::Write);
                conn.buf = Vec::new();
                conn.closing = Some(Instant::now() + LINGER);
                self.drain(token);
                return;
            }
            conn.since = Instant::now();
            if conn.buf.is_empty() {
                return;
            }
            // A pipelined request has begun behind the answered one: it is in flight, and is
            // served here, in order, once whole.
            conn.entry = Some(self.state.enter());
            eof = false;
        }
    }

    /// Takes `token`'s connection out of the loop, releasing its body reservation.
    fn remove(&mut self, token: Token) -> Option<Conn> {
        let mut conn = self.conns.remove(&token)?;
        if let Some(pending) = &conn.pending {
            self.budget.fetch_sub(pending.reserved, Ordering::AcqRel);
        }
        let _ = self.poll.registry().deregister(&mut conn.stream);
        Some(conn)
    }

    fn close(&mut self, token: Token) {
        self.remove(token);
    }

    /// Discards what a closing connection's client sends; closes it at the end of the stream
    /// or past its deadline.
    fn drain(&mut self, token: Token) {
        let Some(conn) = self.conns.get_mut(&token) else {
            return;
        };
        let done = loop {
            if conn.closing.is_some_and(|until| Instant::now() >= until) {
                break true;
            }
            match conn.stream.read(&mut self.chunk) {
                Ok(0) => break true,
                Ok(_) => {}
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break false,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(_) => break true,
            }
        };
        if done {
            self.close(token);
        }
    }

    /// Closes idle connections past the idle time, and refuses requests past their deadline.
    fn expire(&mut self) {
        let limits = self.limits();
        let now = Instant::now();
        let idle = Duration::from_millis(limits.idle_timeout_ms);
        let head = Duration::from_millis(limits.header_timeout_ms);
        let expired: Vec<(Token, bool)> = self
            .conns
            .iter()
            .filter_map(|(token, conn)| match conn.entry {
                _ if conn.closing.is_some_and(|until| now >= until) => Some((*token, false)),
                None if now.duration_since(conn.since) >= idle => Some((*token, false)),
                Some(_) if now.duration_since(conn.since) >= head => Some((*token, true)),
                _ => None,
            })
            .collect();
        for (token, started) in expired {
            if let Some(conn) = self.remove(token)
                && started
            {
                let error = ApiError::RequestTimeout {
                    millis: limits.header_timeout_ms,
                };
                wire::refuse(&self.state, &conn.stream, &error);
            }
        }
    }

    /// Shutdown, once the listener is closed: read every connection once (serving what is
    /// there), and close the idle ones.
    fn sweep(&mut self) {
        let tokens: Vec<Token> = self.conns.keys().copied().collect();
        for token in tokens {
            self.read(token);
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
            .filter(|(_, conn)| conn.entry.is_none() && conn.closing.is_none())
            .map(|(token, _)| *token)
            .collect();
        for token in idle {
            self.close(token);
        }
        let _ = self.swept_tx.send(());
    }
}

/// Reserves `len` bytes of [`BODY_BUDGET`]; false when they do not fit.
fn reserve(budget: &AtomicUsize, len: usize) -> bool {
    budget
        .fetch_update(Ordering::AcqRel, Ordering::Acquire, |held| {
            (held + len <= BODY_BUDGET).then_some(held + len)
        })
        .is_ok()
}

/// Reads the body, runs the pipeline, writes the answer. Returns whether the connection
/// stays open.
fn serve(
    state: &State,
    shutting_down: &AtomicBool,
    io: &mut Exchange,
    head: &Head,
    admitted: bool,
    peer: SocketAddr,
) -> bool {
    let limits = state.limits();
    let mut keep = head.keep_alive() && !shutting_down.load(Ordering::Acquire);
    let body = match wire::read_body(io, head, limits.max_body_bytes) {
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
            let _ = wire::write_response(io, head, response, false);
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
        pipeline::handle(state, admitted, &request, body)
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
    wire::write_response(io, head, response, keep).is_ok() && keep
}
