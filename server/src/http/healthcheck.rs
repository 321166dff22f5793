//! `server healthcheck`: asks the local server's `/ready` and reports by exit code, so an image
//! with no shell and no curl can still have a `HEALTHCHECK`.
//!
//! It connects to 127.0.0.1, never a host name: a static glibc binary cannot resolve names in a
//! scratch image.

use std::io::{Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpStream};
use std::time::Duration;

/// Why the probe did not see a 200.
#[derive(Debug, thiserror::Error)]
pub enum ProbeError {
    #[error("cannot reach {addr}: {cause}")]
    Connect {
        addr: SocketAddr,
        cause: std::io::Error,
    },
    #[error("{addr}/ready answered {status_line:?}")]
    NotReady {
        addr: SocketAddr,
        status_line: String,
    },
}

/// GETs `/ready` on `127.0.0.1:port` within `timeout`.
pub fn probe(port: u16, timeout: Duration) -> Result<(), ProbeError> {
    let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    let connect = |cause| ProbeError::Connect { addr, cause };
    let mut stream = TcpStream::connect_timeout(&addr, timeout).map_err(connect)?;
    stream.set_read_timeout(Some(timeout)).map_err(connect)?;
    stream.set_write_timeout(Some(timeout)).map_err(connect)?;
    stream
        .write_all(b"GET /ready HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
        .map_err(connect)?;
    let mut head = [0u8; 64];
    let n = stream.read(&mut head).map_err(connect)?;
    let status_line = String::from_utf8_lossy(&head[..n])
        .lines()
        .next()
        .unwrap_or_default()
        .to_owned();
    if status_line.starts_with("HTTP/1.1 200 ") || status_line.starts_with("HTTP/1.0 200 ") {
        Ok(())
    } else {
        Err(ProbeError::NotReady { addr, status_line })
    }
}
