//! Request heads: parsed with httparse under the limits on the request line, the head's size
//! and its field count, and checked as RFC 9112 asks of a request head: its version, its
//! `Host`, its target.

use std::mem::MaybeUninit;

use crate::contract::errors::{ApiError, shown_path};
use crate::contract::limits::Limits;
use crate::http::decode::MAX_FIELDS;

/// A parsed request head.
#[derive(Debug)]
pub struct Head {
    pub method: String,
    /// The target as routed: an absolute-form target (`http://host/path`) is reduced to its
    /// path, as RFC 9112 §3.2.2 has a server accept it.
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

    /// Whether any `Connection` field lists `option`.
    fn connection(&self, option: &str) -> bool {
        self.headers
            .iter()
            .filter(|(k, _)| k.eq_ignore_ascii_case("Connection"))
            .flat_map(|(_, v)| v.split(','))
            .any(|o| o.trim().eq_ignore_ascii_case(option))
    }

    /// Whether the client wants the connection kept: HTTP/1.1 unless it says `close`, HTTP/1.0
    /// only when it says `keep-alive`.
    pub fn keep_alive(&self) -> bool {
        match self.minor_version {
            0 => self.connection("keep-alive"),
            _ => !self.connection("close"),
        }
    }

    /// A HEAD request: its answer has the GET's status and headers, and no body.
    pub fn is_head(&self) -> bool {
        self.method == "HEAD"
    }

    /// Whether the client waits for `100 Continue` before it sends the body. Only HTTP/1.1
    /// clients do (RFC 9110 §10.1.1): an HTTP/1.0 client would read the interim answer as
    /// the final one.
    pub fn expects_continue(&self) -> bool {
        self.minor_version >= 1
            && self
                .header("Expect")
                .is_some_and(|e| e.trim().eq_ignore_ascii_case("100-continue"))
    }
}

/// A head as far as it has arrived.
#[derive(Debug)]
pub enum Parsed {
    Complete(Head, usize),
    Partial,
    Refused(ApiError),
}

/// Parses the head at the start of `buf`, within the limits on the request line, the head's
/// size and its number of fields, and checks what RFC 9112 asks of a request head: a version
/// of HTTP/1 (505 otherwise; a minor version above 1 is read as 1.1, §2.3) and exactly one
/// `Host` in HTTP/1.1 (at most one in HTTP/1.0, §3.2).
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
    // Left uninitialised for httparse to fill: zeroing room for every header on every request
    // cost more than parsing the few a request has.
    let mut headers = [const { MaybeUninit::uninit() }; MAX_FIELDS];
    let mut request = httparse::Request::new(&mut []);
    match request.parse_with_uninit_headers(buf, &mut headers) {
        Ok(httparse::Status::Complete(used)) => match checked(&request) {
            Ok(head) => Parsed::Complete(head, used),
            Err(error) => Parsed::Refused(error),
        },
        Ok(httparse::Status::Partial) => Parsed::Partial,
        Err(httparse::Error::TooManyHeaders) => {
            Parsed::Refused(ApiError::TooManyHeaders { limit: MAX_FIELDS })
        }
        Err(httparse::Error::Version) => other_version(buf, line_end, limits),
        Err(e) => Parsed::Refused(ApiError::MalformedHead {
            detail: e.to_string(),
        }),
    }
}

/// The head httparse read, checked for its `Host` and with its target routed.
fn checked(request: &httparse::Request) -> Result<Head, ApiError> {
    let minor_version = request.version.unwrap_or(1);
    let hosts = request
        .headers
        .iter()
        .filter(|h| h.name.eq_ignore_ascii_case("Host"))
        .count();
    if hosts > 1 || (minor_version >= 1 && hosts != 1) {
        return Err(ApiError::MalformedHead {
            detail: format!("HTTP/1.{minor_version} needs exactly one Host header, found {hosts}"),
        });
    }
    let method = request.method.unwrap_or_default();
    let target = request.path.unwrap_or_default();
    let Some(url) = routed_target(method, target) else {
        return Err(ApiError::MalformedHead {
            detail: format!(
                "request target {:?} is neither a path nor an absolute URI",
                shown_path(target)
            ),
        });
    };
    Ok(Head {
        method: method.to_owned(),
        url,
        minor_version,
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
    })
}

/// The target as routed (RFC 9112 §3.2): origin-form as it is, absolute-form reduced to its
/// path and query, `*` for OPTIONS; `None` for anything else. An absolute URI's authority must
/// be a plain host and port: what a more lenient parser would read another way is refused.
fn routed_target(method: &str, target: &str) -> Option<String> {
    if target.starts_with('/') || (target == "*" && method == "OPTIONS") {
        return Some(target.to_owned());
    }
    let (scheme, rest) = target.split_once("://")?;
    if !scheme.eq_ignore_ascii_case("http") && !scheme.eq_ignore_ascii_case("https") {
        return None;
    }
    let end = rest.find(['/', '?']).unwrap_or(rest.len());
    let (authority, path) = rest.split_at(end);
    let (host, port) = match authority.rsplit_once(':') {
        Some((host, port)) if !host.ends_with(']') || host.starts_with('[') => (host, Some(port)),
        _ => (authority, None),
    };
    let host_ok = match host.strip_prefix('[').and_then(|h| h.strip_suffix(']')) {
        Some(ip) => {
            !ip.is_empty()
                && ip
                    .bytes()
                    .all(|b| b.is_ascii_hexdigit() || b == b':' || b == b'.')
        }
        None => {
            !host.is_empty()
                && host
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.')
        }
    };
    let port_ok =
        port.is_none_or(|p| (1..=5).contains(&p.len()) && p.bytes().all(|b| b.is_ascii_digit()));
    if !host_ok || !port_ok {
        return None;
    }
    // An empty path is `/` (RFC 9110 §4.2.3).
    Some(match path.strip_prefix('/') {
        Some(_) => path.to_owned(),
        None => format!("/{path}"),
    })
}

/// A request line whose version httparse does not take: HTTP/1.2 and later minor versions are
/// read as HTTP/1.1; another major version is refused with 505, anything else with 400.
fn other_version(buf: &[u8], line_end: Option<usize>, limits: Limits) -> Parsed {
    let Some(line_end) = line_end else {
        return Parsed::Partial;
    };
    let line = &buf[..line_end];
    let version = line.rsplit(|&b| b == b' ').next().unwrap_or_default();
    let shown = String::from_utf8_lossy(version).into_owned();
    match version {
        [b'H', b'T', b'T', b'P', b'/', major, b'.', minor]
            if major.is_ascii_digit() && minor.is_ascii_digit() =>
        {
            if *major != b'1' {
                return Parsed::Refused(ApiError::HttpVersion { version: shown });
            }
            if *minor < b'2' {
                return Parsed::Refused(ApiError::MalformedHead {
                    detail: format!("invalid HTTP version {shown:?}"),
                });
            }
            // Same length, so every offset httparse reports holds for the original bytes.
            let mut as_1_1 = buf.to_vec();
            as_1_1[line_end - 1] = b'1';
            parse_head(&as_1_1, limits)
        }
        _ => Parsed::Refused(ApiError::MalformedHead {
            detail: format!("invalid HTTP version {shown:?}"),
        }),
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

    fn head(wire: &str) -> Head {
        match parse_head(wire.as_bytes(), Limits::default()) {
            Parsed::Complete(head, _) => head,
            other => panic!("{wire:?}: {other:?}"),
        }
    }

    fn refused(wire: &str) -> ApiError {
        match parse_head(wire.as_bytes(), Limits::default()) {
            Parsed::Refused(error) => error,
            other => panic!("{wire:?}: {other:?}"),
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
            other => panic!("not complete: {other:?}"),
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

    /// Many small fields are refused for their number, with a message that says so, not for a
    /// size they do not reach.
    #[test]
    fn the_field_count_is_its_own_limit() {
        let fields = "A: b\r\n".repeat(MAX_FIELDS);
        assert_eq!(
            refused(&format!("GET / HTTP/1.1\r\nHost: x\r\n{fields}\r\n")),
            ApiError::TooManyHeaders { limit: MAX_FIELDS }
        );
        let fit = "A: b\r\n".repeat(MAX_FIELDS - 1);
        head(&format!("GET / HTTP/1.1\r\nHost: x\r\n{fit}\r\n"));
    }

    #[test]
    fn versions_and_host_follow_rfc_9112() {
        assert_eq!(
            refused("GET / HTTP/2.0\r\nHost: x\r\n\r\n"),
            ApiError::HttpVersion {
                version: "HTTP/2.0".into()
            }
        );
        assert_eq!(head("GET / HTTP/1.2\r\nHost: x\r\n\r\n").minor_version, 1);
        assert!(matches!(
            refused("GET / HTTP/1.x\r\nHost: x\r\n\r\n"),
            ApiError::MalformedHead { .. }
        ));
        for wire in [
            "GET / HTTP/1.1\r\n\r\n",
            "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n",
            "GET / HTTP/1.0\r\nHost: a\r\nhost: a\r\n\r\n",
        ] {
            let error = refused(wire).to_string();
            assert!(error.contains("exactly one Host"), "{wire:?}: {error}");
        }
        assert_eq!(head("GET / HTTP/1.0\r\n\r\n").minor_version, 0);
    }

    #[test]
    fn absolute_form_targets_are_routed_by_their_path() {
        for (target, routed) in [
            ("http://x/health", "/health"),
            ("HTTPS://x:8000/v2/models/m?a=b", "/v2/models/m?a=b"),
            ("http://[::1]:8000/ready", "/ready"),
            ("http://x", "/"),
            ("http://x?q", "/?q"),
            ("/ready", "/ready"),
        ] {
            let wire = format!("GET {target} HTTP/1.1\r\nHost: x\r\n\r\n");
            assert_eq!(head(&wire).url, routed, "{target}");
        }
        assert_eq!(head("OPTIONS * HTTP/1.1\r\nHost: x\r\n\r\n").url, "*");
        for target in [
            "predict",
            "*",
            "ftp://x/health",
            "x:80",
            "http://:x:80/",
            "http://u@x/",
            "http:///",
            "http://x:/",
        ] {
            let error = refused(&format!("GET {target} HTTP/1.1\r\nHost: x\r\n\r\n"));
            assert!(
                error.to_string().contains("request target"),
                "{target}: {error}"
            );
        }
    }

    #[test]
    fn continue_is_for_http_1_1_only() {
        let expect = |version| {
            head(&format!(
                "POST / HTTP/1.{version}\r\nHost: x\r\nExpect: 100-continue\r\n\r\n"
            ))
        };
        assert!(expect(1).expects_continue());
        assert!(!expect(0).expects_continue());
    }
}
