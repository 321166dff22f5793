//! The connection layer: HTTP/1.1 over `mio` and `httparse`, feeding rouille requests to the
//! pipeline on a bounded pool of workers, each with its own event loop.
//!
//! An acceptor thread deals the accepted connections out to the workers in turn, and each
//! worker runs an event loop over its own: thousands of idle connections cost file
//! descriptors, not threads. A worker reads a request as it arrives, refuses it before routing
//! when it breaks a transport limit (431, 414, 408, 503 with `{"error": …}`) or cannot be
//! framed, and once it is whole, serves it on the same thread: one wake-up per request, no
//! hand-over between threads. Nothing waits on a client: bodies arrive in the loop within a
//! memory budget, and an answer the client is slow to take waits there for a writable event,
//! so a worker is only ever busy with a handler, which is short and bounded by the limits.
//!
//! Shutdown: the acceptor accepts what is already in the kernel's accept queue, closes the
//! listener and asks every worker to sweep: read each idle connection once without blocking
//! (serving a request found there) and close the rest. A worker exits when its last connection
//! is answered. A request counts as in flight from its first byte; every request whose first
//! byte arrived before the sweep is served if it arrives whole within [`DRAIN_ARRIVAL`], and
//! answers carry `Connection: close` from the signal on.
//!
//! # Layout
//! - [`acceptor`]: accepting under the cap, the shutdown of the listener;
//! - [`handoff`]: the mailbox each worker is dealt connections through;
//! - [`event_loop`]: a worker's I/O over its connections, and [`upkeep`]: its timers, the
//!   lingering close and the shutdown sweep;
//! - [`conn`]: a connection's phases and the decisions on its bytes, with no I/O, and
//!   [`pending`]: a body as it arrives, within the budget;
//! - [`dispatch`]: a whole request through the pipeline, and the connection's fate.

mod acceptor;
mod conn;
mod dispatch;
mod event_loop;
mod handoff;
mod pending;
#[cfg(test)]
mod tests;
mod upkeep;

use std::io;
use std::net::SocketAddr;
use std::sync::atomic::AtomicUsize;
use std::sync::mpsc::{self, Receiver};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use mio::net::TcpListener;
use mio::{Poll, Token, Waker};

use crate::http::budget::Budget;
use crate::http::state::State;
use acceptor::Acceptor;
use event_loop::EventLoop;
use handoff::Mailbox;

const WAKER: Token = Token(1);
/// How often an event loop looks at timeouts when nothing happens.
const TICK: Duration = Duration::from_millis(50);
/// Bytes of request bodies the event loops hold, in all, while they arrive; a body that does
/// not fit waits in its socket until there is room. Bodies arriving slowly cost memory within
/// this budget, never a worker.
const BODY_BUDGET: usize = 32 << 20;
/// How long a request still arriving at the shutdown sweep has to arrive whole: it is served
/// if it does, and a stalled client does not hold the drain. Long enough for a client that was
/// mid-request to finish; short enough that the drain ends well within Docker's 10 s.
const DRAIN_ARRIVAL: Duration = Duration::from_secs(3);
/// How long the transport waits for the workers to sweep.
const SWEEP_WITHIN: Duration = Duration::from_secs(1);
/// How long a closing connection drains what its client still sends.
const LINGER: Duration = Duration::from_millis(50);

/// The running transport: an acceptor and the workers' event loops.
#[derive(Debug)]
pub struct Transport {
    addr: SocketAddr,
    state: Arc<State>,
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
        let budget = Budget::new(BODY_BUDGET);
        let (swept_tx, swept) = mpsc::channel();
        let (done_tx, done) = mpsc::channel();
        let mut mailboxes = Vec::with_capacity(workers);
        for i in 0..workers {
            let poll = Poll::new()?;
            let mailbox = Arc::new(Mailbox::new(Waker::new(poll.registry(), WAKER)?));
            mailboxes.push(Arc::clone(&mailbox));
            let event_loop = EventLoop::new(
                poll,
                mailbox,
                Arc::clone(&budget),
                Arc::clone(&state),
                swept_tx.clone(),
            );
            let done_tx = done_tx.clone();
            thread::Builder::new()
                .name(format!("worker-{i}"))
                .spawn(move || {
                    event_loop.run();
                    // Ignored: the transport stops waiting for workers after the grace.
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
            state: Arc::clone(&state),
            paused_until: None,
        };
        thread::Builder::new()
            .name("acceptor".into())
            .spawn(move || acceptor.run())?;
        Ok(Transport {
            addr,
            state,
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

    /// Turns readiness off (the one shutdown flag, [`State::begin_shutdown`]), accepts what the
    /// kernel has queued, closes the listener and sweeps the idle connections; returns once
    /// that is done, so that new connections are refused from then on and every request that
    /// had arrived is in flight.
    pub fn stop_accepting(&self) {
        self.state.begin_shutdown();
        if let Err(e) = self.waker.wake() {
            // The acceptor then sees the flag at its next event; the sweep wait below bounds
            // how long this call lasts either way.
            tracing::warn!(error = %e, "cannot wake the acceptor");
        }
        let swept = self.swept.lock().unwrap_or_else(|e| e.into_inner());
        let deadline = Instant::now() + SWEEP_WITHIN;
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
