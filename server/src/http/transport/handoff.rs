//! How the acceptor hands connections to the workers: a mailbox per worker, and a guard that
//! counts each connection against the cap for as long as it lives.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use mio::Waker;
use mio::net::TcpStream;

/// One open connection, counted against the cap from accept until it is dropped.
#[derive(Debug)]
pub struct Open(Arc<AtomicUsize>);

impl Open {
    /// Counts one more connection in `open`.
    pub fn new(open: &Arc<AtomicUsize>) -> Open {
        open.fetch_add(1, Ordering::AcqRel);
        Open(Arc::clone(open))
    }
}

impl Drop for Open {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

/// What the acceptor leaves for a worker.
#[derive(Debug, Default)]
pub struct Inbox {
    pub conns: Vec<(TcpStream, SocketAddr, Open)>,
    /// The listener is closed: read what the connections hold and close the idle ones.
    pub sweep: bool,
}

/// A worker's inbox and the waker of its event loop.
#[derive(Debug)]
pub struct Mailbox {
    inbox: Mutex<Inbox>,
    waker: Waker,
}

impl Mailbox {
    pub fn new(waker: Waker) -> Mailbox {
        Mailbox {
            inbox: Mutex::default(),
            waker,
        }
    }

    /// Leaves something for the worker and wakes it.
    pub fn post(&self, post: impl FnOnce(&mut Inbox)) {
        post(&mut self.inbox.lock().unwrap_or_else(|e| e.into_inner()));
        if let Err(e) = self.waker.wake() {
            // The worker then finds its mail at its next tick, at most one tick late.
            tracing::warn!(error = %e, "cannot wake a worker");
        }
    }

    /// Takes everything left so far.
    pub fn take(&self) -> Inbox {
        std::mem::take(&mut *self.inbox.lock().unwrap_or_else(|e| e.into_inner()))
    }
}
