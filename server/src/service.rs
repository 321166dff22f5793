//! The listening service: binds, serves on a worker pool, and shuts down by draining.
//!
//! rouille's own loop only checks for a stop between idle periods, which never come under
//! steady load. So the accept loop runs on its own thread for the life of the process, and
//! shutdown happens in the [`App`]: it stops answering anything but liveness and waits for the
//! requests already being handled. The process then exits, closing the socket.

use std::net::SocketAddr;
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use crate::app::App;

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
        let handler = Arc::clone(&app);
        let server = rouille::Server::new(addr, move |request| handler.handle(request))
            .map_err(|e| StartError {
                addr,
                cause: e.to_string(),
            })?
            .pool_size(workers.max(1));
        let addr = server.server_addr();
        thread::Builder::new()
            .name("accept".into())
            .spawn(move || server.run())
            .map_err(|e| StartError {
                addr,
                cause: e.to_string(),
            })?;
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
