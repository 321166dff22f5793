//! A worker: the event loop over its connections. It does the I/O — reads into each
//! connection's buffer, writes its answer, drains it while it closes — and leaves every
//! decision on the bytes to [`Connection`].
//!
//! Edge-triggered polling raises no new event for bytes already in a socket, so every place
//! that stops reading with bytes possibly left (at a cap, or while an answer was written)
//! reads again itself: [`EventLoop::read`] after a write ([`Flushed::Kept`]'s `read`), and its
//! own loop while a body has room.

use std::collections::HashMap;
use std::io::{self, Read};
use std::net::{Shutdown, SocketAddr};
use std::sync::Arc;
use std::sync::mpsc::Sender;
use std::time::Instant;

use mio::net::TcpStream;
use mio::{Events, Interest, Poll, Token};

use crate::contract::limits::Limits;
use crate::http::budget::Budget;
use crate::http::state::State;
use crate::http::transport::conn::{Connection, Next, Phase};
use crate::http::transport::dispatch;
use crate::http::transport::handoff::{Inbox, Mailbox, Open};
use crate::http::transport::{LINGER, TICK, WAKER};
use crate::http::wire;

/// A connection as the loop holds it: the socket, and the state that decides what it does.
#[derive(Debug)]
pub(super) struct Client {
    pub(super) stream: TcpStream,
    pub(super) peer: SocketAddr,
    pub(super) conn: Connection,
    /// Counts the connection against the cap while it lives.
    _open: Open,
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

/// A worker: the event loop over its connections, serving each request where it is read.
pub struct EventLoop {
    poll: Poll,
    mailbox: Arc<Mailbox>,
    pub(super) clients: HashMap<Token, Client>,
    next_token: usize,
    /// Body bytes held by requests arriving in all the workers.
    budget: Arc<Budget>,
    /// Where reads land before they join a connection's buffer; zeroed once, not per read.
    pub(super) chunk: Vec<u8>,
    pub(super) state: Arc<State>,
    /// Shutdown has read each idle connection once.
    pub(super) swept: bool,
    /// When timeouts and stalled bodies were last looked at: once a tick, not per event.
    timers: Instant,
    pub(super) swept_tx: Sender<()>,
}

impl EventLoop {
    pub fn new(
        poll: Poll,
        mailbox: Arc<Mailbox>,
        budget: Arc<Budget>,
        state: Arc<State>,
        swept_tx: Sender<()>,
    ) -> EventLoop {
        EventLoop {
            poll,
            mailbox,
            clients: HashMap::new(),
            next_token: WAKER.0 + 1,
            budget,
            chunk: vec![0; 8192],
            state,
            swept: false,
            timers: Instant::now(),
            swept_tx,
        }
    }

    pub(super) fn limits(&self) -> Limits {
        self.state.limits()
    }

    pub fn run(mut self) {
        let mut events = Events::with_capacity(256);
        loop {
            if let Err(e) = self.poll.poll(&mut events, Some(TICK)) {
                // EINTR is the one error epoll_wait gives a valid instance: poll again.
                if e.kind() != io::ErrorKind::Interrupted {
                    tracing::warn!(error = %e, "polling connections failed");
                }
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
            if self.swept && self.clients.is_empty() {
                return;
            }
        }
    }

    /// Takes the connections the acceptor dealt to this worker, and the call to sweep.
    fn open_mail(&mut self) {
        let Inbox { conns, sweep } = self.mailbox.take();
        for (mut stream, peer, open) in conns {
            let token = Token(self.next_token);
            self.next_token += 1;
            // A socket that already holds bytes raises its first event at registration.
            if let Err(e) = self
                .poll
                .registry()
                .register(&mut stream, token, Interest::READABLE)
            {
                tracing::warn!(error = %e, %peer, "cannot watch a connection; closing it");
                continue;
            }
            let conn = Connection::new(Instant::now());
            self.clients.insert(
                token,
                Client {
                    stream,
                    peer,
                    conn,
                    _open: open,
                },
            );
        }
        if sweep && !self.swept {
            self.sweep();
        }
    }

    /// Acts on an event of `token`: writes what its client can take now, drains it if it is
    /// closing, or reads what has arrived. `read_closed`: the event says the client has ended
    /// its side. Its FIN may have come with its last request, which a short read takes without
    /// seeing the end: no later event would tell.
    pub(super) fn ready(&mut self, token: Token, read_closed: bool) {
        let Some(client) = self.clients.get_mut(&token) else {
            return;
        };
        client.conn.peer_closed |= read_closed;
        match client.conn.phase {
            Phase::Answering { .. } => {
                if let Flushed::Kept { .. } = self.flush(token) {
                    // Bytes that came while the answer waited raised no event of their own.
                    self.read(token);
                }
            }
            Phase::Closing { .. } => self.drain(token),
            _ => self.read(token),
        }
    }

    /// Reads what has arrived on `token`, and acts on a complete or faulty request.
    pub(super) fn read(&mut self, token: Token) {
        loop {
            let eof = self.read_some(token);
            self.advance(token, eof);
            // Reading stopped at the cap with a body arriving that now has room: no edge will
            // come for the bytes already in the socket.
            let again = self.clients.get_mut(&token).is_some_and(|c| {
                c.conn.unread && c.conn.body().is_some_and(|pending| !pending.stalled)
            });
            if !again {
                return;
            }
        }
    }

    /// Reads what `token`'s socket has, up to the cap; true at the end of the stream.
    fn read_some(&mut self, token: Token) -> bool {
        let limits = self.state.limits();
        let Some(client) = self.clients.get_mut(&token) else {
            return false;
        };
        let chunk = &mut self.chunk[..];
        let buffered = client.conn.buf.len() + chunk.len();
        // Never hold more than a head can be and one read, or than the body has room for.
        let cap = match client.conn.body() {
            Some(pending) => {
                if !pending.make_room(buffered, limits.max_body_bytes) {
                    // No room for its body yet: the bytes wait in the socket.
                    client.conn.unread = true;
                    return false;
                }
                pending.room()
            }
            None => limits.max_header_bytes + chunk.len(),
        };
        client.conn.unread = false;
        loop {
            match client.stream.read(chunk) {
                Ok(0) => return true,
                Ok(n) => {
                    client.conn.received(&chunk[..n], &self.state);
                    // A short read emptied the socket: what arrives later raises a new edge.
                    if n < chunk.len() {
                        return false;
                    }
                    if client.conn.buf.len() > cap {
                        client.conn.unread = true;
                        return false;
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return false,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                // A reset or a broken connection ends the stream like a FIN.
                Err(_) => return true,
            }
        }
    }

    /// Takes the steps the buffered bytes call for: serves each whole request and starts
    /// writing its answer, going on with a request buffered behind it; refuses one; or leaves
    /// the connection to wait for more bytes.
    fn advance(&mut self, token: Token, mut eof: bool) {
        let limits = self.limits();
        loop {
            let Some(client) = self.clients.get_mut(&token) else {
                return;
            };
            client.conn.peer_closed |= eof;
            match client.conn.next(limits, &self.budget) {
                Next::Wait => return,
                Next::Close => {
                    self.close(token);
                    return;
                }
                Next::Continue => {
                    // Ignored: a client that hears nothing sends its body anyway, after a wait.
                    let _ = wire::write_some(&client.stream, wire::CONTINUE);
                }
                Next::Refuse { error, entry } => {
                    // Written and closed like any answer, draining what the client still
                    // sends, so that it reads the refusal rather than a reset.
                    let bytes = wire::refusal(&self.state, &error);
                    client.conn.answer(entry, bytes, false);
                    self.flush(token);
                    return;
                }
                Next::Serve { head, body, entry } => {
                    let admitted = !self.swept || client.conn.admit;
                    let Some(answer) =
                        dispatch::serve(&self.state, head, body, admitted, client.peer)
                    else {
                        self.close(token);
                        return;
                    };
                    client.conn.answer(entry, answer.bytes, answer.keep);
                    // The answer is written and the connection kept: a request buffered
                    // behind it is served here, in order.
                    match self.flush(token) {
                        Flushed::Kept { read: true } => eof = self.read_some(token),
                        Flushed::Kept { read: false } => eof = false,
                        Flushed::Waiting | Flushed::Closing => return,
                    }
                }
            }
        }
    }

    /// Writes what `token`'s client takes of its answer. Once all is written the request is
    /// over: the connection is kept or begins closing. While the client is slow to read, the
    /// rest waits here, and the connection for a writable event.
    fn flush(&mut self, token: Token) -> Flushed {
        let Some(client) = self.clients.get_mut(&token) else {
            return Flushed::Closing;
        };
        let Phase::Answering { out, .. } = &mut client.conn.phase else {
            return Flushed::Closing;
        };
        match wire::write_some(&client.stream, &out.bytes[out.written..]) {
            Ok(n) => out.written += n,
            Err(_) => {
                // The client is gone: nothing more can be told to it.
                self.close(token);
                return Flushed::Closing;
            }
        }
        let waited = out.waiting;
        if out.written < out.bytes.len() {
            if !out.waiting {
                out.waiting = true;
                let interest = Interest::READABLE | Interest::WRITABLE;
                if let Err(e) = self
                    .poll
                    .registry()
                    .reregister(&mut client.stream, token, interest)
                {
                    tracing::warn!(error = %e, "cannot wait to write; closing the connection");
                    self.close(token);
                    return Flushed::Closing;
                }
            }
            return Flushed::Waiting;
        }
        if waited {
            // Ignored: were it to fail, the connection would only wake for writability too,
            // and a spurious writable event finds nothing to write.
            let _ = self
                .poll
                .registry()
                .reregister(&mut client.stream, token, Interest::READABLE);
        }
        if !client.conn.answered(LINGER, &self.state) {
            // Ignored: a client already gone needs no end of stream.
            let _ = client.stream.shutdown(Shutdown::Write);
            self.drain(token);
            return Flushed::Closing;
        }
        // Bytes that came while the answer waited, or that reading left in the socket at its
        // cap, raise no new edge: the caller reads them (iteratively, never by recursion).
        Flushed::Kept {
            read: waited || client.conn.unread,
        }
    }

    /// Takes `token`'s connection out of the loop; its request and body reservation go with it.
    pub(super) fn remove(&mut self, token: Token) -> Option<Client> {
        let mut client = self.clients.remove(&token)?;
        // Ignored: the socket is closed when the client is dropped, which leaves the poll too.
        let _ = self.poll.registry().deregister(&mut client.stream);
        Some(client)
    }

    pub(super) fn close(&mut self, token: Token) {
        self.remove(token);
    }
}
