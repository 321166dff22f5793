//! The connection's phases over byte slices, fed whole and one byte at a time: every phase
//! change, with no socket.

use std::mem;
use std::time::{Duration, Instant, SystemTime};

use super::conn::{Connection, Expired, Next, Phase};
use crate::artifact::Artifact;
use crate::contract::limits::Limits;
use crate::http::budget::Budget;
use crate::http::state::State;

fn state() -> State {
    State::new(
        Artifact::embedded().unwrap(),
        Limits::default(),
        SystemTime::now(),
    )
}

/// Feeds `wire` one byte at a time, taking every step after each; returns what was served
/// or refused, in order, and the connection.
fn trickle(wire: &[u8], state: &State) -> (Vec<String>, Connection) {
    let budget = Budget::new(1 << 20);
    let mut conn = Connection::new(Instant::now());
    let mut seen = Vec::new();
    for byte in wire {
        conn.received(&[*byte], state);
        loop {
            match conn.next(Limits::default(), &budget) {
                Next::Wait | Next::Close => break,
                Next::Continue => seen.push("100".to_owned()),
                Next::Serve { head, body, entry } => {
                    seen.push(format!(
                        "{} {} {:?}",
                        head.method,
                        head.url,
                        body.map(|b| b.len())
                    ));
                    conn.answer(entry, b"answer".to_vec(), head.keep_alive());
                    conn.answered(Duration::ZERO, state);
                }
                Next::Refuse { error, entry } => {
                    let status = error.status(crate::contract::routes::Api::Seed);
                    seen.push(format!("refused {status}"));
                    conn.answer(entry, Vec::new(), false);
                    conn.answered(Duration::ZERO, state);
                    return (seen, conn);
                }
            }
        }
    }
    (seen, conn)
}

#[test]
fn a_request_moves_through_every_phase() {
    let state = state();
    let budget = Budget::new(1 << 20);
    let mut conn = Connection::new(Instant::now());
    assert!(matches!(conn.phase, Phase::Idle { .. }) && !conn.in_flight());
    conn.received(b"POST /predict HTTP/1.1\r\nHost: x\r\nContent-Len", &state);
    assert!(matches!(conn.next(Limits::default(), &budget), Next::Wait));
    assert!(matches!(conn.phase, Phase::Head { .. }) && conn.in_flight());
    assert_eq!(state.in_flight(), 1);
    conn.received(b"gth: 4\r\n\r\nab", &state);
    assert!(matches!(conn.next(Limits::default(), &budget), Next::Wait));
    assert!(matches!(conn.phase, Phase::Body { .. }));
    assert!(conn.body().is_some());
    conn.received(b"cdGET", &state);
    let Next::Serve { head, body, entry } = conn.next(Limits::default(), &budget) else {
        panic!("not served: {:?}", conn.phase);
    };
    assert_eq!(
        (head.url.as_str(), body.unwrap()),
        ("/predict", b"abcd".to_vec())
    );
    conn.answer(entry, b"HTTP/1.1 200 OK\r\n\r\n".to_vec(), true);
    assert!(matches!(conn.phase, Phase::Answering { .. }));
    assert_eq!(state.in_flight(), 1);
    assert!(conn.answered(Duration::ZERO, &state));
    // `GET` was buffered behind the body: the next request is in flight already.
    assert!(matches!(conn.phase, Phase::Head { .. }));
    assert_eq!(state.in_flight(), 1);
    conn.buf.clear();
    let Phase::Head { entry, .. } = mem::replace(&mut conn.phase, Phase::Serving) else {
        unreachable!()
    };
    conn.answer(entry, Vec::new(), false);
    assert!(!conn.answered(Duration::ZERO, &state));
    assert!(matches!(conn.phase, Phase::Closing { .. }));
    assert_eq!(state.in_flight(), 0);
}

#[test]
fn a_pipeline_fed_byte_by_byte_is_served_in_order() {
    let state = state();
    let wire = b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n\
POST /predict HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\n\r\n\
POST /predict HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\n{}\
GET /ready HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
    let (seen, conn) = trickle(wire, &state);
    assert_eq!(
        seen,
        [
            "GET /health Ok(0)",
            "POST /predict Ok(2)",
            "100",
            "POST /predict Ok(2)",
            "GET /ready Ok(0)"
        ]
    );
    assert!(matches!(conn.phase, Phase::Closing { .. }));
    assert_eq!(state.in_flight(), 0);
}

#[test]
fn a_framing_refusal_ends_the_connection() {
    let state = state();
    let wire = b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\nContent-Length: 5\r\n\r\nGET /smuggled HTTP/1.1\r\n\r\n";
    let (seen, conn) = trickle(wire, &state);
    assert_eq!(seen, ["refused 400"]);
    assert!(matches!(conn.phase, Phase::Closing { .. }) && conn.buf.is_empty());
    let (seen, _) = trickle(b"GET / HTTP/1.1\r\n\r\n", &state);
    assert_eq!(seen, ["refused 400"], "no Host");
    // A declared body over the limit is answered through the pipeline, for its route's
    // status, unread.
    let over = b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999\r\n\r\n";
    let (seen, _) = trickle(over, &state);
    assert_eq!(seen, ["POST / Err(BodyTooLarge { limit: 2097152 })"]);
}

#[test]
fn a_client_that_ends_its_side_is_closed_once_nothing_whole_is_left() {
    let state = state();
    let budget = Budget::new(1 << 20);
    let mut conn = Connection::new(Instant::now());
    conn.peer_closed = true;
    assert!(
        matches!(conn.next(Limits::default(), &budget), Next::Close),
        "idle"
    );
    let mut conn = Connection::new(Instant::now());
    conn.received(b"GET /health HT", &state);
    conn.peer_closed = true;
    assert!(
        matches!(conn.next(Limits::default(), &budget), Next::Close),
        "mid-head"
    );
}

#[test]
fn each_phase_expires_after_its_own_time() {
    let state = state();
    let limits = Limits::default();
    let start = Instant::now();
    let later = |ms: u64| start + Duration::from_millis(ms);
    let conn = Connection::new(start);
    assert_eq!(
        conn.expired(later(limits.idle_timeout_ms - 1), limits),
        None
    );
    assert_eq!(
        conn.expired(later(limits.idle_timeout_ms), limits),
        Some(Expired::Drop)
    );
    let mut conn = Connection::new(start);
    conn.received(b"GET", &state);
    let began = match &conn.phase {
        Phase::Head { since, .. } => *since,
        other => panic!("{other:?}"),
    };
    let at = |ms: u64| began + Duration::from_millis(ms);
    assert_eq!(conn.expired(at(limits.header_timeout_ms - 1), limits), None);
    assert_eq!(
        conn.expired(at(limits.header_timeout_ms), limits),
        Some(Expired::Late)
    );
    conn.arrive_by = Some(at(10));
    assert_eq!(conn.expired(at(10), limits), Some(Expired::Late));
}
