//! The listening service: binds, serves on worker threads, and shuts down by draining.
//!
//! rouille's own `Server` binds its listener itself, so no socket option can be set on it, and
//! tiny_http writes a response in pieces of at most 1 KiB. With Nagle's algorithm on, every
//! response over 1 KiB (a batch of predictions) waited for the client's delayed ACK: 40 ms
//! each. So the listener is bound here with `TCP_NODELAY`, which Linux passes on to every
//! accepted socket, and handed to tiny_http, and the workers turn each tiny_http request into a
//! rouille request for the [`App`]. Handlers stay plain rouille functions.
//!
//! Each worker takes requests straight from tiny_http's queue. Shutdown happens in the `App`:
//! it stops answering anything but liveness and the service waits for the requests already
//! being handled; the process then exits, closing the socket.

use std::io::Read;
use std::net::SocketAddr;
use std::panic::{self, AssertUnwindSafe};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use socket2::{Domain, Protocol, Socket, Type};

use crate::app::App;
use crate::error::ApiError;
use crate::routes;

/// How long a stop signal waits for in-flight requests: well inside Docker's 10 s grace
/// period and the manifests' `terminationGracePeriodSeconds`.
pub const DRAIN_GRACE: Duration = Duration::from_secs(8);

/// Connections waiting to be accepted before the kernel refuses more.
const BACKLOG: i32 = 1024;

/// Why the service could not start.
#[derive(Debug, thiserror::Error)]
#[error("cannot listen on {addr}: {cause}")]
pub struct StartError {
    pub addr: SocketAddr,
    pub cause: String,
}

/// A running service.
#[derive(Debug)]
pub struct Service {
    app: Arc<App>,
    addr: SocketAddr,
}

impl Service {
    /// Binds `addr` (port 0 picks a free port) and serves `app` with `workers` threads.
    pub fn start(app: Arc<App>, addr: SocketAddr, workers: usize) -> Result<Service, StartError> {
        let fail = |cause: &dyn ToString| StartError {
            addr,
            cause: cause.to_string(),
        };
        let listener = bind(addr).map_err(|e| fail(&e))?;
        let addr = listener.local_addr().map_err(|e| fail(&e))?;
        let server =
            Arc::new(tiny_http::Server::from_listener(listener, None).map_err(|e| fail(&e))?);
        for i in 0..workers.max(1) {
            let (server, app) = (Arc::clone(&server), Arc::clone(&app));
            thread::Builder::new()
                .name(format!("worker-{i}"))
                .spawn(move || {
                    while let Ok(request) = server.recv() {
                        serve(&app, request);
                    }
                })
                .map_err(|e| fail(&e))?;
        }
        Ok(Service { app, addr })
    }

    /// The bound address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    pub fn app(&self) -> &App {
        &self.app
    }

    /// Stops taking new work and waits up to `grace` for in-flight requests. Returns true
    /// when they all finished.
    pub fn shutdown(&self, grace: Duration) -> bool {
        self.app.begin_shutdown();
        let deadline = Instant::now() + grace;
        while self.app.in_flight() > 0 {
            if Instant::now() >= deadline {
                return false;
            }
            thread::sleep(Duration::from_millis(2));
        }
        true
    }
}

/// A listening socket with `TCP_NODELAY`, which accepted sockets inherit on Linux.
fn bind(addr: SocketAddr) -> std::io::Result<std::net::TcpListener> {
    let socket = Socket::new(Domain::for_address(addr), Type::STREAM, Some(Protocol::TCP))?;
    socket.set_reuse_address(true)?;
    socket.set_tcp_nodelay(true)?;
    socket.bind(&addr.into())?;
    socket.listen(BACKLOG)?;
    Ok(socket.into())
}

/// Answers one request from the socket: reads its body (never more than the limit allows),
/// hands it to the app as a rouille request, and writes the answer.
fn serve(app: &App, mut request: tiny_http::Request) {
    let entry = app.enter();
    let body = read_body(&mut request, app.limits().max_body_bytes);
    let headers = request
        .headers()
        .iter()
        .map(|h| {
            (
                h.field.as_str().as_str().to_owned(),
                h.value.as_str().to_owned(),
            )
        })
        .collect();
    let remote = request
        .remote_addr()
        .copied()
        .unwrap_or_else(|| SocketAddr::from(([0, 0, 0, 0], 0)));
    let rouille_request = rouille::Request::fake_http_from(
        remote,
        request.method().as_str(),
        request.url(),
        headers,
        body,
    );
    let response = panic::catch_unwind(AssertUnwindSafe(|| {
        app.handle_entered(&entry, &rouille_request)
    }))
    .unwrap_or_else(|_| {
        let path = rouille_request.url();
        ApiError::Internal("the server failed to answer this request".into())
            .response(routes::api_of(&path))
    });
    let _ = request.respond(to_tiny_http(response));
}

/// The body, read up to one byte over `limit` so that the handler can tell it is too large.
/// A body whose declared length is over the limit is not read at all.
fn read_body(request: &mut tiny_http::Request, limit: usize) -> Vec<u8> {
    if request.body_length().is_some_and(|len| len > limit) {
        return Vec::new();
    }
    let mut body = Vec::with_capacity(request.body_length().unwrap_or(0).min(limit));
    // A broken upload leaves a truncated body, which the handler refuses as malformed.
    let _ = request
        .as_reader()
        .take(limit as u64 + 1)
        .read_to_end(&mut body);
    body
}

fn to_tiny_http(response: rouille::Response) -> tiny_http::Response<Box<dyn Read + Send>> {
    let (data, length) = response.data.into_reader_and_size();
    let mut out = tiny_http::Response::new(
        tiny_http::StatusCode(response.status_code),
        Vec::new(),
        data,
        length,
        None,
    );
    for (name, value) in &response.headers {
        if name.eq_ignore_ascii_case("Content-Length") {
            continue;
        }
        if let Ok(header) = tiny_http::Header::from_bytes(name.as_bytes(), value.as_bytes()) {
            out.add_header(header);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_listener_has_nodelay_for_its_connections_to_inherit() {
        let listener = bind("127.0.0.1:0".parse().unwrap()).unwrap();
        let socket = socket2::SockRef::from(&listener);
        assert!(socket.tcp_nodelay().unwrap());
        let client = std::net::TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        let (accepted, _) = listener.accept().unwrap();
        assert!(
            accepted.nodelay().unwrap(),
            "accepted sockets inherit TCP_NODELAY"
        );
        drop(client);
    }
}
