//! HTTP/1.1 messages on one connection: the message length decided from a head, refusals and
//! answers written out.
//!
//! No connection management and no waiting here: [`transport`](crate::http::transport)
//! decides when to read, write and serve; this module knows the bytes.

use std::io::{self, Read, Write};
use std::net::Shutdown;

use mio::net::TcpStream;

use crate::contract::errors::ApiError;
use crate::http::decode::{Chunked, Decoder};
use crate::http::pipeline;
use crate::http::state::State;

pub use crate::http::head::{Head, Parsed, parse_head};

/// The answer to a request refused before routing, with `Connection: close`: the request's
/// end is unknown, so nothing after it can be read. The pipeline builds, counts and logs it as
/// it does every answer.
pub fn refusal(state: &State, error: &ApiError) -> Vec<u8> {
    let response = pipeline::refused(state, error);
    // Ignored: encoding an in-memory answer of known length cannot fail.
    encode(1, response, false, false).unwrap_or_default()
}

/// Answers `error` on a connection no event loop holds, and ends its writing side; best
/// effort, as the client may be gone.
pub fn refuse(state: &State, stream: &TcpStream, error: &ApiError) {
    let mut writer = stream;
    // Ignored: a client gone before its refusal is answered needs nothing more.
    let _ = writer.write_all(&refusal(state, error));
    let _ = stream.shutdown(Shutdown::Write);
}

/// How a request's body is framed, decided from its head alone (RFC 9112 §6).
#[derive(Debug, PartialEq)]
pub enum Framing {
    /// No body.
    Empty,
    /// `Content-Length` bytes follow the head.
    Length(u64),
    /// `Transfer-Encoding: chunked`.
    Chunked,
}

impl Framing {
    /// The decoder for a body that follows the head; `None` for no body.
    pub fn decoder(&self) -> Option<Decoder> {
        match self {
            Framing::Empty => None,
            // A length past the address space never arrives whole; callers refuse any length
            // over the body limit before reading.
            Framing::Length(len) => {
                Some(Decoder::Length(usize::try_from(*len).unwrap_or(usize::MAX)))
            }
            Framing::Chunked => Some(Decoder::Chunked(Chunked::default())),
        }
    }
}

/// Decides how `head`'s body arrives, or refuses a head whose length is ambiguous: every
/// `Transfer-Encoding` line together must say exactly `chunked` (another coding is 501;
/// `identity`, or `chunked` not alone, is 400), and may not come with `Content-Length` nor in
/// HTTP/1.0; each `Content-Length` is digits only, and several must agree. A refused head
/// leaves the connection unusable: the caller closes it.
pub fn framing(head: &Head) -> Result<Framing, ApiError> {
    let refuse = |detail: &str| {
        Err(ApiError::Framing {
            detail: detail.to_owned(),
        })
    };
    let mut codings = Vec::new();
    let mut length = None;
    for (name, value) in &head.headers {
        if name.eq_ignore_ascii_case("Transfer-Encoding") {
            codings.extend(value.split(',').map(|c| c.trim_matches([' ', '\t'])));
        } else if name.eq_ignore_ascii_case("Content-Length") {
            let value = value.trim_matches([' ', '\t']);
            if value.is_empty() || !value.bytes().all(|b| b.is_ascii_digit()) {
                return refuse("Content-Length is not a number");
            }
            let Ok(value) = value.parse::<u64>() else {
                return refuse("Content-Length is larger than 64 bits");
            };
            if length.is_some_and(|known| known != value) {
                return refuse("Content-Length is given twice with different values");
            }
            length = Some(value);
        }
    }
    if codings.is_empty() {
        return Ok(length.map_or(Framing::Empty, Framing::Length));
    }
    if head.minor_version == 0 {
        return refuse("Transfer-Encoding is not allowed in HTTP/1.0");
    }
    if length.is_some() {
        return refuse("Transfer-Encoding and Content-Length together");
    }
    let known = |c: &&str| c.eq_ignore_ascii_case("chunked") || c.eq_ignore_ascii_case("identity");
    if let Some(coding) = codings.iter().find(|c| !c.is_empty() && !known(c)) {
        return Err(ApiError::UnsupportedCoding {
            coding: (*coding).to_owned(),
        });
    }
    match codings.as_slice() {
        [only] if only.eq_ignore_ascii_case("chunked") => Ok(Framing::Chunked),
        _ => refuse("Transfer-Encoding must be chunked alone"),
    }
}

/// The interim answer to `Expect: 100-continue`.
pub const CONTINUE: &[u8] = b"HTTP/1.1 100 Continue\r\n\r\n";

/// Encodes a rouille response with the connection's fate in `Connection`; the answer to a
/// HEAD request keeps its `Content-Length` and drops its body (RFC 9110 §9.3.2).
pub fn encode(
    minor_version: u8,
    response: rouille::Response,
    keep: bool,
    head_only: bool,
) -> io::Result<Vec<u8>> {
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
        minor_version.min(1),
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
    if head_only {
        out.truncate(head_len);
    }
    Ok(out)
}

/// Writes what the socket takes now: the number of bytes written, short when the client is
/// slow to read.
pub fn write_some(stream: &TcpStream, data: &[u8]) -> io::Result<usize> {
    let mut writer = stream;
    let mut written = 0;
    while written < data.len() {
        match writer.write(&data[written..]) {
            Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
            Ok(n) => written += n,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(written)
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
        501 => "Not Implemented",
        503 => "Service Unavailable",
        505 => "HTTP Version Not Supported",
        _ => "",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::contract::limits::Limits;
    use crate::contract::routes;

    fn head(wire: &str) -> Head {
        match parse_head(wire.as_bytes(), Limits::default()) {
            Parsed::Complete(head, _) => head,
            other => panic!("{wire:?}: {other:?}"),
        }
    }

    /// The message length as RFC 9112 §6 decides it: one valid length or chunked alone, and a
    /// refusal for everything a proxy could read another way.
    #[test]
    fn framing_is_decided_from_the_whole_head() {
        let framing_of = |fields: &str, version: u8| {
            let host = "Host: x\r\n";
            framing(&head(&format!(
                "POST / HTTP/1.{version}\r\n{host}{fields}\r\n"
            )))
        };
        let accepted = [
            ("", Framing::Empty),
            ("Content-Length: 5\r\n", Framing::Length(5)),
            ("Content-Length: 007\r\n", Framing::Length(7)),
            (
                "Content-Length: 5\r\nContent-Length: 5\r\n",
                Framing::Length(5),
            ),
            ("Transfer-Encoding: chunked\r\n", Framing::Chunked),
            ("Transfer-Encoding:  CHUNKED \r\n", Framing::Chunked),
        ];
        for (fields, expected) in accepted {
            assert_eq!(framing_of(fields, 1), Ok(expected), "{fields:?}");
        }
        let refused = [
            ("Content-Length: +5\r\n", 400),
            ("Content-Length: 5, 5\r\n", 400),
            ("Content-Length: 0\r\nContent-Length: 35\r\n", 400),
            ("Content-Length: 99999999999999999999\r\n", 400),
            ("Content-Length: \r\n", 400),
            ("Content-Length: 4\r\nTransfer-Encoding: chunked\r\n", 400),
            ("Transfer-Encoding: chunked\r\nContent-Length: 4\r\n", 400),
            ("Transfer-Encoding: identity\r\n", 400),
            ("Transfer-Encoding: chunked, identity\r\n", 400),
            (
                "Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n",
                400,
            ),
            ("Transfer-Encoding: chunked,\r\n", 400),
            ("Transfer-Encoding: gzip\r\n", 501),
            ("Transfer-Encoding: gzip, chunked\r\n", 501),
            ("Transfer-Encoding: xchunked\r\n", 501),
            (
                "Transfer-Encoding: chunked\r\nTransfer-Encoding: gzip\r\n",
                501,
            ),
        ];
        for (fields, status) in refused {
            let error = framing_of(fields, 1).expect_err(fields);
            assert_eq!(
                error.status(routes::Api::Seed),
                status,
                "{fields:?}: {error}"
            );
        }
        let http_1_0 = framing_of("Transfer-Encoding: chunked\r\n", 0).unwrap_err();
        assert!(http_1_0.to_string().contains("HTTP/1.0"), "{http_1_0}");
    }

    #[test]
    fn an_answer_to_head_has_the_length_and_no_body() {
        let answer = |head_only| {
            let response = rouille::Response::from_data("application/json", "{}");
            String::from_utf8(encode(1, response, true, head_only).unwrap()).unwrap()
        };
        let (get, head) = (answer(false), answer(true));
        assert!(get.ends_with("\r\n\r\n{}"), "{get}");
        assert_eq!(head, get.trim_end_matches("{}"));
        assert!(head.contains("Content-Length: 2\r\n"), "{head}");
    }
}
