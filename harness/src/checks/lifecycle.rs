//! Lifecycle: `docker stop` lets a request in flight finish and ends the container with exit
//! code 0 well inside Docker's grace period; a restarted container answers identically; under
//! load, every request sent before `docker stop` is answered; a bad artifact stops start-up
//! with one line.
//!
//! The in-flight proof reads the service's own account, as the contract defines it: the
//! in-flight gauge on `/metrics` shows the half-sent request has arrived before the signal, and
//! the stopping event's `in_flight` shows it was counted when the signal came. Each step waits
//! for the previous one to be visible; no timing decides the outcome.

use std::io::{BufReader, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use server::Artifact;
use server::contract::lifecycle::{DRAINED, IN_FLIGHT, IN_FLIGHT_METRIC, STOPPED, STOPPING};
use server::contract::routes::PREDICT;

use crate::checks::{Figure, Passed, Verdict, ensure, why};
use crate::client::{Client, predict_body, read_answer};
use crate::container::{self, Launch, Running};
use crate::profile::{Need, Profile};
use crate::rows::Schema;

/// Docker's default grace period between SIGTERM and SIGKILL.
const GRACE_SECONDS: i32 = 10;

/// How long to wait for the service to show a step it should show at once.
const VISIBLE_WITHIN: Duration = Duration::from_secs(10);

/// The in-flight gauge, which counts the scrape asking too.
fn in_flight(client: &Client) -> Result<f64, String> {
    let answer = client.get("/metrics").map_err(why)?;
    answer
        .body
        .lines()
        .find_map(|l| l.strip_prefix(IN_FLIGHT_METRIC)?.trim().parse().ok())
        .ok_or_else(|| format!("/metrics has no {IN_FLIGHT_METRIC}"))
}

/// Polls `probe` until it gives `Some`, for at most [`VISIBLE_WITHIN`].
fn wait_for<T>(
    what: &str,
    mut probe: impl FnMut() -> Result<Option<T>, String>,
) -> Result<T, String> {
    let deadline = Instant::now() + VISIBLE_WITHIN;
    loop {
        if let Some(value) = probe()? {
            return Ok(value);
        }
        ensure!(
            Instant::now() < deadline,
            "{what} within {VISIBLE_WITHIN:?}"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// Runs `docker stop` and, once the stopping event is logged (the signal has arrived and the
/// requests in flight are counted), `then`, while the stop waits for the drain. Returns how
/// long the stop took, the count, and what `then` returned.
fn stop_then<T>(
    running: &Running,
    then: impl FnOnce() -> T,
) -> Result<(Duration, Option<u64>, T), String> {
    std::thread::scope(|scope| {
        let stopping = scope.spawn(|| {
            let started = Instant::now();
            let result = running.container.stop_with_timeout(Some(GRACE_SECONDS));
            (started.elapsed(), result)
        });
        let counted = wait_for("no stopping event", || {
            Ok(container::events(&running.container, STOPPING)
                .first()
                .map(|e| e[IN_FLIGHT].as_u64()))
        });
        let outcome = then();
        let (elapsed, stopped) = stopping
            .join()
            .map_err(|_| "the stop thread panicked".to_owned())?;
        stopped.map_err(why)?;
        Ok((elapsed, counted?, outcome))
    })
}

/// What [`stop_and_restart`] needs of the image: the in-flight proof reads this project's
/// lifecycle events and gauge.
pub const STOP_AND_RESTART: &[Need] = &[Need::LifecycleEvents];

/// Stops a container while a request is in flight, then restarts it and compares answers.
pub fn stop_and_restart(reference: &str, profile: &Profile, oracle: &Artifact) -> Verdict {
    let launch = Launch {
        profile: profile.clone(),
        ..Launch::default()
    };
    let running = container::start(reference, &launch).map_err(why)?;
    let schema = Schema::of(oracle);
    let probe = vec![schema.filled(0.25), schema.filled(7.0)];
    let before = running.client.predict(&probe).map_err(why)?;
    ensure!(
        before.status == 200,
        "before the stop /predict answered {}",
        before.status
    );

    // A request is in flight from its first byte; half of a body padded with trailing spaces
    // (still valid JSON) keeps it in flight while the rest is still to be sent.
    let body = format!("{:<4096}", predict_body(&[schema.filled(1.0)]).to_string());
    let mut stream = TcpStream::connect(running.client.authority()).map_err(why)?;
    stream
        .set_read_timeout(Some(Duration::from_secs(15)))
        .map_err(why)?;
    let head = format!(
        "POST {PREDICT} HTTP/1.1\r\nHost: harness\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes()).map_err(why)?;
    stream
        .write_all(&body.as_bytes()[..body.len() / 2])
        .map_err(why)?;
    wait_for("the half-sent request was not in flight", || {
        Ok((in_flight(&running.client)? >= 2.0).then_some(()))
    })?;

    let (stop_time, counted, finish) = stop_then(&running, || {
        stream
            .write_all(&body.as_bytes()[body.len() / 2..])
            .map_err(why)
            .and_then(|()| read_answer(&mut BufReader::new(&stream)).map_err(why))
    })?;
    let exit_code = running.container.exit_code().map_err(why)?;
    let drained = container::events(&running.container, STOPPED)
        .first()
        .map(|e| e[DRAINED].clone());
    let answer = finish?;
    ensure!(
        counted.is_some_and(|n| n >= 1),
        "the stopping event counted {counted:?} requests in flight, not the half-sent one"
    );
    ensure!(
        answer.status == 200,
        "the in-flight request got {} {}",
        answer.status,
        answer.body
    );
    ensure!(
        drained == Some(true.into()),
        "the stopped event says drained {drained:?}"
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
    let client = container::client_for(&running.container, profile.port).map_err(why)?;
    container::wait_ready(
        &client,
        &profile.ready_path,
        Instant::now(),
        Duration::from_secs(30),
    )?;
    let after = client.predict(&probe).map_err(why)?;
    ensure!(
        after == before,
        "after a restart /predict answered {} instead of {}",
        after.body,
        before.body
    );
    Ok(Passed::new(format!(
        "docker stop came with {} request(s) in flight, finished them and exited 0 in {:.0} ms; the restarted container answers identically",
        counted.unwrap_or_default(),
        stop_time.as_secs_f64() * 1e3
    ))
    .with(Figure::millis("docker stop", stop_time)))
}

/// What [`stop_under_load`] needs of the image: the lifecycle events, and the variables that
/// let it share the host's network.
pub const STOP_UNDER_LOAD: &[Need] = &[Need::LifecycleEvents, Need::HostNetwork];

/// Keep-alive connections for [`stop_under_load`].
const CLIENTS: usize = 16;

/// `docker stop` with a request arriving on each of [`CLIENTS`] keep-alive connections: half
/// of them had sent their head and half the body when the signal came, the other half only
/// part of the head. Each request's first byte arrived before the signal (the in-flight gauge
/// shows them all, and the stopping event counts them), so each must be answered 200 once the
/// rest arrives: none 503, none lost. After the stop nothing listens, and the exit code is 0.
///
/// The container shares the host's network: a published port goes through Docker's userland
/// proxy, which would accept connections the server has stopped accepting.
pub fn stop_under_load(reference: &str, profile: &Profile, oracle: &Artifact) -> Verdict {
    let port = crate::client::free_port().map_err(why)?;
    let launch = Launch {
        profile: profile.clone(),
        host_port: Some(port),
        ..Launch::default()
    };
    let running = container::start(reference, &launch).map_err(why)?;
    let schema = Schema::of(oracle);
    let body = predict_body(&[schema.filled(1.0)]).to_string();
    let request = format!(
        "POST {PREDICT} HTTP/1.1\r\nHost: harness\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    let head_len = request.len() - body.len();
    // Where each client stops before the signal: within the body, or within the head.
    let split = |i: usize| {
        if i.is_multiple_of(2) {
            head_len + body.len() / 2
        } else {
            head_len / 2
        }
    };
    let mut clients = vec![];
    for i in 0..CLIENTS {
        let mut stream = TcpStream::connect(running.client.authority()).map_err(why)?;
        stream
            .set_read_timeout(Some(Duration::from_secs(15)))
            .map_err(why)?;
        // One exchange first, so that each is an established keep-alive connection.
        stream.write_all(request.as_bytes()).map_err(why)?;
        let first = read_answer(&mut BufReader::new(&stream)).map_err(why)?;
        ensure!(
            first.status == 200,
            "before the stop /predict answered {}",
            first.status
        );
        stream
            .write_all(&request.as_bytes()[..split(i)])
            .map_err(why)?;
        clients.push(stream);
    }
    // The gauge counts the scrape asking too.
    wait_for("not every partly sent request was in flight", || {
        Ok((in_flight(&running.client)? >= (CLIENTS + 1) as f64).then_some(()))
    })?;

    let (stop_time, counted, answers) = stop_then(&running, || {
        clients
            .iter_mut()
            .enumerate()
            .map(|(i, stream)| {
                stream.write_all(&request.as_bytes()[split(i)..]).ok()?;
                read_answer(&mut BufReader::new(&*stream))
                    .ok()
                    .map(|a| a.status)
            })
            .collect::<Vec<Option<u16>>>()
    })?;
    let ok = answers.iter().filter(|a| **a == Some(200)).count();
    let unavailable = answers.iter().filter(|a| **a == Some(503)).count();
    let lost = answers.iter().filter(|a| a.is_none()).count();
    let refused = TcpStream::connect(running.client.authority()).is_err();
    let exit_code = running.container.exit_code().map_err(why)?;
    ensure!(
        counted.is_some_and(|n| n >= CLIENTS as u64),
        "the stopping event counted {counted:?} requests in flight, not the {CLIENTS} partly sent"
    );
    ensure!(
        ok == CLIENTS,
        "of {CLIENTS} requests begun before docker stop, {ok} were answered 200, {unavailable} 503, {lost} not at all, {} otherwise",
        CLIENTS - ok - unavailable - lost
    );
    ensure!(
        refused,
        "something still accepted connections after docker stop"
    );
    ensure!(
        exit_code == Some(0),
        "exit code {exit_code:?} after docker stop"
    );
    Ok(Passed::new(format!(
        "docker stop with {CLIENTS} requests begun on keep-alive connections (half within the body, half within the head): {ok} answered 200, none 503, none lost; exit 0 in {:.0} ms",
        stop_time.as_secs_f64() * 1e3
    ))
    .with(Figure::millis("docker stop", stop_time)))
}

/// What [`bad_artifact_stops`] needs of the image: a variable to pass it the broken artifact,
/// and this project's start-up events to tell a refusal from a crash.
pub const BAD_ARTIFACT: &[Need] = &[Need::LifecycleEvents, Need::ModelVariable];

/// A container given a truncated artifact exits at start-up with one line naming the file.
pub fn bad_artifact_stops(reference: &str, profile: &Profile) -> Verdict {
    let base = Launch {
        profile: profile.clone(),
        ..Launch::default()
    };
    let launch = Launch {
        ready_within: Some(Duration::from_secs(5)),
        ..base
            .with_artifact("broken.json", b"{\"format_version\": 1,".to_vec())
            .ok_or("the profile names no variable to pass an artifact")?
    };
    let expected = server::Artifact::from_bytes(b"{\"format_version\": 1,", "/models/broken.json")
        .err()
        .map(|e| format!("server: {e}"))
        .ok_or("the truncated artifact loads in-process")?;
    match container::start(reference, &launch) {
        Ok(_) => Err("a container with a truncated artifact became ready".into()),
        Err(crate::HarnessError::NotReady {
            exit_code, stderr, ..
        }) => {
            ensure!(exit_code == Some(1), "exit code {exit_code:?}, expected 1");
            ensure!(
                stderr == expected,
                "stderr {stderr:?}, expected the one line {expected:?}"
            );
            Ok(Passed::new(format!(
                "start-up stopped with exit code 1 and {expected:?}"
            )))
        }
        Err(e) => Err(why(e)),
    }
}
