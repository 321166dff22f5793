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

#[cfg(test)]
mod tests {
    use std::net::TcpListener;

    use super::*;

    /// Answers one connection with `answer`, after reading its request.
    fn answering(answer: &'static [u8]) -> (u16, std::thread::JoinHandle<()>) {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let server = std::thread::spawn(move || {
            let (mut stream, _) = listener.accept().unwrap();
            let mut request = [0u8; 256];
            let _ = stream.read(&mut request);
            stream.write_all(answer).unwrap();
        });
        (port, server)
    }

    #[test]
    fn a_200_is_ready_and_anything_else_is_not() {
        let (port, server) = answering(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
        assert!(probe(port, Duration::from_secs(5)).is_ok());
        server.join().unwrap();
        let (port, server) =
            answering(b"HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\n\r\n");
        let error = probe(port, Duration::from_secs(5)).unwrap_err().to_string();
        assert!(error.contains("503"), "{error}");
        server.join().unwrap();
    }
}
