//! Request bodies as their bytes arrive: by `Content-Length`, or chunked (RFC 9112 §7.1).
//!
//! The chunked decoder reads every framing byte through one state machine, as hyper's
//! `proto/h1/decode.rs` does, and is as strict: a chunk size is hexadecimal within `u64`, every
//! chunk line, trailer line and the final line ends in CRLF (a bare LF is refused, since a
//! proxy that takes it for a line end would frame the stream differently), and the trailer
//! section is parsed as header fields and bounded like a head. No read ever waits for the
//! rest: a decoder takes what has arrived and says whether the body is whole.

use crate::contract::errors::ApiError;

/// Header fields a head or a trailer section may hold; more is refused with 431.
pub const MAX_FIELDS: usize = 100;
/// Bytes of chunk extensions a body may carry in all, as hyper allows.
const MAX_EXTENSION_BYTES: usize = 16 * 1024;

/// A body being read.
#[derive(Debug)]
pub enum Decoder {
    /// `Content-Length` bytes still to come.
    Length(usize),
    Chunked(Chunked),
}

/// How a decoder stands after taking what arrived.
#[derive(Debug, PartialEq)]
pub enum Decoded {
    /// The body is whole; what follows it stays in the buffer.
    Whole(Vec<u8>),
    /// More bytes are needed.
    Partial,
}

impl Decoder {
    /// Takes the body bytes of `buf`, removing what it uses; `max_body` bounds a chunked body
    /// (a declared length was checked against it before any byte was read), and
    /// `max_trailer` the trailer section.
    pub fn decode(
        &mut self,
        buf: &mut Vec<u8>,
        max_body: usize,
        max_trailer: usize,
    ) -> Result<Decoded, ApiError> {
        match self {
            Decoder::Length(len) => Ok(if buf.len() >= *len {
                // The body is the buffer, or its start: only what follows it is copied.
                let rest = buf.split_off(*len);
                Decoded::Whole(std::mem::replace(buf, rest))
            } else {
                Decoded::Partial
            }),
            Decoder::Chunked(chunked) => chunked.feed(buf, max_body, max_trailer),
        }
    }

    /// Body bytes this decoder holds besides the connection's buffer.
    pub fn held(&self) -> usize {
        match self {
            Decoder::Length(_) => 0,
            Decoder::Chunked(chunked) => chunked.body.len(),
        }
    }
}

/// A chunked body decoded as its bytes arrive.
#[derive(Debug, Default)]
pub struct Chunked {
    body: Vec<u8>,
    state: State,
    /// The size of the chunk whose size line is being read.
    size: u64,
    extension_bytes: usize,
    /// The trailer section so far: its bytes and its fields.
    trailer_bytes: usize,
    trailer_fields: usize,
    /// The trailer line being read, checked as a header field at its end.
    line: Vec<u8>,
}

/// Where the decoder is in the chunked framing.
#[derive(Debug, Default, Clone, Copy, PartialEq)]
enum State {
    /// Before the first hexadecimal digit of a chunk size.
    #[default]
    Start,
    /// Within the digits of a chunk size.
    Size,
    /// White space after the size.
    SizeWhite,
    /// A chunk extension, up to the CR.
    Extension,
    /// The LF after a size line's CR.
    SizeLf,
    /// Data bytes still to come in this chunk.
    Data(u64),
    /// The CR, then the LF, after a chunk's data.
    DataCr,
    DataLf,
    /// After the last chunk: a trailer field, or the CR of the final line.
    TrailerStart,
    /// Within a trailer field line, then its LF.
    Trailer,
    TrailerLf,
    /// The LF of the final line.
    EndLf,
    Done,
}

fn framing(detail: &'static str) -> ApiError {
    ApiError::Framing {
        detail: detail.into(),
    }
}

impl Chunked {
    fn feed(
        &mut self,
        buf: &mut Vec<u8>,
        max_body: usize,
        max_trailer: usize,
    ) -> Result<Decoded, ApiError> {
        let mut used = 0;
        let result = self.step(buf, &mut used, max_body, max_trailer);
        buf.drain(..used);
        result
    }

    fn step(
        &mut self,
        buf: &[u8],
        used: &mut usize,
        max_body: usize,
        max_trailer: usize,
    ) -> Result<Decoded, ApiError> {
        while *used < buf.len() {
            if let State::Data(left) = self.state {
                let rest = &buf[*used..];
                let n = usize::try_from(left).map_or(rest.len(), |left| left.min(rest.len()));
                self.body.extend_from_slice(&rest[..n]);
                *used += n;
                let left = left - n as u64;
                self.state = if left == 0 {
                    State::DataCr
                } else {
                    State::Data(left)
                };
                continue;
            }
            let byte = buf[*used];
            *used += 1;
            self.state = match (self.state, byte) {
                (State::Start | State::Size, b) if b.is_ascii_hexdigit() => {
                    let digit = u64::from((b as char).to_digit(16).unwrap_or(0));
                    if self.size > u64::MAX >> 4 {
                        return Err(framing("a chunk size is larger than 64 bits"));
                    }
                    self.size = self.size << 4 | digit;
                    State::Size
                }
                (State::Start, _) => return Err(framing("a chunk size is not hexadecimal")),
                (State::Size | State::SizeWhite, b' ' | b'\t') => State::SizeWhite,
                (State::Size | State::SizeWhite, b';') => State::Extension,
                (State::Size | State::SizeWhite, b'\r') => State::SizeLf,
                (State::Size | State::SizeWhite, b'\n') => {
                    return Err(framing("a chunk size line does not end in CRLF"));
                }
                (State::Size | State::SizeWhite, _) => {
                    return Err(framing("a chunk size is not hexadecimal"));
                }
                (State::Extension, b'\r') => State::SizeLf,
                (State::Extension, b'\n') => {
                    return Err(framing("a chunk extension holds a line feed"));
                }
                (State::Extension, _) => {
                    self.extension_bytes += 1;
                    if self.extension_bytes > MAX_EXTENSION_BYTES {
                        return Err(framing("chunk extensions are too long"));
                    }
                    State::Extension
                }
                (State::SizeLf, b'\n') => {
                    let size = std::mem::take(&mut self.size);
                    if size == 0 {
                        State::TrailerStart
                    } else if size > (max_body - self.body.len().min(max_body)) as u64 {
                        return Err(ApiError::BodyTooLarge { limit: max_body });
                    } else {
                        State::Data(size)
                    }
                }
                (State::SizeLf, _) => {
                    return Err(framing("a chunk size line does not end in CRLF"));
                }
                (State::DataCr, b'\r') => State::DataLf,
                (State::DataLf, b'\n') => State::Start,
                (State::DataCr | State::DataLf, _) => {
                    return Err(framing("a chunk's data does not end in CRLF"));
                }
                (State::TrailerStart, b'\r') => State::EndLf,
                (State::TrailerStart | State::Trailer, b'\n') => {
                    return Err(framing("a trailer line does not end in CRLF"));
                }
                (State::Trailer, b'\r') => {
                    self.end_trailer_field()?;
                    State::TrailerLf
                }
                (State::TrailerStart | State::Trailer, b) => {
                    self.line.push(b);
                    State::Trailer
                }
                (State::TrailerLf, b'\n') => State::TrailerStart,
                (State::EndLf, b'\n') => State::Done,
                (State::TrailerLf | State::EndLf, _) => {
                    return Err(framing("a trailer line does not end in CRLF"));
                }
                (State::Data(_) | State::Done, _) => self.state,
            };
            if matches!(
                self.state,
                State::TrailerStart
                    | State::Trailer
                    | State::TrailerLf
                    | State::EndLf
                    | State::Done
            ) {
                self.trailer_bytes += 1;
                if self.trailer_bytes > max_trailer {
                    return Err(ApiError::HeaderTooLarge { limit: max_trailer });
                }
            }
            if self.state == State::Done {
                return Ok(Decoded::Whole(std::mem::take(&mut self.body)));
            }
        }
        Ok(Decoded::Partial)
    }

    /// Checks the trailer line just read as a header field, `name: value`.
    fn end_trailer_field(&mut self) -> Result<(), ApiError> {
        let line = std::mem::take(&mut self.line);
        self.trailer_fields += 1;
        if self.trailer_fields > MAX_FIELDS {
            return Err(ApiError::TooManyHeaders { limit: MAX_FIELDS });
        }
        let Some(colon) = line.iter().position(|&b| b == b':') else {
            return Err(framing("a trailer line is not a header field"));
        };
        let (name, value) = (&line[..colon], &line[colon + 1..]);
        if name.is_empty() || !name.iter().all(|&b| is_tchar(b)) {
            return Err(framing("a trailer field's name is not a token"));
        }
        if value.iter().any(|&b| b == 0 || b == b'\r' || b == 0x7f) {
            return Err(framing("a trailer field's value holds a control character"));
        }
        Ok(())
    }
}

/// A token character (RFC 9110 §5.6.2).
fn is_tchar(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

#[cfg(test)]
mod tests {
    use super::*;

    const MAX: usize = 1 << 20;

    /// Decodes `wire` fed whole and one byte at a time; both must agree. Returns the outcome
    /// and what stayed in the buffer.
    fn decode(wire: &[u8]) -> (Result<Decoded, ApiError>, Vec<u8>) {
        let mut whole = Decoder::Chunked(Chunked::default());
        let mut buf = wire.to_vec();
        let outcome = whole.decode(&mut buf, MAX, 1024);

        let mut trickled = Decoder::Chunked(Chunked::default());
        let mut pending = Vec::new();
        let mut trickled_outcome = Ok(Decoded::Partial);
        for (i, byte) in wire.iter().enumerate() {
            pending.push(*byte);
            trickled_outcome = trickled.decode(&mut pending, MAX, 1024);
            if !matches!(trickled_outcome, Ok(Decoded::Partial)) {
                pending.extend_from_slice(&wire[i + 1..]);
                break;
            }
        }
        assert_eq!(outcome, trickled_outcome, "whole and byte by byte disagree");
        assert_eq!(buf, pending, "whole and byte by byte leave other bytes");
        (outcome, buf)
    }

    fn refused(wire: &[u8]) -> String {
        match decode(wire).0 {
            Err(e) => e.to_string(),
            other => panic!("{:?} accepted: {other:?}", String::from_utf8_lossy(wire)),
        }
    }

    #[test]
    fn a_chunked_body_decodes_and_leaves_what_follows() {
        let (outcome, rest) =
            decode(b"4;ext=1\r\nRust\r\n6 ; a=\"b\"\r\n rocks\r\n0\r\nTrailer: x\r\n\r\nGET /next");
        assert_eq!(outcome, Ok(Decoded::Whole(b"Rust rocks".to_vec())));
        assert_eq!(rest, b"GET /next");
        let (outcome, _) = decode(b"000A\r\n0123456789\r\n00\r\n\r\n");
        assert_eq!(outcome, Ok(Decoded::Whole(b"0123456789".to_vec())));
    }

    #[test]
    fn an_unfinished_body_waits() {
        for wire in [
            &b""[..],
            b"4\r\nRu",
            b"4\r\nRust\r\n0\r\n",
            b"0\r\nX: y\r\n",
        ] {
            assert_eq!(decode(wire).0, Ok(Decoded::Partial), "{wire:?}");
        }
    }

    #[test]
    fn chunk_lines_are_strict() {
        let cases: [(&[u8], &str); 11] = [
            (b"\r\n", "not hexadecimal"),
            (b";x\r\n", "not hexadecimal"),
            (b"zz\r\n", "not hexadecimal"),
            (b"+5\r\nhello\r\n", "not hexadecimal"),
            (b"5\nhello\r\n", "CRLF"),
            (b"5;a\nb\r\nhello\r\n", "line feed"),
            (b"5\r\nhelloXY", "CRLF"),
            (b"5\r\nhello\n0\r\n\r\n", "CRLF"),
            (b"0\r\n\nGET / HTTP/1.1\r\n\r\n", "CRLF"),
            (b"0\r\nX: y\n\r\n", "CRLF"),
            (b"1 2\r\nab\r\n", "not hexadecimal"),
        ];
        for (wire, why) in cases {
            let message = refused(wire);
            assert!(message.contains(why), "{wire:?}: {message}");
        }
        assert!(refused(b"10000000000000000\r\n").contains("64 bits"));
    }

    #[test]
    fn trailers_are_header_fields_bounded_like_a_head() {
        assert!(refused(b"0\r\nGET / HTTP/1.1\r\n\r\n").contains("header field"));
        assert!(refused(b"0\r\nBad Name: x\r\n\r\n").contains("token"));
        let many = format!("0\r\n{}\r\n", "X: y\r\n".repeat(MAX_FIELDS + 1));
        assert!(refused(many.as_bytes()).contains("header fields"));
        let long = format!("0\r\nX: {}\r\n\r\n", "y".repeat(2000));
        assert!(refused(long.as_bytes()).contains("limit of 1024 bytes"));
    }

    #[test]
    fn a_chunked_body_over_the_limit_is_refused_at_its_size_line() {
        let mut decoder = Decoder::Chunked(Chunked::default());
        let mut buf = b"6\r\nabcdef\r\n6\r\n".to_vec();
        assert_eq!(
            decoder.decode(&mut buf, 10, 1024),
            Err(ApiError::BodyTooLarge { limit: 10 })
        );
        let extensions = format!("1;{}\r\n", "e".repeat(MAX_EXTENSION_BYTES + 1));
        assert!(refused(extensions.as_bytes()).contains("extensions"));
    }

    #[test]
    fn a_length_body_is_split_from_what_follows() {
        let mut decoder = Decoder::Length(4);
        let mut buf = b"abc".to_vec();
        assert_eq!(decoder.decode(&mut buf, MAX, 0), Ok(Decoded::Partial));
        buf.extend_from_slice(b"dGET");
        assert_eq!(
            decoder.decode(&mut buf, MAX, 0),
            Ok(Decoded::Whole(b"abcd".to_vec()))
        );
        assert_eq!(buf, b"GET");
    }
}
