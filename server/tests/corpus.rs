//! The HTTP/1.1 regression corpus (`fixtures/http/corpus.json`) against the real binary: each
//! classic smuggling vector and framing rule, written at once on a fresh connection, gets
//! exactly its answers, in order, and a refused stream ends the connection: never a second
//! request read from a body.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;

use server::contract::fixtures::{WireCase, WireCorpus};

use crate::transport::{connect, spawn, stop};
use crate::util::fixtures;

/// Reads one answer's status, and its body unless it has none (`bodiless`, or a 1xx).
fn read_answer(reader: &mut BufReader<&TcpStream>, bodiless: bool) -> std::io::Result<u16> {
    let mut line = String::new();
    reader.read_line(&mut line)?;
    let status: u16 = line
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| std::io::Error::other(format!("no status line: {line:?}")))?;
    let mut length = 0;
    loop {
        let mut field = String::new();
        reader.read_line(&mut field)?;
        if field == "\r\n" || field.is_empty() {
            break;
        }
        if let Some((name, value)) = field.split_once(':')
            && name.eq_ignore_ascii_case("content-length")
        {
            length = value.trim().parse().unwrap_or(0);
        }
    }
    if !bodiless && status >= 200 {
        reader.read_exact(&mut vec![0; length])?;
    }
    Ok(status)
}

fn replay(addr: std::net::SocketAddr, case: &WireCase) -> Result<(), String> {
    let mut stream = connect(addr);
    stream
        .write_all(case.send.as_bytes())
        .map_err(|e| e.to_string())?;
    let mut reader = BufReader::new(&stream);
    let mut answers = Vec::new();
    for i in 0..case.answers.len() {
        let status = read_answer(&mut reader, case.bodiless.contains(&i))
            .map_err(|e| format!("answer {i} of {:?}, after {answers:?}: {e}", case.answers))?;
        answers.push(status);
    }
    if answers != case.answers {
        return Err(format!("answered {answers:?}, expected {:?}", case.answers));
    }
    if case.closes {
        let mut rest = Vec::new();
        reader
            .read_to_end(&mut rest)
            .map_err(|e| format!("no clean close: {e}"))?;
        if !rest.is_empty() {
            return Err(format!(
                "more after the last answer: {:?}",
                String::from_utf8_lossy(&rest)
            ));
        }
    } else {
        (&stream)
            .write_all(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
            .map_err(|e| e.to_string())?;
        let status = read_answer(&mut reader, false).map_err(|e| format!("kept: {e}"))?;
        if status != 200 {
            return Err(format!("the kept connection answered {status} to /health"));
        }
    }
    Ok(())
}

#[test]
fn every_corpus_stream_gets_exactly_its_answers() {
    let text = std::fs::read_to_string(fixtures().join("http/corpus.json")).unwrap();
    let corpus: WireCorpus = serde_json::from_str(&text).unwrap();
    let (child, addr, log) = spawn(&[]);
    std::thread::spawn(move || log.for_each(drop));
    let failures: Vec<String> = corpus
        .cases
        .iter()
        .filter_map(|case| {
            replay(addr, case)
                .err()
                .map(|e| format!("{} ({}): {e}", case.name, case.why))
        })
        .collect();
    stop(child);
    eprintln!(
        "{} corpus streams, {} failed",
        corpus.cases.len(),
        failures.len()
    );
    assert!(failures.is_empty(), "{failures:#?}");
}
