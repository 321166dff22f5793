//! The listening service: binds, serves on worker threads, and shuts down by draining.
//!
//! rouille's own `Server` binds its listener itself, so no socket option can be set on it, and
//! tiny_http writes a response in pieces of at most 1 KiB. With Nagle's algorithm on, every
//! response over 1 KiB (a batch of predictions) waited for the client's delayed ACK: 40 ms
//! each. So the listener is bound here with `TCP_NODELAY`, which Linux passes on to every
//! accepted socket, and handed to tiny_http, and the workers turn each tiny_http request into a
//! rouille request for the pipeline. Handlers stay plain rouille functions.
//!
//! Each worker takes requests straight from tiny_http's queue, reads the body once under the
//! limit, and hands it to the [`pipeline`]. Shutdown happens in the [`State`]: it stops
//! answering anything but liveness and the service waits for the requests already being
//! handled; the process then exits, closing the socket.

use std::io::Read;
use std::net::SocketAddr;
use std::panic::{self, AssertUnwindSafe};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant, SystemTime};

use socket2::{Domain, Protocol, Socket, Type};

use crate::artifact::Artifact;
use crate::contract::env::Config;
use crate::contract::errors::ApiError;
use crate::contract::routes;
use crate::http::state::State;
use crate::http::{body, pipeline};

/// Connections waiting to be accepted before the kernel refuses more.
const BACKLOG: i32 = 1024;

/// Why the service could not start.
#[derive(Debug, thiserror::Error)]
#[error("cannot listen on {addr}: {source}")]
pub struct StartError {
    pub addr: SocketAddr,
    #[source]
    pub source: std::io::Error,
}

/// A running service.
#[derive(Debug)]
pub struct Service {
    state: Arc<State>,
    addr: SocketAddr,
}

impl Service {
    /// Serves `artifact` as `config` says; `started` is when the process began. The one way
    /// the service is started, by the binary and by in-process tests alike.
    pub fn launch(
        config: &Config,
        artifact: Artifact,
        started: SystemTime,
    ) -> Result<Service, StartError> {
        let state = Arc::new(State::new(artifact, config.limits, started));
        Service::start(
            state,
            SocketAddr::new(config.host, config.port),
            config.workers,
        )
    }

    /// Binds `addr` (port 0 picks a free port) and serves `state` with `workers` threads.
    pub fn start(
        state: Arc<State>,
        addr: SocketAddr,
        workers: usize,
    ) -> Result<Service, StartError> {
        let fail = |source| StartError { addr, source };
        let listener = bind(addr).map_err(fail)?;
        let addr = listener.local_addr().map_err(fail)?;
        let server = Arc::new(
            tiny_http::Server::from_listener(listener, None)
                .map_err(|e| fail(std::io::Error::other(e)))?,
        );
        for i in 0..workers.max(1) {
            let (server, state) = (Arc::clone(&server), Arc::clone(&state));
            thread::Builder::new()
                .name(format!("worker-{i}"))
                .spawn(move || {
                    while let Ok(request) = server.recv() {
                        serve(&state, request);
                    }
                })
                .map_err(fail)?;
        }
        Ok(Service { state, addr })
    }

    /// The bound address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    pub fn state(&self) -> &State {
        &self.state
    }

    /// Waits up to `grace` for the requests in flight, after [`State::begin_shutdown`].
    /// Returns true when they all finished.
    pub fn drain(&self, grace: Duration) -> bool {
        self.state.begin_shutdown();
        let deadline = Instant::now() + grace;
        while self.state.in_flight() > 0 {
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
/// hands it to the pipeline as a rouille request, and writes the answer.
fn serve(state: &State, mut request: tiny_http::Request) {
    let entry = state.enter();
    let declared = request.body_length().map(|len| len as u64);
    let body = body::read(request.as_reader(), declared, state.limits().max_body_bytes);
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
        Vec::new(),
    );
    let response = panic::catch_unwind(AssertUnwindSafe(|| {
        pipeline::handle(state, &entry, &rouille_request, body)
    }))
    .unwrap_or_else(|_| {
        let path = rouille_request.url();
        pipeline::error_response(
            &ApiError::Internal("the server failed to answer this request"),
            routes::api_of(&path),
        )
    });
    let _ = request.respond(to_tiny_http(response));
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
