//! The limits the service announces on `GET /model` are the limits it enforces: a batch one row
//! over `max_batch_rows` and a body one byte over `max_body_bytes` are refused through both
//! APIs with the contract's message; a body declared too large is refused before it is sent,
//! and an endless chunked body after the limit; a request line or head over its limit is
//! refused before routing. The service stays up.

use std::io::BufReader;
use std::net::{Shutdown, TcpStream};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use server::Artifact;
use server::contract::Limits;
use server::contract::errors::ApiError;
use server::contract::routes::{Api, PREDICT};

use crate::checks::bad_input::{expect_error, still_up};
use crate::checks::{Passed, Verdict, ensure, why};
use crate::client::{Answer, Client, infer_path, predict_body, read_answer};
use crate::rows::Schema;

/// A header timeout short enough to wait for in a check.
const SHORT_TIMEOUT_MS: u64 = 2_000;
/// A connection cap small enough to fill in a check.
const SMALL_CAP: usize = 64;
/// How long the connection over the cap may take to be refused.
const OVER_THE_CAP_WITHIN: Duration = Duration::from_secs(10);

/// Opens one connection more than `cap` and returns the answer the one over the cap gets, at
/// once and unasked. Which one that is, is not known: a proxy in front of the service (Docker's
/// published port) may connect them to it in another order. So every connection is read at
/// the same time, and the first answer wins; the connections are closed on return.
fn over_the_cap(client: &Client, cap: usize) -> Result<Answer, String> {
    let open: Vec<TcpStream> = (0..=cap)
        .map(|_| TcpStream::connect(client.authority()))
        .collect::<Result<_, _>>()
        .map_err(why)?;
    let (answered, answers) = mpsc::channel();
    std::thread::scope(|scope| {
        for stream in &open {
            let answered = answered.clone();
            scope.spawn(move || {
                if let Ok(answer) = read_answer(&mut BufReader::new(stream)) {
                    let _ = answered.send(answer);
                }
            });
        }
        let first = answers.recv_timeout(OVER_THE_CAP_WITHIN);
        // Ends the readers still waiting on connections that were let in.
        for stream in &open {
            let _ = stream.shutdown(Shutdown::Both);
        }
        first.map_err(|_| {
            format!(
                "none of {} connections was refused within {OVER_THE_CAP_WITHIN:?}",
                cap + 1
            )
        })
    })
}

/// Sends over-limit requests against the announced `limits`.
pub fn run(client: &Client, oracle: &Artifact, limits: Limits) -> Verdict {
    batches_and_bodies(client, oracle, limits)?;
    heads(client, limits)?;
    let untried = stalls_and_cap(client, limits)?;
    still_up(client, oracle)?;
    let untried = if untried.is_empty() {
        String::new()
    } else {
        format!("; {}", untried.join("; "))
    };
    Ok(Passed::new(format!(
        "the announced limits ({} rows, {} bytes of body, {} of request line, {} of head) are enforced through both APIs, declared and chunked; the service still answers{untried}",
        limits.max_batch_rows,
        limits.max_body_bytes,
        limits.max_request_line_bytes,
        limits.max_header_bytes
    )))
}

/// `answer` is `error`, with its status on `api` and its whole message.
fn refused(error: ApiError, api: Api, answer: Answer, what: &str) -> Result<(), String> {
    let message = expect_error(&answer, error.status(api), what)?;
    ensure!(
        message == error.to_string(),
        "{what}: {message:?} instead of {:?}",
        error.to_string()
    );
    Ok(())
}

/// A batch over the row limit and a body over the byte limit, through both APIs; a body
/// declared far over it and never sent, and a chunked one with no length declared.
fn batches_and_bodies(client: &Client, oracle: &Artifact, limits: Limits) -> Result<(), String> {
    let schema = Schema::of(oracle);
    let rows = vec![schema.filled(1.0); limits.max_batch_rows + 1];
    let too_many = ApiError::BatchTooLarge {
        rows: rows.len(),
        limit: limits.max_batch_rows,
    };
    let answer = client.predict(&rows).map_err(why)?;
    refused(
        too_many.clone(),
        Api::Seed,
        answer,
        "batch over MAX_BATCH_ROWS",
    )?;
    let answer = client
        .infer(oracle.name(), &rows, &schema, None)
        .map_err(why)?;
    refused(too_many, Api::V2, answer, "V2 batch over MAX_BATCH_ROWS")?;

    let too_long = ApiError::BodyTooLarge {
        limit: limits.max_body_bytes,
    };
    let mut body = predict_body(&[schema.filled(1.0)]).to_string().into_bytes();
    body.resize(limits.max_body_bytes + 1, b' ');
    let answer = client
        .send(
            "POST",
            PREDICT,
            Some("application/json"),
            Some(body.clone()),
        )
        .map_err(why)?;
    refused(
        too_long.clone(),
        Api::Seed,
        answer,
        "body over MAX_BODY_BYTES",
    )?;
    let infer = infer_path(oracle.name());
    let answer = client.send("POST", &infer, None, Some(body)).map_err(why)?;
    refused(
        too_long.clone(),
        Api::V2,
        answer,
        "V2 body over MAX_BODY_BYTES",
    )?;

    // Declared far over the limit and never sent: the answer must not wait for it.
    let head = format!(
        "POST {PREDICT} HTTP/1.1\r\nHost: harness\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
        limits.max_body_bytes as u64 * 1024 + 1
    );
    let answer = client.raw(&head, &[]).map_err(why)?;
    refused(
        too_long.clone(),
        Api::Seed,
        answer,
        "declared body over MAX_BODY_BYTES",
    )?;

    // Chunked, with no length declared: refused once the limit is passed, not at the end.
    let head = format!(
        "POST {PREDICT} HTTP/1.1\r\nHost: harness\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
    );
    let chunk = format!("{:x}\r\n{}\r\n", 4096, " ".repeat(4096)).into_bytes();
    let chunks = limits.max_body_bytes / 4096 + 2;
    let pieces: Vec<&[u8]> = std::iter::repeat_n(chunk.as_slice(), chunks).collect();
    let answer = client.raw(&head, &pieces).map_err(why)?;
    refused(
        too_long,
        Api::Seed,
        answer,
        "chunked body over MAX_BODY_BYTES",
    )
}

/// The transport's limits on a request's head, answered before routing, on any path.
fn heads(client: &Client, limits: Limits) -> Result<(), String> {
    let line = format!(
        "GET /{} HTTP/1.1\r\nHost: harness\r\n\r\n",
        "x".repeat(limits.max_request_line_bytes)
    );
    let answer = client.raw(&line, &[]).map_err(why)?;
    let too_long = ApiError::RequestLineTooLong {
        limit: limits.max_request_line_bytes,
    };
    refused(
        too_long,
        Api::Seed,
        answer,
        "request line over MAX_REQUEST_LINE_BYTES",
    )?;
    let head = format!(
        "GET /health HTTP/1.1\r\nHost: harness\r\nX-Padding: {}\r\n\r\n",
        "y".repeat(limits.max_header_bytes)
    );
    let answer = client.raw(&head, &[]).map_err(why)?;
    let too_large = ApiError::HeaderTooLarge {
        limit: limits.max_header_bytes,
    };
    refused(
        too_large,
        Api::Seed,
        answer,
        "request head over MAX_HEADER_BYTES",
    )
}

/// A head that stops arriving, and the connection cap: tried when the announced values are
/// small enough for a check to wait for or to open; otherwise returned as what was not tried.
fn stalls_and_cap(client: &Client, limits: Limits) -> Result<Vec<String>, String> {
    let mut untried = vec![];
    if limits.header_timeout_ms <= SHORT_TIMEOUT_MS {
        let answer = client
            .raw("GET /health HTTP/1.1\r\nHost: harness\r\n", &[])
            .map_err(why)?;
        let late = ApiError::RequestTimeout {
            millis: limits.header_timeout_ms,
        };
        refused(
            late,
            Api::Seed,
            answer,
            "head not received within HEADER_TIMEOUT_MS",
        )?;
    } else {
        untried.push(format!(
            "408 not waited for (HEADER_TIMEOUT_MS is {} ms)",
            limits.header_timeout_ms
        ));
    }
    if limits.max_connections <= SMALL_CAP {
        let answer = over_the_cap(client, limits.max_connections)?;
        let full = ApiError::TooManyConnections {
            limit: limits.max_connections,
        };
        refused(full, Api::Seed, answer, "a connection over MAX_CONNECTIONS")?;
        // The closed connections are noticed when the service reads them: ask until it answers.
        let deadline = Instant::now() + Duration::from_secs(10);
        while client.get("/health").map(|a| a.status).ok() != Some(200) {
            ensure!(
                Instant::now() < deadline,
                "the service did not answer again after the connections over the cap closed"
            );
        }
    } else {
        untried.push(format!(
            "503 at the cap not tried (MAX_CONNECTIONS is {})",
            limits.max_connections
        ));
    }
    Ok(untried)
}
