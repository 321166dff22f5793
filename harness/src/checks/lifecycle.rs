//! Lifecycle: `docker stop` lets an in-flight request finish and ends the container with exit
//! code 0 well inside Docker's grace period; a restarted container answers identically.

use std::io::{BufRead, BufReader, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use serde_json::json;
use server::Artifact;

use crate::checks::{Figure, Passed, Verdict, ensure, why};
use crate::container::{self, Launch};

/// Docker's default grace period between SIGTERM and SIGKILL.
const GRACE_SECONDS: i32 = 10;

/// Stops a container while a request is in flight, then restarts it and compares answers.
pub fn stop_and_restart(reference: &str, oracle: &Artifact) -> Verdict {
    let running = container::start(reference, &Launch::default()).map_err(why)?;
    let width = oracle.model().features().len();
    let probe = json!({"instances": [vec![0.25; width], vec![7.0; width]]});
    let before = running.client.post_json("/predict", &probe).map_err(why)?;
    ensure!(
        before.status == 200,
        "before the stop /predict answered {}",
        before.status
    );

    // A body over 1 KiB is handed to a worker before it has arrived, so the request is in
    // flight while half of it is still to be sent.
    let body = json!({"instances": vec![vec![1.0; width]; 40]}).to_string();
    let port = running
        .container
        .get_host_port_ipv4(container::PORT)
        .map_err(why)?;
    let mut stream = TcpStream::connect(("127.0.0.1", port)).map_err(why)?;
    stream
        .set_read_timeout(Some(Duration::from_secs(15)))
        .map_err(why)?;
    let head = format!(
        "POST /predict HTTP/1.1\r\nHost: harness\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes()).map_err(why)?;
    stream
        .write_all(&body.as_bytes()[..body.len() / 2])
        .map_err(why)?;
    std::thread::sleep(Duration::from_millis(300));

    let (stop_time, exit_code, in_flight_status) = std::thread::scope(|scope| {
        let stopping = scope.spawn(|| {
            let started = Instant::now();
            let result = running.container.stop_with_timeout(Some(GRACE_SECONDS));
            (started.elapsed(), result)
        });
        std::thread::sleep(Duration::from_millis(300));
        let finish = stream
            .write_all(&body.as_bytes()[body.len() / 2..])
            .map_err(why)
            .and_then(|()| {
                let mut status_line = String::new();
                BufReader::new(&stream)
                    .read_line(&mut status_line)
                    .map_err(why)?;
                Ok(status_line)
            });
        let (elapsed, stopped) = stopping
            .join()
            .map_err(|_| "the stop thread panicked".to_owned())?;
        stopped.map_err(why)?;
        let code = running.container.exit_code().map_err(why)?;
        Ok::<_, String>((elapsed, code, finish))
    })?;
    let in_flight_status = in_flight_status?;
    ensure!(
        in_flight_status.starts_with("HTTP/1.1 200"),
        "the in-flight request got {in_flight_status:?}"
    );
    ensure!(
        exit_code == Some(0),
        "exit code {exit_code:?} after docker stop"
    );
    ensure!(
        stop_time < Duration::from_secs(GRACE_SECONDS as u64),
        "docker stop took {stop_time:?}: the process was killed"
    );

    running.container.start().map_err(why)?;
    let client = container::client_for(&running.container).map_err(why)?;
    container::wait_ready(&client, Instant::now(), Duration::from_secs(30))?;
    let after = client.post_json("/predict", &probe).map_err(why)?;
    ensure!(
        after == before,
        "after a restart /predict answered {} instead of {}",
        after.body,
        before.body
    );
    Ok(Passed::new(format!(
        "docker stop finished the in-flight request and exited 0 in {:.0} ms; the restarted container answers identically",
        stop_time.as_secs_f64() * 1e3
    ))
    .with(Figure::millis("docker stop", stop_time)))
}
