//! How a client reads one of the service's answers off a socket. Every answer the service
//! writes is framed by `Content-Length` (it never chunks), so a client that reads the head and
//! then that many bytes stays in step on a kept connection. The harness and the tests read raw
//! sockets with this one reader.

use std::io::BufRead;

/// An answer, kept raw so that a check can look at its status, type and exact body text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    pub status: u16,
    pub content_type: Option<String>,
    pub body: String,
}

impl Answer {
    /// The body as JSON, if it is.
    pub fn json(&self) -> Option<serde_json::Value> {
        serde_json::from_str(&self.body).ok()
    }
}

/// An answer's status and the head fields a client needs to read on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Head {
    pub status: u16,
    pub content_length: usize,
    pub content_type: Option<String>,
}

/// Reads one answer's head; its body, `content_length` bytes, follows in `stream`.
pub fn read_head(stream: &mut impl BufRead) -> std::io::Result<Head> {
    let mut status_line = String::new();
    stream.read_line(&mut status_line)?;
    let status = status_line
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| std::io::Error::other(format!("bad status line {status_line:?}")))?;
    let mut head = Head {
        status,
        content_length: 0,
        content_type: None,
    };
    loop {
        let mut line = String::new();
        stream.read_line(&mut line)?;
        if line == "\r\n" || line.is_empty() {
            return Ok(head);
        }
        let Some((name, value)) = line.split_once(':') else {
            continue;
        };
        if name.eq_ignore_ascii_case("content-length") {
            head.content_length = value.trim().parse().map_err(|_| {
                std::io::Error::other(format!("bad Content-Length {:?}", value.trim()))
            })?;
        } else if name.eq_ignore_ascii_case("content-type") {
            head.content_type = Some(value.trim().to_owned());
        }
    }
}

/// Reads one whole answer: its head, then its body.
pub fn read_answer(stream: &mut impl BufRead) -> std::io::Result<Answer> {
    let head = read_head(stream)?;
    let mut body = vec![0; head.content_length];
    stream.read_exact(&mut body)?;
    Ok(Answer {
        status: head.status,
        content_type: head.content_type,
        body: String::from_utf8_lossy(&body).into_owned(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_answers_one_after_another_on_a_kept_connection() {
        let wire = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\ncontent-length: 15\r\n\r\n\
                    {\"status\":\"ok\"}HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n";
        let mut stream = wire.as_bytes();
        let first = read_answer(&mut stream).unwrap();
        assert_eq!(first.status, 200);
        assert_eq!(first.content_type.as_deref(), Some("application/json"));
        assert_eq!(first.json().unwrap()["status"], "ok");
        let second = read_answer(&mut stream).unwrap();
        assert_eq!((second.status, second.body.as_str()), (404, ""));
        assert!(stream.is_empty());
    }

    #[test]
    fn a_garbled_head_is_an_error_not_a_guess() {
        assert!(read_answer(&mut "garbage\r\n\r\n".as_bytes()).is_err());
        let bad_length = "HTTP/1.1 200 OK\r\nContent-Length: x\r\n\r\n";
        assert!(read_answer(&mut bad_length.as_bytes()).is_err());
    }
}
