//! HTTP/1.1 on one connection: request heads under the limits, bodies, answers, closing.
//!
//! No connection management and no waiting here: [`transport`](crate::http::transport)
//! decides when to read, write and serve; this module knows the bytes.

use std::io::{self, Read, Write};
use std::mem::MaybeUninit;
use std::net::Shutdown;
use std::time::Duration;

use mio::net::TcpStream;
use serde::Serialize;

use crate::contract::errors::ApiError;
use crate::contract::limits::Limits;
use crate::contract::routes;
use crate::http::state::State;

/// A parsed request head.
#[derive(Debug)]
pub struct Head {
    pub method: String,
    pub url: String,
    pub minor_version: u8,
    pub headers: Vec<(String, String)>,
}

impl Head {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// Whether the client wants the connection kept: HTTP/1.1 unless it says `close`, HTTP/1.0
    /// only when it says `keep-alive`.
    pub fn keep_alive(&self) -> bool {
        let connection = self.header("Connection").map(str::to_ascii_lowercase);
        match self.minor_version {
            0 => connection.is_some_and(|c| c.contains("keep-alive")),
            _ => !connection.is_some_and(|c| c.contains("close")),
        }
    }
}

/// A head as far as it has arrived.
#[derive(Debug)]
pub enum Parsed {
    Complete(Head, usize),
    Partial,
    Refused(ApiError),
}

pub fn parse_head(buf: &[u8], limits: Limits) -> Parsed {
    let line_end = buf.windows(2).position(|w| w == b"\r\n");
    let line_len = line_end.unwrap_or(buf.len());
    if line_len > limits.max_request_line_bytes {
        return Parsed::Refused(ApiError::RequestLineTooLong {
            limit: limits.max_request_line_bytes,
        });
    }
    let head_end = buf.windows(4).position(|w| w == b"\r\n\r\n");
    if head_end.unwrap_or(buf.len()) > limits.max_header_bytes {
        return Parsed::Refused(ApiError::HeaderTooLarge {
            limit: limits.max_header_bytes,
        });
    }
    // Left uninitialised for httparse to fill: zeroing room for 100 headers on every request
    // cost more than parsing the few a request has.
    let mut headers = [const { MaybeUninit::uninit() }; 100];
    let mut request = httparse::Request::new(&mut []);
    match request.parse_with_uninit_headers(buf, &mut headers) {
        Ok(httparse::Status::Complete(used)) => Parsed::Complete(
            Head {
                method: request.method.unwrap_or_default().to_owned(),
                url: request.path.unwrap_or_default().to_owned(),
                minor_version: request.version.unwrap_or(1),
                headers: request
                    .headers
                    .iter()
                    .map(|h| {
                        (
                            h.name.to_owned(),
                            String::from_utf8_lossy(h.value).into_owned(),
                        )
                    })
                    .collect(),
            },
            used,
        ),
        Ok(httparse::Status::Partial) => Parsed::Partial,
        Err(httparse::Error::TooManyHeaders) => Parsed::Refused(ApiError::HeaderTooLarge {
            limit: limits.max_header_bytes,
        }),
        Err(e) => Parsed::Refused(ApiError::MalformedHead {
            detail: e.to_string(),
        }),
    }
}

#[derive(Serialize)]
struct ErrorBody {
    error: String,
}

/// Answers `error` on a raw connection and ends its writing side; best effort, as the client
/// may be gone. Counted in the metrics under the route `transport`.
pub fn refuse(state: &State, stream: &TcpStream, error: &ApiError) {
    let status = error.status(routes::Api::Seed);
    let body = serde_json::to_string(&ErrorBody {
        error: error.to_string(),
    })
    .unwrap_or_default();
    let response = format!(
        "HTTP/1.1 {status} {}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        reason(status),
        body.len()
    );
    let mut writer = stream;
    let _ = writer.write_all(response.as_bytes());
    let _ = stream.shutdown(Shutdown::Write);
    state
        .metrics()
        .observe("transport", "OTHER", status, Duration::ZERO);
    tracing::info!(status, error = %error, "{}", crate::contract::lifecycle::REQUEST);
}

/// How a request's body is framed, decided from its head alone.
#[derive(Debug)]
pub enum Framing {
    /// No body.
    Empty,
    /// `Content-Length` bytes follow the head.
    Length(usize),
    /// `Transfer-Encoding: chunked`.
    Chunked,
    /// Refused unread: the connection cannot carry another request.
    Refused(Unread),
}

/// Why a body was not read.
#[derive(Debug)]
pub enum Unread {
    TooLarge,
    Broken(String),
}

/// Decides how `head`'s body arrives, refusing a declared length over `limit` before any of it
/// is read.
pub fn framing(head: &Head, limit: usize) -> Framing {
    let chunked = head
        .header("Transfer-Encoding")
        .is_some_and(|t| t.to_ascii_lowercase().contains("chunked"));
    let declared = head
        .header("Content-Length")
        .map(|l| l.trim().parse::<u64>());
    if let Some(Ok(len)) = declared
        && len > limit as u64
    {
        return Framing::Refused(Unread::TooLarge);
    }
    if chunked {
        return Framing::Chunked;
    }
    match declared {
        None => Framing::Empty,
        Some(Err(_)) => Framing::Refused(Unread::Broken("Content-Length is not a number".into())),
        Some(Ok(len)) => Framing::Length(len as usize),
    }
}

/// Whether the client waits for `100 Continue` before it sends the body.
pub fn expects_continue(head: &Head) -> bool {
    head.header("Expect")
        .is_some_and(|e| e.eq_ignore_ascii_case("100-continue"))
}

/// The interim answer to `Expect: 100-continue`.
pub const CONTINUE: &[u8] = b"HTTP/1.1 100 Continue\r\n\r\n";

/// A chunked body decoded as its bytes arrive, so that no read ever waits for the rest.
#[derive(Debug, Default)]
pub struct Chunked {
    body: Vec<u8>,
    state: ChunkState,
}

#[derive(Debug, Default)]
enum ChunkState {
    #[default]
    Size,
    Data(usize),
    DataEnd,
    Trailers,
    Done,
}

/// The longest chunk-size line, with its extensions, and the longest trailer line.
const MAX_CHUNK_LINE: usize = 1024;
const MAX_TRAILER_LINE: usize = 8192;

impl Chunked {
    /// Decodes what `buf` holds, removing what it used; true once the body is whole. The
    /// decoded body never exceeds `limit`.
    pub fn feed(&mut self, buf: &mut Vec<u8>, limit: usize) -> Result<bool, Unread> {
        let mut used = 0;
        let result = loop {
            let rest = &buf[used..];
            match self.state {
                ChunkState::Size => match httparse::parse_chunk_size(rest) {
                    Ok(httparse::Status::Complete((n, size))) => {
                        used += n;
                        let size = usize::try_from(size).unwrap_or(usize::MAX);
                        if size == 0 {
                            self.state = ChunkState::Trailers;
                        } else if size > limit.saturating_sub(self.body.len()) {
                            break Err(Unread::TooLarge);
                        } else {
                            self.state = ChunkState::Data(size);
                        }
                    }
                    Ok(httparse::Status::Partial) if rest.len() <= MAX_CHUNK_LINE => {
                        break Ok(false);
                    }
                    _ => break Err(Unread::Broken("a chunk size is not hexadecimal".into())),
                },
                ChunkState::Data(left) => {
                    if rest.is_empty() {
                        break Ok(false);
                    }
                    let n = left.min(rest.len());
                    self.body.extend_from_slice(&rest[..n]);
                    used += n;
                    self.state = if n == left {
                        ChunkState::DataEnd
                    } else {
                        ChunkState::Data(left - n)
                    };
                }
                ChunkState::DataEnd => {
                    if rest.len() < 2 {
                        break Ok(false);
                    }
                    if &rest[..2] != b"\r\n" {
                        break Err(Unread::Broken("a chunk does not end with CRLF".into()));
                    }
                    used += 2;
                    self.state = ChunkState::Size;
                }
                ChunkState::Trailers => match rest.windows(2).position(|w| w == b"\r\n") {
                    // Trailers are read and dropped, up to the empty line.
                    Some(0) => {
                        used += 2;
                        self.state = ChunkState::Done;
                    }
                    Some(end) => used += end + 2,
                    None if rest.len() <= MAX_TRAILER_LINE => break Ok(false),
                    None => break Err(Unread::Broken("a trailer line is too long".into())),
                },
                ChunkState::Done => break Ok(true),
            }
        };
        buf.drain(..used);
        result
    }

    /// The decoded body.
    pub fn into_body(self) -> Vec<u8> {
        self.body
    }
}

/// Encodes a rouille response with the connection's fate in `Connection`.
pub fn encode(minor_version: u8, response: rouille::Response, keep: bool) -> io::Result<Vec<u8>> {
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
        503 => "Service Unavailable",
        _ => "",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits() -> Limits {
        Limits {
            max_request_line_bytes: 32,
            max_header_bytes: 64,
            ..Limits::default()
        }
    }

    #[test]
    fn a_head_parses_once_complete() {
        assert!(matches!(
            parse_head(b"GET /health HTTP/1.1\r\n", limits()),
            Parsed::Partial
        ));
        match parse_head(b"GET /health HTTP/1.0\r\nHost: x\r\n\r\nrest", limits()) {
            Parsed::Complete(head, used) => {
                assert_eq!(
                    (head.method.as_str(), head.url.as_str()),
                    ("GET", "/health")
                );
                assert_eq!(head.minor_version, 0);
                assert!(!head.keep_alive());
                assert_eq!(used, 33);
            }
            _ => panic!("not complete"),
        }
    }

    /// Fed whole or one byte at a time, a chunked body decodes the same, and what follows it
    /// stays in the buffer.
    #[test]
    fn a_chunked_body_decodes_as_it_arrives() {
        let wire = b"4;ext=1\r\nRust\r\n6\r\n rocks\r\n0\r\nTrailer: x\r\n\r\nGET /next";
        let mut whole = Chunked::default();
        let mut buf = wire.to_vec();
        assert!(matches!(whole.feed(&mut buf, 100), Ok(true)));
        assert_eq!(buf, b"GET /next");
        assert_eq!(whole.into_body(), b"Rust rocks");

        let mut trickled = Chunked::default();
        let mut buf = Vec::new();
        let mut done_at = None;
        for (i, byte) in wire.iter().enumerate() {
            buf.push(*byte);
            if matches!(trickled.feed(&mut buf, 100), Ok(true)) {
                done_at = Some(i);
                break;
            }
        }
        assert_eq!(done_at, Some(wire.len() - b"GET /next".len() - 1));
        assert_eq!(trickled.into_body(), b"Rust rocks");
    }

    #[test]
    fn a_chunked_body_is_refused_over_the_limit_or_malformed() {
        let feed = |wire: &[u8], limit| Chunked::default().feed(&mut wire.to_vec(), limit);
        assert!(matches!(
            feed(b"6\r\nabcdef\r\n6\r\nabcdef\r\n", 10),
            Err(Unread::TooLarge)
        ));
        assert!(matches!(feed(b"zz\r\n", 10), Err(Unread::Broken(_))));
        assert!(matches!(
            feed(b"2\r\nabXY", 10),
            Err(Unread::Broken(m)) if m.contains("CRLF")
        ));
        let endless_size = vec![b'1'; MAX_CHUNK_LINE + 2];
        assert!(feed(&endless_size, usize::MAX).is_err());
    }

    #[test]
    fn limits_refuse_long_lines_and_large_heads() {
        let long_line = format!("GET /{} HTTP/1.1\r\n", "x".repeat(40));
        assert!(matches!(
            parse_head(long_line.as_bytes(), limits()),
            Parsed::Refused(ApiError::RequestLineTooLong { limit: 32 })
        ));
        let large = format!("GET / HTTP/1.1\r\nX: {}\r\n", "y".repeat(80));
        assert!(matches!(
            parse_head(large.as_bytes(), limits()),
            Parsed::Refused(ApiError::HeaderTooLarge { limit: 64 })
        ));
        assert!(matches!(
            parse_head(b"GET / HTTP/1.1\r\nbad header\r\n\r\n", limits()),
            Parsed::Refused(ApiError::MalformedHead { .. })
        ));
    }
}
