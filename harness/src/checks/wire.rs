//! The HTTP/1.1 regression corpus (`fixtures/http/corpus.json`, compiled in): each classic
//! smuggling vector and framing rule, written at once on a fresh connection, gets exactly its
//! answers, in order, and a refused stream ends the connection. Never a second request read
//! from a body: an extra answer, or a connection left open after a refusal, fails the check.

use std::io::{BufReader, Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use server::contract::fixtures::{WireCase, WireCorpus};

use crate::checks::{Passed, Verdict, why};
use crate::client::{Client, read_head};

/// The corpus, as the repository holds it.
const CORPUS: &str = include_str!("../../../fixtures/http/corpus.json");
/// How long a stream's answers, or its close, may take.
const WAIT: Duration = Duration::from_secs(10);

/// The corpus, parsed.
pub fn corpus() -> Result<WireCorpus, String> {
    serde_json::from_str(CORPUS).map_err(|e| format!("fixtures/http/corpus.json: {e}"))
}

/// Replays every stream of the corpus against `client`'s service.
pub fn run(client: &Client) -> Verdict {
    let corpus = corpus()?;
    let failures: Vec<String> = corpus
        .cases
        .iter()
        .filter_map(|case| {
            replay(client, case)
                .err()
                .map(|e| format!("{} ({}): {e}", case.name, case.why))
        })
        .collect();
    if let Some(first) = failures.first() {
        return Err(format!(
            "{} of {} streams answered otherwise; first: {first}",
            failures.len(),
            corpus.cases.len()
        ));
    }
    Ok(Passed::new(format!(
        "{} streams (smuggling vectors, chunk lines, trailers, Host, versions, HEAD) answered \
         exactly, each refusal closing the connection",
        corpus.cases.len()
    )))
}

fn replay(client: &Client, case: &WireCase) -> Result<(), String> {
    let mut stream = TcpStream::connect(client.authority()).map_err(why)?;
    stream.set_read_timeout(Some(WAIT)).map_err(why)?;
    stream.write_all(case.send.as_bytes()).map_err(why)?;
    let mut reader = BufReader::new(&stream);
    let mut answers = Vec::new();
    for i in 0..case.answers.len() {
        let head = read_head(&mut reader).map_err(|e| {
            format!(
                "answer {} of {:?}, after {answers:?}: {e}",
                i + 1,
                case.answers
            )
        })?;
        if !case.bodiless.contains(&i) && head.status >= 200 {
            let mut body = vec![0; head.content_length];
            reader.read_exact(&mut body).map_err(why)?;
        }
        answers.push(head.status);
    }
    if answers != case.answers {
        return Err(format!("answered {answers:?}, expected {:?}", case.answers));
    }
    if case.closes {
        let mut rest = Vec::new();
        reader
            .read_to_end(&mut rest)
            .map_err(|e| format!("the connection stays open after the answers: {e}"))?;
        if !rest.is_empty() {
            return Err(format!(
                "more after the last answer: {:?}",
                String::from_utf8_lossy(&rest)
            ));
        }
        return Ok(());
    }
    (&stream)
        .write_all(b"GET /health HTTP/1.1\r\nHost: harness\r\n\r\n")
        .map_err(why)?;
    let head = read_head(&mut reader).map_err(|e| format!("the kept connection: {e}"))?;
    if head.status != 200 {
        return Err(format!(
            "the kept connection answered {} to /health",
            head.status
        ));
    }
    Ok(())
}
