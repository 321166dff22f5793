//! The acceptor: accepts connections under the cap and deals them out to the workers in turn;
//! at shutdown, accepts what the kernel has queued, closes the listener and calls the sweep.

use std::io;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use mio::net::TcpListener;
use mio::{Events, Interest, Poll, Token};

use crate::contract::errors::ApiError;
use crate::http::state::State;
use crate::http::transport::handoff::{Mailbox, Open};
use crate::http::wire;

pub const LISTENER: Token = Token(0);
/// How long accepting pauses when the process has no file descriptor left.
const FD_PAUSE: Duration = Duration::from_millis(100);
/// `errno` when the system (ENFILE) or the process (EMFILE) has no file descriptor left; Linux
/// values (asm-generic/errno-base.h), the only system the server is built for.
const ENFILE: i32 = 23;
const EMFILE: i32 = 24;

/// Accepts connections under the cap and deals them out to the workers in turn.
pub struct Acceptor {
    pub poll: Poll,
    pub listener: TcpListener,
    pub mailboxes: Vec<Arc<Mailbox>>,
    pub next: usize,
    /// Connections open in all the workers.
    pub open: Arc<AtomicUsize>,
    pub state: Arc<State>,
    pub paused_until: Option<Instant>,
}

impl Acceptor {
    pub fn run(mut self) {
        if let Err(e) =
            self.poll
                .registry()
                .register(&mut self.listener, LISTENER, Interest::READABLE)
        {
            // Nothing can be accepted: say so; readiness still answers, so the orchestrator
            // sees a server that takes no connection rather than a silent one.
            tracing::error!(error = %e, "cannot watch the listener; no connection will be accepted");
            return;
        }
        let mut events = Events::with_capacity(64);
        loop {
            let timeout = self
                .paused_until
                .map(|until| until.saturating_duration_since(Instant::now()));
            if let Err(e) = self.poll.poll(&mut events, timeout) {
                // EINTR is the one error epoll_wait gives a valid instance: poll again.
                if e.kind() != io::ErrorKind::Interrupted {
                    tracing::warn!(error = %e, "polling the listener failed");
                }
                continue;
            }
            if !self.state.is_ready() {
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
                    // Inherited from the listener on Linux; set again where it is not.
                    // Without it an answer may wait 40 ms, which costs time, not correctness.
                    let _ = stream.set_nodelay(true);
                    let open = Open::new(&self.open);
                    let mailbox = &self.mailboxes[self.next];
                    self.next = (self.next + 1) % self.mailboxes.len();
                    mailbox.post(|inbox| inbox.conns.push((stream, peer, open)));
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) if matches!(e.raw_os_error(), Some(ENFILE | EMFILE)) => {
                    // Try again shortly rather than spin on a listener that stays readable.
                    self.paused_until = Some(Instant::now() + FD_PAUSE);
                    return;
                }
                Err(e) => {
                    // A connection that failed before it was accepted (reset, aborted): the
                    // next readiness event brings the rest of the queue.
                    tracing::debug!(error = %e, "accept failed");
                    return;
                }
            }
        }
    }
}
