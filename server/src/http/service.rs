//! The listening service: binds, serves through the [`transport`](crate::http::transport), and
//! shuts down by draining.
//!
//! The listener is bound here with `TCP_NODELAY`, which Linux passes on to every accepted
//! socket: with Nagle's algorithm on, an answer written in pieces waited for the client's
//! delayed ACK, 40 ms each. At start the process raises its soft limit of open files to the
//! hard limit, so that the connection cap, not the default 1024 descriptors, bounds it.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use socket2::{Domain, Protocol, Socket, Type};

use crate::artifact::Artifact;
use crate::contract::env::Config;
use crate::http::state::State;
use crate::http::transport::Transport;

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
    transport: Transport,
}

impl Service {
    /// Serves `artifact` as `config` says; `started` is when the process began. The one way
    /// the service is started, by the binary and by in-process tests alike.
    pub fn launch(
        config: &Config,
        artifact: Artifact,
        started: SystemTime,
    ) -> Result<Service, StartError> {
        let state = Arc::new(
            State::new(artifact, config.limits, started).with_predict_proba(config.predict_proba),
        );
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
        // Best effort: where the hard limit is as low as the soft one, the cap still holds.
        let _ = rlimit::increase_nofile_limit(u64::MAX);
        let listener = bind(addr).map_err(fail)?;
        let transport = Transport::start(listener, Arc::clone(&state), workers).map_err(fail)?;
        Ok(Service { state, transport })
    }

    /// The bound address.
    pub fn addr(&self) -> SocketAddr {
        self.transport.addr()
    }

    pub fn state(&self) -> &State {
        &self.state
    }

    /// Readiness turns 503, the listener closes (after accepting what the kernel had
    /// queued), and idle connections are closed: from now on only the requests that had
    /// arrived are served. Returns once that is done.
    pub fn stop_accepting(&self) {
        self.state.begin_shutdown();
        self.transport.stop_accepting();
    }

    /// Waits up to `grace` for the last answer after [`Service::stop_accepting`]. True when
    /// all were answered.
    pub fn drain(&self, grace: Duration) -> bool {
        self.transport.wait(grace)
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
