//! HTTP/1.1 on one connection: request heads under the limits, bodies, answers, closing.
//!
//! No connection management here: [`transport`](crate::http::transport) decides when to read
//! and whom to serve; this module knows the bytes.

use std::io::{self, Read, Write};
use std::net::Shutdown;
use std::time::{Duration, Instant};

use mio::net::TcpStream;
use serde::Serialize;
use socket2::SockRef;

use crate::contract::errors::ApiError;
use crate::contract::limits::Limits;
use crate::contract::routes;
use crate::http::body::Body;
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

    /// The body length the event loop may wait for: a `Content-Length`, unless the body is
    /// chunked or the client waits for `100 Continue` before sending it.
    pub fn body_to_buffer(&self) -> Option<usize> {
        let chunked = self.header("Transfer-Encoding").is_some();
        let expects = self.header("Expect").is_some();
        if chunked || expects {
            return None;
        }
        self.header("Content-Length")?.trim().parse().ok()
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
    let mut headers = [httparse::EMPTY_HEADER; 100];
    let mut request = httparse::Request::new(&mut headers);
    match request.parse(buf) {
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

/// A connection's stream and the bytes read from it that are not used yet, while one request
/// is served.
///
/// The socket stays non-blocking while what it needs is at hand, which is the common case (the
/// whole request arrived with its head, the answer fits the send buffer). Only a body still
/// arriving or an answer the client is slow to take switches it to blocking, bounded by the
/// request's deadline and the write timeout set at accept; [`Exchange::finish`] switches it
/// back.
#[derive(Debug)]
pub struct Exchange<'a> {
    buf: &'a mut Vec<u8>,
    stream: &'a TcpStream,
    blocking: bool,
    /// When the current request must have arrived whole.
    deadline: Instant,
}

impl<'a> Exchange<'a> {
    pub fn new(stream: &'a TcpStream, buf: &'a mut Vec<u8>, deadline: Instant) -> Exchange<'a> {
        Exchange {
            buf,
            stream,
            blocking: false,
            deadline,
        }
    }

    /// Switches the socket to blocking for the rest of this exchange.
    fn block(&mut self) -> io::Result<()> {
        if !self.blocking {
            SockRef::from(self.stream).set_nonblocking(false)?;
            self.blocking = true;
        }
        Ok(())
    }

    /// Leaves the socket non-blocking again, for the event loop; false if it cannot be.
    pub fn finish(self) -> bool {
        !self.blocking || SockRef::from(self.stream).set_nonblocking(true).is_ok()
    }

    /// Reads more into the buffer; false at the end of the stream. A blocking read waits no
    /// longer than the request's deadline, however slowly its bytes trickle in.
    fn fill(&mut self) -> io::Result<bool> {
        let mut chunk = [0u8; 8192];
        let mut reader = self.stream;
        loop {
            if self.blocking {
                let left = self.deadline.saturating_duration_since(Instant::now());
                if left.is_zero() {
                    return Err(io::ErrorKind::TimedOut.into());
                }
                SockRef::from(self.stream).set_read_timeout(Some(left))?;
            }
            match reader.read(&mut chunk) {
                Ok(n) => {
                    self.buf.extend_from_slice(&chunk[..n]);
                    return Ok(n > 0);
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock && !self.blocking => {
                    self.block()?;
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
    }

    /// Writes all of `data`, waiting for the client only when it is slow to take it.
    fn write_all(&mut self, mut data: &[u8]) -> io::Result<()> {
        let mut writer = self.stream;
        while !data.is_empty() {
            match writer.write(data) {
                Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
                Ok(n) => data = &data[n..],
                Err(e) if e.kind() == io::ErrorKind::WouldBlock && !self.blocking => {
                    self.block()?;
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }

    /// Takes exactly `n` bytes, reading as needed.
    fn take(&mut self, n: usize) -> io::Result<Vec<u8>> {
        while self.buf.len() < n {
            if !self.fill()? {
                return Err(io::ErrorKind::UnexpectedEof.into());
            }
        }
        // The body is the buffer, or its start: only what follows it is copied.
        let rest = self.buf.split_off(n);
        Ok(std::mem::replace(self.buf, rest))
    }

    /// Takes one CRLF-terminated line, without the CRLF; at most `max` bytes.
    fn line(&mut self, max: usize) -> io::Result<Vec<u8>> {
        loop {
            if let Some(end) = self.buf.windows(2).position(|w| w == b"\r\n") {
                let line = self.buf.drain(..end + 2).take(end).collect();
                return Ok(line);
            }
            if self.buf.len() > max {
                return Err(io::ErrorKind::InvalidData.into());
            }
            if !self.fill()? {
                return Err(io::ErrorKind::UnexpectedEof.into());
            }
        }
    }
}

/// Why a body was not read.
#[derive(Debug)]
pub enum Unread {
    TooLarge,
    Timeout,
    Broken(String),
}

impl From<io::Error> for Unread {
    fn from(e: io::Error) -> Unread {
        match e.kind() {
            io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut => Unread::Timeout,
            _ => Unread::Broken(format!("cannot read the request body: {e}")),
        }
    }
}

/// Reads the body `head` declares, never holding more than `limit` bytes of it.
pub fn read_body(io: &mut Exchange, head: &Head, limit: usize) -> Result<Body, Unread> {
    let chunked = head
        .header("Transfer-Encoding")
        .is_some_and(|t| t.to_ascii_lowercase().contains("chunked"));
    let declared = head
        .header("Content-Length")
        .map(|l| l.trim().parse::<u64>());
    if let Some(Ok(len)) = declared
        && len > limit as u64
    {
        return Err(Unread::TooLarge);
    }
    if head
        .header("Expect")
        .is_some_and(|e| e.eq_ignore_ascii_case("100-continue"))
    {
        io.write_all(b"HTTP/1.1 100 Continue\r\n\r\n")
            .map_err(Unread::from)?;
    }
    if chunked {
        let mut body = Vec::new();
        loop {
            let line = io.line(1024)?;
            let size = std::str::from_utf8(&line)
                .ok()
                .and_then(|l| usize::from_str_radix(l.split(';').next()?.trim(), 16).ok())
                .ok_or_else(|| Unread::Broken("a chunk size is not hexadecimal".into()))?;
            if size == 0 {
                // Trailers, up to the empty line.
                while !io.line(8192)?.is_empty() {}
                return Ok(Ok(body));
            }
            if body.len() + size > limit {
                return Err(Unread::TooLarge);
            }
            body.extend(io.take(size)?);
            if !io.take(2)?.eq(b"\r\n") {
                return Err(Unread::Broken("a chunk does not end with CRLF".into()));
            }
        }
    }
    match declared {
        None => Ok(Ok(Vec::new())),
        Some(Err(_)) => Err(Unread::Broken("Content-Length is not a number".into())),
        Some(Ok(len)) => Ok(Ok(io.take(len as usize)?)),
    }
}

/// Writes a rouille response with the connection's fate in `Connection`.
pub fn write_response(
    io: &mut Exchange,
    head: &Head,
    response: rouille::Response,
    keep: bool,
) -> io::Result<()> {
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
        head.minor_version.min(1),
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
    io.write_all(&out)
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
