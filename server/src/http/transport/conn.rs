//! One connection's state as named phases, and the decisions taken on its bytes. No I/O here:
//! the event loop reads into [`Connection::buf`], asks [`Connection::next`] what the bytes
//! hold, and writes what it is told to; every phase change is a method of this type.
//!
//! ```text
//! Idle ──first byte──▶ Head ──head parsed──▶ Body ──body whole──▶ (serve) ──▶ Answering
//!  ▲                                                                             │ written
//!  └───────────────── kept, nothing buffered ◀──────────────────────────────────┤
//!                     kept, bytes buffered ──▶ Head                               │
//!                                               not kept ──▶ Closing ──▶ (dropped)
//! ```

use std::mem;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::contract::errors::ApiError;
use crate::contract::limits::Limits;
use crate::http::budget::Budget;
use crate::http::state::{InFlight, State};
use crate::http::transport::pending::Pending;
use crate::http::wire::{self, Head, Parsed};

/// Where a connection is. Each phase holds what only it needs: a request is in flight (its
/// [`InFlight`] guard) from its first byte until its answer is written.
#[derive(Debug)]
pub enum Phase {
    /// Waiting for a request's first byte, since this instant.
    Idle { since: Instant },
    /// A request's head is arriving; its first byte came at `since`.
    Head { entry: InFlight, since: Instant },
    /// Its head is parsed and its body is arriving.
    Body {
        entry: InFlight,
        since: Instant,
        pending: Pending,
    },
    /// The request is being served: between [`Connection::next`] handing it out and
    /// [`Connection::answer`].
    Serving,
    /// Its answer is being written; the request stays in flight (`_entry`) until it is.
    Answering { _entry: InFlight, out: Output },
    /// The last answer is written and the writing side shut: what the client still sends is
    /// drained until `until`, so that closing does not reset the connection before the client
    /// has read the answer.
    Closing { until: Instant },
}

/// A connection's state and the bytes read from it but not yet used.
#[derive(Debug)]
pub struct Connection {
    pub buf: Vec<u8>,
    pub phase: Phase,
    /// Its request began before the shutdown sweep: it is served normally if it arrives whole
    /// by `arrive_by`.
    pub admit: bool,
    pub arrive_by: Option<Instant>,
    /// The client has ended its side: the requests it sent whole are answered, then the
    /// connection closes.
    pub peer_closed: bool,
    /// Reading stopped at its cap with bytes still in the socket: no edge will come for them.
    pub unread: bool,
}

/// An answer being written.
#[derive(Debug)]
pub struct Output {
    pub bytes: Vec<u8>,
    pub written: usize,
    /// Whether the connection stays open once it is written.
    pub keep: bool,
    /// When the client must have taken all of it.
    pub deadline: Instant,
    /// The client was slow to take it: the connection waits for a writable event.
    pub waiting: bool,
}

/// What the buffered bytes call for.
#[derive(Debug)]
pub enum Next {
    /// Nothing complete yet: wait for more bytes.
    Wait,
    /// The client waits for `100 Continue` before it sends the body: write it, then ask again.
    Continue,
    /// A whole request to serve, with its body or the reason its body was refused.
    Serve {
        head: Head,
        body: Result<Vec<u8>, ApiError>,
        entry: InFlight,
    },
    /// A request refused before routing: its end is unknown, so the connection closes after
    /// the refusal. The entry lives on while the refusal is written.
    Refuse { error: ApiError, entry: InFlight },
    /// The client ended its side with no whole request left: close.
    Close,
}

/// Why a connection is past its time.
#[derive(Debug, PartialEq)]
pub enum Expired {
    /// Close it without a word: idle, closing, or its client not taking its answer.
    Drop,
    /// Its request did not arrive in time: 408, then close.
    Late,
}

impl Connection {
    pub fn new(now: Instant) -> Connection {
        Connection {
            buf: Vec::new(),
            phase: Phase::Idle { since: now },
            admit: false,
            arrive_by: None,
            peer_closed: false,
            unread: false,
        }
    }

    /// Bytes arrived: a request begins with its first byte.
    pub fn received(&mut self, bytes: &[u8], state: &State) {
        if let Phase::Idle { .. } = self.phase {
            self.phase = Phase::Head {
                entry: state.enter(),
                since: Instant::now(),
            };
        }
        self.buf.extend_from_slice(bytes);
    }

    /// Takes the next step on the buffered bytes: parses a head, takes a body as it arrives,
    /// hands a whole request out, or refuses one.
    pub fn next(&mut self, limits: Limits, budget: &Arc<Budget>) -> Next {
        match mem::replace(&mut self.phase, Phase::Serving) {
            Phase::Head { entry, since } => match wire::parse_head(&self.buf, limits) {
                Parsed::Complete(head, used) => {
                    self.buf.drain(..used);
                    match Pending::new(head, limits, budget) {
                        Ok(pending) => {
                            let continues = pending.reading() && pending.head.expects_continue();
                            self.phase = Phase::Body {
                                entry,
                                since,
                                pending,
                            };
                            if continues {
                                Next::Continue
                            } else {
                                self.next(limits, budget)
                            }
                        }
                        Err(error) => self.refuse(entry, error),
                    }
                }
                Parsed::Partial => {
                    self.phase = Phase::Head { entry, since };
                    self.wait()
                }
                Parsed::Refused(error) => self.refuse(entry, error),
            },
            Phase::Body {
                entry,
                since,
                mut pending,
            } => match pending.take_body(&mut self.buf, limits) {
                // Its reservation is given back here: the body is whole.
                Some(body) => Next::Serve {
                    head: pending.head,
                    body,
                    entry,
                },
                None => {
                    self.phase = Phase::Body {
                        entry,
                        since,
                        pending,
                    };
                    self.wait()
                }
            },
            idle @ Phase::Idle { .. } => {
                self.phase = idle;
                self.wait()
            }
            other => {
                self.phase = other;
                Next::Wait
            }
        }
    }

    /// Waits for more bytes, unless the client has ended its side.
    fn wait(&self) -> Next {
        if self.peer_closed {
            Next::Close
        } else {
            Next::Wait
        }
    }

    /// A refusal is the request's answer.
    fn refuse(&mut self, entry: InFlight, error: ApiError) -> Next {
        self.phase = Phase::Serving;
        Next::Refuse { error, entry }
    }

    /// The answer to the request handed out by [`Connection::next`] (or to a refusal), to be
    /// written.
    pub fn answer(&mut self, entry: InFlight, bytes: Vec<u8>, keep: bool) {
        self.phase = Phase::Answering {
            _entry: entry,
            out: Output {
                bytes,
                written: 0,
                keep,
                deadline: Instant::now() + WRITE_TIMEOUT,
                waiting: false,
            },
        };
    }

    /// The answer is written: the request is over. A kept connection goes on with a request
    /// already buffered behind it, or waits; another begins closing. True when kept.
    pub fn answered(&mut self, linger: Duration, state: &State) -> bool {
        let keep = matches!(&self.phase, Phase::Answering { out, .. } if out.keep);
        let now = Instant::now();
        // The request's entry is dropped with the phase it lived in.
        self.phase = if !keep {
            self.buf = Vec::new();
            Phase::Closing {
                until: now + linger,
            }
        } else if self.buf.is_empty() {
            Phase::Idle { since: now }
        } else {
            // A pipelined request has begun behind the answered one: it is in flight.
            Phase::Head {
                entry: state.enter(),
                since: now,
            }
        };
        keep
    }

    /// The body being read, if it is read from the socket now.
    pub fn body(&mut self) -> Option<&mut Pending> {
        match &mut self.phase {
            Phase::Body { pending, .. } if pending.reading() => Some(pending),
            _ => None,
        }
    }

    /// Whether a request has begun and is not yet answered.
    pub fn in_flight(&self) -> bool {
        matches!(
            self.phase,
            Phase::Head { .. } | Phase::Body { .. } | Phase::Serving | Phase::Answering { .. }
        )
    }

    /// Whether the connection is past its time at `now`.
    pub fn expired(&self, now: Instant, limits: Limits) -> Option<Expired> {
        let idle = Duration::from_millis(limits.idle_timeout_ms);
        let head = Duration::from_millis(limits.header_timeout_ms);
        let past = |deadline: Instant| now >= deadline;
        match &self.phase {
            Phase::Idle { since } => past(*since + idle).then_some(Expired::Drop),
            Phase::Head { since, .. } | Phase::Body { since, .. } => {
                (past(*since + head) || self.arrive_by.is_some_and(past)).then_some(Expired::Late)
            }
            Phase::Answering { out, .. } => past(out.deadline).then_some(Expired::Drop),
            Phase::Closing { until } => past(*until).then_some(Expired::Drop),
            Phase::Serving => None,
        }
    }
}

/// How long a client may take to read an answer.
const WRITE_TIMEOUT: Duration = Duration::from_secs(30);
