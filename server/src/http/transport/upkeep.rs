//! What a worker does besides answering events: once a tick, bodies that waited for room are
//! read and connections past their time are closed; while closing, a connection's last bytes
//! are drained; at shutdown, the sweep.

use std::io::{self, Read};
use std::time::Instant;

use mio::Token;

use crate::contract::errors::ApiError;
use crate::http::transport::DRAIN_ARRIVAL;
use crate::http::transport::conn::{Expired, Phase};
use crate::http::transport::event_loop::EventLoop;
use crate::http::wire;

impl EventLoop {
    /// Discards what a closing connection's client sends; closes it at the end of the stream
    /// or past its deadline.
    pub(super) fn drain(&mut self, token: Token) {
        let Some(client) = self.clients.get_mut(&token) else {
            return;
        };
        let Phase::Closing { until } = client.conn.phase else {
            return;
        };
        let done = loop {
            if Instant::now() >= until {
                break true;
            }
            match client.stream.read(&mut self.chunk) {
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
    pub(super) fn retry_stalled(&mut self) {
        let limit = self.limits().max_body_bytes;
        let read = self.chunk.len();
        let stalled: Vec<Token> = self
            .clients
            .iter_mut()
            .filter_map(|(token, client)| {
                let buffered = client.conn.buf.len() + read;
                let pending = client.conn.body()?;
                (pending.stalled && pending.make_room(buffered, limit)).then_some(*token)
            })
            .collect();
        for token in stalled {
            self.read(token);
        }
    }

    /// Closes the connections past their time, with a 408 for a request that did not arrive.
    pub(super) fn expire(&mut self) {
        let limits = self.limits();
        let now = Instant::now();
        let expired: Vec<(Token, Expired)> = self
            .clients
            .iter()
            .filter_map(|(token, client)| Some((*token, client.conn.expired(now, limits)?)))
            .collect();
        for (token, why) in expired {
            if let Some(client) = self.remove(token)
                && why == Expired::Late
            {
                let error = ApiError::RequestTimeout {
                    millis: limits.header_timeout_ms,
                };
                wire::refuse(&self.state, &client.stream, &error);
            }
        }
    }

    /// Shutdown, once the listener is closed: read every connection once (serving what is
    /// there), and close the idle ones.
    pub(super) fn sweep(&mut self) {
        let tokens: Vec<Token> = self.clients.keys().copied().collect();
        for token in tokens {
            self.ready(token, false);
        }
        // Requests begun until now arrived before the sweep: they are served, also those whose
        // head or body is still arriving, if they arrive whole in time.
        self.swept = true;
        let arrive_by = Instant::now() + DRAIN_ARRIVAL;
        let mut idle = Vec::new();
        for (token, client) in &mut self.clients {
            let conn = &mut client.conn;
            conn.admit = conn.in_flight();
            match conn.phase {
                Phase::Answering { .. } | Phase::Closing { .. } => {}
                _ if conn.admit => conn.arrive_by = Some(arrive_by),
                _ => idle.push(*token),
            }
        }
        for token in idle {
            self.close(token);
        }
        // Ignored: the transport stops waiting for the sweep after its deadline.
        let _ = self.swept_tx.send(());
    }
}
