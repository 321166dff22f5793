//! Feature values as clients write them, including the non-finite ones JSON has no syntax for.
//!
//! Python's `json` writes NaN and infinities as the bare tokens `NaN`, `Infinity` and
//! `-Infinity`; other clients quote them. Both reach [`Number`] as a non-finite `f64`, so the
//! caller can say which row and feature was not finite (422) instead of "invalid JSON" (400).

use std::borrow::Cow;
use std::fmt;

use serde::Deserialize;
use serde::de::{self, Deserializer, Visitor};

/// One feature value: any JSON number, or the strings `"NaN"`, `"Infinity"`, `"-Infinity"`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Number(pub f64);

impl<'de> Deserialize<'de> for Number {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Number, D::Error> {
        deserializer.deserialize_any(NumberVisitor)
    }
}

struct NumberVisitor;

impl Visitor<'_> for NumberVisitor {
    type Value = Number;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a number")
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Number, E> {
        Ok(Number(v))
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Number, E> {
        Ok(Number(v as f64))
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Number, E> {
        Ok(Number(v as f64))
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Number, E> {
        match v {
            "NaN" => Ok(Number(f64::NAN)),
            "Infinity" => Ok(Number(f64::INFINITY)),
            "-Infinity" => Ok(Number(f64::NEG_INFINITY)),
            _ => Err(E::invalid_type(de::Unexpected::Str(v), &self)),
        }
    }
}

/// Rewrites the bare tokens `NaN`, `Infinity` and `-Infinity` outside strings as quoted
/// strings, so that a standard JSON parser accepts them, and so too a number that JSON's grammar
/// allows but an `f64` cannot hold (`1e999`): it becomes `"Infinity"` or `"-Infinity"`, which
/// the caller refuses as non-finite, naming the row and feature. Borrows when there are none.
pub fn quote_non_finite(body: &[u8]) -> Cow<'_, [u8]> {
    const TOKENS: [&[u8]; 3] = [b"-Infinity", b"Infinity", b"NaN"];
    let mut out: Option<Vec<u8>> = None;
    let (mut in_string, mut escaped) = (false, false);
    let mut i = 0;
    while i < body.len() {
        let b = body[i];
        if in_string {
            if escaped {
                escaped = false;
            } else if b == b'\\' {
                escaped = true;
            } else if b == b'"' {
                in_string = false;
            }
        } else if b == b'"' {
            in_string = true;
        } else if let Some(token) = TOKENS.iter().find(|t| body[i..].starts_with(t)) {
            let out = out.get_or_insert_with(|| body[..i].to_vec());
            out.push(b'"');
            out.extend_from_slice(token);
            out.push(b'"');
            i += token.len();
            continue;
        } else if b == b'-' || b.is_ascii_digit() {
            let len = body[i..]
                .iter()
                .position(|c| !matches!(c, b'0'..=b'9' | b'-' | b'+' | b'.' | b'e' | b'E'))
                .unwrap_or(body.len() - i);
            let number = &body[i..i + len];
            if let Some(infinity) = overflowing(number) {
                let out = out.get_or_insert_with(|| body[..i].to_vec());
                out.extend_from_slice(infinity);
            } else if let Some(out) = out.as_mut() {
                out.extend_from_slice(number);
            }
            i += len;
            continue;
        }
        if let Some(out) = out.as_mut() {
            out.push(b);
        }
        i += 1;
    }
    out.map_or(Cow::Borrowed(body), Cow::Owned)
}

/// `"Infinity"` or `"-Infinity"` for a number too large for an `f64`. Only a number with an
/// exponent, or with more digits than any finite `f64` needs, can be one.
fn overflowing(number: &[u8]) -> Option<&'static [u8]> {
    let may_overflow = number.len() > 309 || number.iter().any(|c| matches!(c, b'e' | b'E'));
    if !may_overflow {
        return None;
    }
    let value: f64 = std::str::from_utf8(number).ok()?.parse().ok()?;
    match value {
        f64::INFINITY => Some(b"\"Infinity\""),
        f64::NEG_INFINITY => Some(b"\"-Infinity\""),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quotes_bare_tokens_only_outside_strings() {
        let body = br#"{"a": [NaN, -Infinity, Infinity, 1], "b": "NaN \" Infinity"}"#;
        assert_eq!(
            &*quote_non_finite(body),
            br#"{"a": ["NaN", "-Infinity", "Infinity", 1], "b": "NaN \" Infinity"}"#
        );
        assert!(matches!(quote_non_finite(b"[1, 2]"), Cow::Borrowed(_)));
    }

    #[test]
    fn numbers_too_large_for_an_f64_become_infinities() {
        assert_eq!(
            &*quote_non_finite(b"[1e999, -1E+999, 1e308, 2.5e-999, \"1e999\"]"),
            br#"["Infinity", "-Infinity", 1e308, 2.5e-999, "1e999"]"#
        );
        let values: Vec<Number> =
            serde_json::from_slice(&quote_non_finite(b"[1e999, -1e999]")).unwrap();
        assert_eq!(values, [Number(f64::INFINITY), Number(f64::NEG_INFINITY)]);
        assert!(matches!(quote_non_finite(b"[1e10, -3]"), Cow::Borrowed(_)));
    }

    #[test]
    fn reads_numbers_and_non_finite_markers() {
        let values: Vec<Number> =
            serde_json::from_slice(&quote_non_finite(b"[1, -2, 0.5, NaN, \"-Infinity\"]")).unwrap();
        assert_eq!(values[..3], [Number(1.0), Number(-2.0), Number(0.5)]);
        assert!(values[3].0.is_nan());
        assert_eq!(values[4].0, f64::NEG_INFINITY);
        assert!(serde_json::from_str::<Number>("\"7\"").is_err());
    }
}
