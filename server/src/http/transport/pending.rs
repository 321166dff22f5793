//! A request whose head is parsed and whose body is arriving: the body's decoder, and the
//! room it holds in the shared budget as its bytes come.

use std::sync::Arc;

use crate::contract::errors::ApiError;
use crate::contract::limits::Limits;
use crate::http::budget::{Budget, Reservation};
use crate::http::decode::{Decoded, Decoder};
use crate::http::wire::{self, Framing, Head};

/// A request head whose body is arriving.
#[derive(Debug)]
pub struct Pending {
    pub head: Head,
    body: Arriving,
    /// Room its body holds in the budget, grown as its bytes arrive and given back with it.
    reservation: Reservation,
    /// The budget had no room for its next bytes: they wait in the socket until there is.
    pub stalled: bool,
}

/// A body as far as it has arrived.
#[derive(Debug)]
enum Arriving {
    /// Nothing to read: no body, or one refused unread.
    Nothing(Option<ApiError>),
    Decoding(Decoder),
}

impl Pending {
    /// A request whose head is parsed, or the refusal of a head whose body cannot be framed.
    /// A declared body over the limit is refused unread, through the pipeline.
    pub fn new(head: Head, limits: Limits, budget: &Arc<Budget>) -> Result<Pending, ApiError> {
        let framing = wire::framing(&head)?;
        let too_large = ApiError::BodyTooLarge {
            limit: limits.max_body_bytes,
        };
        let body = match framing {
            Framing::Length(len) if len > limits.max_body_bytes as u64 => {
                Arriving::Nothing(Some(too_large))
            }
            framing => match framing.decoder() {
                Some(decoder) => Arriving::Decoding(decoder),
                None => Arriving::Nothing(None),
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
    pub fn make_room(&mut self, buffered: usize, limit: usize) -> bool {
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

    /// The room its body holds now.
    pub fn room(&self) -> usize {
        self.reservation.bytes()
    }

    /// Whether its body is still to be read from the socket.
    pub fn reading(&self) -> bool {
        matches!(self.body, Arriving::Decoding(_))
    }

    /// The body, once it has arrived whole (or is refused); `None` while it is arriving.
    pub fn take_body(
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
