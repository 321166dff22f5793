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
//! no hand-over between threads. Nothing waits on a client: bodies (by length or chunked)
//! arrive in the loop within a memory budget, and an answer the client is slow to take waits
//! there for a writable event, so a worker is only ever busy with a handler, which is short and
//! bounded by the batch and body limits.
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
use crate::http::budget::{Budget, Reservation};
use crate::http::decode::{Decoded, Decoder};
use crate::http::pipeline;
use crate::http::state::{InFlight, State};
use crate::http::wire::{self, Head, Parsed};

const LISTENER: Token = Token(0);
const WAKER: Token = Token(1);
/// How often an event loop looks at timeouts when nothing happens.
const TICK: Duration = Duration::from_millis(50);
/// How long a client may take to read an answer.
const WRITE_TIMEOUT: Duration = Duration::from_secs(30);
/// Bytes of request bodies the event loops hold, in all, while they arrive; a body that does
/// not fit waits in its socket until there is room. Bodies arriving slowly cost memory within
/// this budget, never a worker.
const BODY_BUDGET: usize = 32 << 20;
/// How long a request still arriving at the shutdown sweep has to arrive whole: it is served
/// if it does, and a stalled client does not hold the drain. Long enough for a client that was
/// mid-request to finish; short enough that the drain ends well within Docker's 10 s.
const DRAIN_ARRIVAL: Duration = Duration::from_secs(3);
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
    /// Its request began before the shutdown sweep: it is served normally if it arrives whole
    /// by `arrive_by`.
    admit: bool,
    arrive_by: Option<Instant>,
    /// The client has ended its side: the requests it sent whole are answered, then the
    /// connection closes.
    peer_closed: bool,
    /// A parsed head whose body is still arriving.
    pending: Option<Pending>,
    /// Reading stopped at its cap with bytes still in the socket: no edge will come for them.
    unread: bool,
    /// An answer the client has not taken whole yet.
    out: Option<Output>,
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
    body: Arriving,
    /// Room its body holds in the budget, grown as its bytes arrive and given back with it.
    reservation: Reservation,
    /// The budget had no room for its next bytes: they wait in the socket until there is.
    stalled: bool,
}

/// A body as far as it has arrived.
#[derive(Debug)]
enum Arriving {
    /// Nothing to read: no body, or one refused unread.
    Nothing(Option<ApiError>),
    Decoding(Decoder),
}

/// An answer being written.
#[derive(Debug)]
struct Output {
    bytes: Vec<u8>,
    written: usize,
    /// Whether the connection stays open once it is written.
    keep: bool,
    /// When the client must have taken all of it.
    deadline: Instant,
    /// The client was slow to take it: the connection waits for a writable event.
    waiting: bool,
}

impl Output {
    fn new(bytes: Vec<u8>, keep: bool) -> Output {
        Output {
            bytes,
            written: 0,
            keep,
            deadline: Instant::now() + WRITE_TIMEOUT,
            waiting: false,
        }
    }
}

/// Where an answer stands after a write.
#[derive(Debug, Clone, Copy)]
enum Flushed {
    /// The client has not taken all of it yet.
    Waiting,
    /// Written, or not writable, and the connection is closing or closed.
    Closing,
    /// Written and the connection kept; `read` when the socket must be read without an event.
    Kept { read: bool },
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
        let budget = Budget::new(BODY_BUDGET);
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
                timers: Instant::now(),
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
    /// Body bytes held by pending requests in all the workers, within [`BODY_BUDGET`].
    budget: Arc<Budget>,
    /// Where reads land before they join a connection's buffer; zeroed once, not per read.
    chunk: Vec<u8>,
    state: Arc<State>,
    shutting_down: Arc<AtomicBool>,
    /// Shutdown has read each idle connection once.
    swept: bool,
    /// When timeouts and stalled bodies were last looked at: once a tick, not per event.
    timers: Instant,
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
                    token => self.ready(token, event.is_read_closed()),
                }
            }
            if self.timers.elapsed() >= TICK {
                self.timers = Instant::now();
                self.retry_stalled();
                self.expire();
            }
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
                    arrive_by: None,
                    peer_closed: false,
                    pending: None,
                    unread: false,
                    out: None,
                    closing: None,
                    _open: open,
                },
            );
        }
        if sweep && !self.swept {
            self.sweep();
        }
    }

    /// Acts on an event of `token`: writes what its client can take now, drains it if it is
    /// closing, or reads what has arrived. `read_closed`: the event says the client has ended its side. Its FIN may have come with
    /// its last request, which a short read takes without seeing the end: no later event would
    /// tell.
    fn ready(&mut self, token: Token, read_closed: bool) {
        let Some(conn) = self.conns.get_mut(&token) else {
            return;
        };
        conn.peer_closed |= read_closed;
        if conn.out.is_some() {
            if let Flushed::Kept { .. } = self.flush(token) {
                // Bytes that came while the answer waited raised no event of their own.
                self.read(token);
            }
        } else if conn.closing.is_some() {
            self.drain(token);
        } else {
            self.read(token);
        }
    }

    /// Reads what has arrived on `token`, and acts on a complete or faulty request.
    fn read(&mut self, token: Token) {
        loop {
            let eof = self.read_some(token);
            self.advance(token, eof);
            // Reading stopped at the cap for a head; now that the head is parsed, its body is
            // read on: no edge will come for bytes already in the socket.
            let again = self.conns.get(&token).is_some_and(|c| {
                c.unread
                    && c.out.is_none()
                    && c.pending
                        .as_ref()
                        .is_some_and(|p| p.reading() && !p.stalled)
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
        // Never hold more than a head can be and one read, or than the body has room for.
        let cap = match conn.pending.as_mut() {
            Some(pending) if pending.reading() => {
                let limit = self.state.limits().max_body_bytes;
                if !pending.make_room(conn.buf.len() + chunk.len(), limit) {
                    // No room for its body yet: the bytes wait in the socket.
                    conn.unread = true;
                    return false;
                }
                pending.reservation.bytes()
            }
            _ => self.state.limits().max_header_bytes + chunk.len(),
        };
        let mut eof = false;
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

    /// Parses the buffered head of `token`'s connection and takes its body as it arrives
    /// (within the budget), then serves the request and starts writing the answer, and goes on
    /// with a request buffered behind it; or refuses it, or leaves it to wait for more bytes.
    /// Once the client has ended its side, the requests it sent whole are answered and the
    /// connection closes.
    fn advance(&mut self, token: Token, mut eof: bool) {
        let limits = self.limits();
        loop {
            let Some(conn) = self.conns.get_mut(&token) else {
                return;
            };
            conn.peer_closed |= eof;
            if conn.out.is_some() || conn.closing.is_some() {
                // The next request waits until this answer is written.
                return;
            }
            if conn.pending.is_none() {
                let refusal = match wire::parse_head(&conn.buf, limits) {
                    Parsed::Complete(head, used) => {
                        conn.buf.drain(..used);
                        match Pending::new(head, limits, &self.budget) {
                            Ok(pending) => {
                                if pending.reading() && pending.head.expects_continue() {
                                    // Best effort: a client that hears nothing sends the body
                                    // anyway.
                                    let _ = wire::write_some(&conn.stream, wire::CONTINUE);
                                }
                                conn.pending = Some(pending);
                                None
                            }
                            Err(error) => Some(error),
                        }
                    }
                    Parsed::Partial => {
                        if conn.peer_closed {
                            self.close(token);
                        }
                        return;
                    }
                    Parsed::Refused(error) => Some(error),
                };
                if let Some(error) = refusal {
                    // Where this request ends is unknown: nothing after it can be read. The
                    // refusal closes like any answer, draining what the client still sends, so
                    // that it is read rather than lost to a reset.
                    conn.pending = None;
                    conn.out = Some(Output::new(wire::refusal(&self.state, &error), false));
                    self.flush(token);
                    return;
                }
            }
            let Some(pending) = conn.pending.as_mut() else {
                return;
            };
            let Some(body) = pending.take_body(&mut conn.buf, limits) else {
                if conn.peer_closed {
                    self.close(token);
                }
                return;
            };
            // Its reservation is given back here: the body is whole.
            let Some(Pending { head, .. }) = conn.pending.take() else {
                return;
            };
            let admitted = !self.swept || conn.admit;
            let answer = serve(
                &self.state,
                &self.shutting_down,
                head,
                body,
                admitted,
                conn.peer,
            );
            let Some((bytes, keep)) = answer else {
                self.close(token);
                return;
            };
            conn.out = Some(Output::new(bytes, keep));
            // The answer is written and the connection kept: a request buffered behind it
            // is served here, in order.
            match self.flush(token) {
                Flushed::Kept { read: true } => eof = self.read_some(token),
                Flushed::Kept { read: false } => eof = false,
                Flushed::Waiting | Flushed::Closing => return,
            }
        }
    }

    /// Writes what `token`'s client takes of its answer. Once all is written the request is
    /// over: the connection is kept or begins closing. While the client is slow to read, the
    /// rest waits here, and the connection for a writable event.
    fn flush(&mut self, token: Token) -> Flushed {
        let Some(conn) = self.conns.get_mut(&token) else {
            return Flushed::Closing;
        };
        let Some(out) = conn.out.as_mut() else {
            return Flushed::Closing;
        };
        match wire::write_some(&conn.stream, &out.bytes[out.written..]) {
            Ok(n) => out.written += n,
            Err(_) => {
                self.close(token);
                return Flushed::Closing;
            }
        }
        if out.written < out.bytes.len() {
            if !out.waiting {
                out.waiting = true;
                let _ = self.poll.registry().reregister(
                    &mut conn.stream,
                    token,
                    Interest::READABLE | Interest::WRITABLE,
                );
            }
            return Flushed::Waiting;
        }
        let (keep, waited) = (out.keep, out.waiting);
        conn.out = None;
        drop(conn.entry.take());
        if waited {
            let _ = self
                .poll
                .registry()
                .reregister(&mut conn.stream, token, Interest::READABLE);
        }
        if !keep {
            let _ = conn.stream.shutdown(std::net::Shutdown::Write);
            conn.buf = Vec::new();
            conn.closing = Some(Instant::now() + LINGER);
            self.drain(token);
            return Flushed::Closing;
        }
        conn.since = Instant::now();
        if !conn.buf.is_empty() {
            // A pipelined request has begun behind the answered one: it is in flight.
            conn.entry = Some(self.state.enter());
        }
        // Bytes that came while the answer waited, or that reading left in the socket at its
        // cap, raise no new edge: the caller reads them (iteratively, never by recursion).
        Flushed::Kept {
            read: waited || conn.unread,
        }
    }

    /// Takes `token`'s connection out of the loop; its body reservation goes with it.
    fn remove(&mut self, token: Token) -> Option<Conn> {
        let mut conn = self.conns.remove(&token)?;
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

    /// Gives bodies that waited for room in the budget the room freed since, and reads them.
    fn retry_stalled(&mut self) {
        let limit = self.limits().max_body_bytes;
        let read = self.chunk.len();
        let stalled: Vec<Token> = self
            .conns
            .iter_mut()
            .filter_map(|(token, conn)| {
                let pending = conn.pending.as_mut()?;
                (pending.stalled && pending.make_room(conn.buf.len() + read, limit))
                    .then_some(*token)
            })
            .collect();
        for token in stalled {
            self.read(token);
        }
    }

    /// Closes idle connections past the idle time, connections whose client does not take
    /// its answer within the write timeout, and refuses requests past their deadline.
    fn expire(&mut self) {
        let limits = self.limits();
        let now = Instant::now();
        let idle = Duration::from_millis(limits.idle_timeout_ms);
        let head = Duration::from_millis(limits.header_timeout_ms);
        let expired: Vec<(Token, bool)> = self
            .conns
            .iter()
            .filter_map(
                |(token, conn)| match (&conn.out, conn.closing, &conn.entry) {
                    (Some(out), _, _) => (now >= out.deadline).then_some((*token, false)),
                    (None, Some(until), _) => (now >= until).then_some((*token, false)),
                    (None, None, None) => {
                        (now.duration_since(conn.since) >= idle).then_some((*token, false))
                    }
                    (None, None, Some(_)) => (now.duration_since(conn.since) >= head
                        || conn.arrive_by.is_some_and(|by| now >= by))
                    .then_some((*token, true)),
                },
            )
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
            self.ready(token, false);
        }
        // Requests begun until now arrived before the sweep: they are served, also those whose
        // head or body is still arriving, if they arrive whole in time.
        self.swept = true;
        let arrive_by = Instant::now() + DRAIN_ARRIVAL;
        for conn in self.conns.values_mut() {
            conn.admit = conn.entry.is_some();
            if conn.admit && conn.out.is_none() {
                conn.arrive_by = Some(arrive_by);
            }
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

impl Pending {
    /// A request whose head is parsed, or the refusal of a head whose body cannot be framed.
    /// A declared body over the limit is refused unread, through the pipeline.
    fn new(head: Head, limits: Limits, budget: &Arc<Budget>) -> Result<Pending, ApiError> {
        let framing = wire::framing(&head)?;
        let too_large = ApiError::BodyTooLarge {
            limit: limits.max_body_bytes,
        };
        let body = match framing {
            wire::Framing::Length(len) if len > limits.max_body_bytes as u64 => {
                Arriving::Nothing(Some(too_large))
            }
            framing => match framing.decoder() {
                Some(decoder) => Arriving::Decoding(decoder),
                None if framing == wire::Framing::Empty => Arriving::Nothing(None),
                None => Arriving::Nothing(Some(too_large)),
            },
        };
        Ok(Pending {
            head,
            body,
            reservation: Reservation::new(budget),
            stalled: false,
        })
    }

    /// Grows the body's room to what it holds and `buffered` more bytes (one read ahead), but
    /// never past what it may reach; false, stalled, while the budget has no room.
    fn make_room(&mut self, buffered: usize, limit: usize) -> bool {
        let Arriving::Decoding(decoder) = &self.body else {
            return true;
        };
        let most = match decoder {
            Decoder::Length(len) => *len,
            // Decoded bytes, and a read's worth of framing around them.
            Decoder::Chunked(_) => limit.saturating_add(buffered),
        };
        let room = (decoder.held() + buffered).min(most);
        self.stalled = !self.reservation.grow_to(room);
        !self.stalled
    }

    /// Whether its body is still to be read from the socket.
    fn reading(&self) -> bool {
        matches!(self.body, Arriving::Decoding(_))
    }

    /// The body, once it has arrived whole (or is refused); `None` while it is arriving.
    fn take_body(
        &mut self,
        buf: &mut Vec<u8>,
        limits: Limits,
    ) -> Option<Result<Vec<u8>, ApiError>> {
        match &mut self.body {
            Arriving::Nothing(refused) => Some(match refused.take() {
                None => Ok(Vec::new()),
                Some(error) => Err(error),
            }),
            Arriving::Decoding(decoder) => {
                match decoder.decode(buf, limits.max_body_bytes, limits.max_header_bytes) {
                    Ok(Decoded::Partial) => None,
                    Ok(Decoded::Whole(body)) => Some(Ok(body)),
                    Err(error) => Some(Err(error)),
                }
            }
        }
    }
}

/// Runs the pipeline on a whole request and encodes the answer: its bytes, and whether the
/// connection stays open after it. `None` when no answer can be encoded.
fn serve(
    state: &State,
    shutting_down: &AtomicBool,
    head: Head,
    body: Result<Vec<u8>, ApiError>,
    admitted: bool,
    peer: SocketAddr,
) -> Option<(Vec<u8>, bool)> {
    // A body refused unread, or broken: the connection cannot carry another request.
    let mut keep = head.keep_alive() && !shutting_down.load(Ordering::Acquire) && body.is_ok();
    let (minor_version, head_only) = (head.minor_version, head.is_head());
    let request =
        rouille::Request::fake_http_from(peer, head.method, head.url, head.headers, Vec::new());
    let response = panic::catch_unwind(AssertUnwindSafe(|| {
        pipeline::handle(state, admitted, &request, body)
    }))
    .unwrap_or_else(|_| {
        pipeline::error_response(
            &ApiError::Internal("the server failed to answer this request"),
            routes::api_of(&shown_path(request.raw_url())),
        )
    });
    if response
        .headers
        .iter()
        .any(|(k, v)| k.eq_ignore_ascii_case("Connection") && v.eq_ignore_ascii_case("close"))
    {
        keep = false;
    }
    let bytes = wire::encode(minor_version, response, keep, head_only).ok()?;
    Some((bytes, keep))
}
