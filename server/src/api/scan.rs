//! The common `/predict` body, `{"instances": [[numbers…], …]}`, read in one pass.
//!
//! serde's data model dispatches every value through a visitor; for a batch that is over a
//! thousand numbers, and in a profile of a 100-row request it was most of the server's own
//! work. This scanner accepts only that one shape, strictly as JSON's grammar writes it, and
//! gives up (`None`) on anything else, so the caller parses the body the general way and
//! every error, unusual shape and non-finite value is handled there as before.
//!
//! The values are the same bits the general parser gives: a number is read only when its
//! digits fit a `u64` (at most 19 of them), where the general parser's conversion is exact,
//! and is converted exactly too: by one multiplication or division when that is exact, as
//! for the short decimals clients send, else by the standard library's correctly rounded
//! parser. Longer numbers, and any that overflow an `f64`, send the body down the general
//! path.

/// The values of every row in order, and each row's width.
#[derive(Debug, Default, PartialEq)]
pub struct Arrays {
    pub values: Vec<f64>,
    pub widths: Vec<usize>,
}

/// Reads `body` when it is exactly `{"instances": [[numbers…], …]}` with nothing else.
pub fn instances(body: &[u8]) -> Option<Arrays> {
    let mut cursor = Cursor { body, at: 0 };
    cursor.expect(b'{')?;
    cursor.expect(b'"')?;
    cursor.literal(b"instances\"")?;
    cursor.expect(b':')?;
    cursor.expect(b'[')?;
    // A generous guess at the batch's size: one value per six bytes of body.
    let mut arrays = Arrays {
        values: Vec::with_capacity(body.len() / 6),
        widths: Vec::new(),
    };
    if !cursor.next_is(b']') {
        loop {
            cursor.expect(b'[')?;
            let start = arrays.values.len();
            if !cursor.next_is(b']') {
                loop {
                    arrays.values.push(cursor.number()?);
                    if !cursor.comma_or(b']')? {
                        break;
                    }
                }
            }
            arrays.widths.push(arrays.values.len() - start);
            if !cursor.comma_or(b']')? {
                break;
            }
        }
    }
    cursor.expect(b'}')?;
    cursor.skip_whitespace();
    (cursor.at == body.len()).then_some(arrays)
}

struct Cursor<'a> {
    body: &'a [u8],
    at: usize,
}

impl Cursor<'_> {
    fn skip_whitespace(&mut self) {
        while let Some(b' ' | b'\t' | b'\n' | b'\r') = self.body.get(self.at) {
            self.at += 1;
        }
    }

    /// The next token is `byte`: consumed.
    fn expect(&mut self, byte: u8) -> Option<()> {
        self.skip_whitespace();
        (self.body.get(self.at) == Some(&byte)).then(|| self.at += 1)
    }

    /// The next token is `byte`: consumed, and true; otherwise nothing is consumed.
    fn next_is(&mut self, byte: u8) -> bool {
        self.expect(byte).is_some()
    }

    /// After an element: true on `,` (another follows), false on `close`.
    fn comma_or(&mut self, close: u8) -> Option<bool> {
        self.skip_whitespace();
        let next = *self.body.get(self.at)?;
        self.at += 1;
        match next {
            b',' => Some(true),
            b if b == close => Some(false),
            _ => None,
        }
    }

    /// `bytes`, right here.
    fn literal(&mut self, bytes: &[u8]) -> Option<()> {
        let end = self.at + bytes.len();
        (self.body.get(self.at..end) == Some(bytes)).then(|| self.at = end)
    }

    /// A JSON number with at most 19 digits before its exponent, as a finite `f64`.
    fn number(&mut self) -> Option<f64> {
        self.skip_whitespace();
        let start = self.at;
        let negative = self.body.get(self.at) == Some(&b'-');
        if negative {
            self.at += 1;
        }
        let (mut significand, integer) = self.digits(0);
        // One leading zero at most, and at least one digit.
        if integer == 0 || (integer > 1 && self.body[self.at - integer] == b'0') {
            return None;
        }
        let mut fraction = 0;
        if self.body.get(self.at) == Some(&b'.') {
            self.at += 1;
            (significand, fraction) = self.digits(significand);
            if fraction == 0 {
                return None;
            }
        }
        if integer + fraction > 19 {
            return None;
        }
        let mut exponent = -(fraction as i64);
        if let Some(b'e' | b'E') = self.body.get(self.at) {
            self.at += 1;
            let sign = match self.body.get(self.at) {
                Some(b'-') => -1,
                Some(b'+') => 1,
                _ => 0,
            };
            self.at += usize::from(sign != 0);
            let (written, digits) = self.digits(0);
            if digits == 0 {
                return None;
            }
            // More than four digits: beyond the fast path below either way.
            let written = if digits > 4 {
                i64::MAX / 2
            } else {
                written as i64
            };
            exponent += if sign < 0 { -written } else { written };
        }
        let value = match exactly(significand, exponent) {
            Some(magnitude) => magnitude,
            None => {
                // The bytes are ASCII digits and signs, so always UTF-8.
                let text = std::str::from_utf8(&self.body[start..self.at]).ok()?;
                text.parse::<f64>().ok()?.abs()
            }
        };
        let value = if negative { -value } else { value };
        value.is_finite().then_some(value)
    }

    /// Digits from here on, appended to `significand` (which 19 digits cannot overflow, and
    /// which wraps harmlessly past them, since such a number is declined): the new
    /// significand and the count of digits.
    fn digits(&mut self, mut significand: u64) -> (u64, usize) {
        let start = self.at;
        while let Some(&digit @ b'0'..=b'9') = self.body.get(self.at) {
            significand = significand
                .wrapping_mul(10)
                .wrapping_add(u64::from(digit - b'0'));
            self.at += 1;
        }
        (significand, self.at - start)
    }
}

/// `significand × 10^exponent` when one IEEE operation on exact operands gives it, and so
/// rounds it correctly (Clinger's fast path): the significand fits the 53 bits of an `f64`
/// and the power of ten is one of those an `f64` holds exactly.
fn exactly(significand: u64, exponent: i64) -> Option<f64> {
    const POWERS: [f64; 23] = [
        1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16,
        1e17, 1e18, 1e19, 1e20, 1e21, 1e22,
    ];
    if significand > 1 << 53 {
        return None;
    }
    let power = *POWERS.get(exponent.unsigned_abs() as usize)?;
    let significand = significand as f64;
    Some(if exponent < 0 {
        significand / power
    } else {
        significand * power
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scan(body: &str) -> Option<Arrays> {
        instances(body.as_bytes())
    }

    #[test]
    fn reads_rows_of_numbers() {
        let arrays = scan(r#" { "instances" : [ [1, -2.5, 3e2] ,[0,-0.0],[] ] } "#).unwrap();
        assert_eq!(arrays.values, [1.0, -2.5, 300.0, 0.0, -0.0]);
        assert!(arrays.values[4].is_sign_negative());
        assert_eq!(arrays.widths, [3, 2, 0]);
        assert_eq!(scan(r#"{"instances":[]}"#).unwrap(), Arrays::default());
    }

    #[test]
    fn leaves_every_other_shape_to_the_general_parser() {
        for body in [
            r#"{"instances":[{"a":1}]}"#,
            r#"{"instances":[[1,"NaN"]]}"#,
            r#"{"instances":[[NaN]]}"#,
            r#"{"instances":[[1e999]]}"#,
            r#"{"instances":[[12345678901234567890]]}"#,
            r#"{"instances":[[01]]}"#,
            r#"{"instances":[[1.]]}"#,
            r#"{"instances":[[.5]]}"#,
            r#"{"instances":[[1e]]}"#,
            r#"{"instances":[[+1]]}"#,
            r#"{"instances":[[1,]]}"#,
            r#"{"instances":[[1],]}"#,
            r#"{"instances":[[1]],"instances":[[2]]}"#,
            r#"{"instances":[[1]],"extra":0}"#,
            r#"{"instances":[[1]]} x"#,
            r#"{"\u0069nstances":[[1]]}"#,
            r#"{"instances":[[1]]"#,
            r#"{"instances":[1]}"#,
            "{\"instances\":[[1\u{a0}]]}",
            "",
        ] {
            assert_eq!(scan(body), None, "{body}");
        }
    }

    /// Number texts as clients write them: integers, decimals, exponents near the ends of
    /// the `f64` range and past them, up to the digit count where the scanner stops.
    fn number_text() -> impl proptest::strategy::Strategy<Value = String> {
        use proptest::prelude::*;
        let integer = prop_oneof![Just("0".to_owned()), "[1-9][0-9]{0,18}"];
        let fraction = prop::option::of("[0-9]{1,19}");
        let exponent = prop::option::of(("[eE]", "[+-]?", -400i32..400));
        ("-?", integer, fraction, exponent).prop_map(|(sign, int, frac, exp)| {
            let mut text = format!("{sign}{int}");
            if let Some(frac) = frac {
                text.push('.');
                text.push_str(&frac);
            }
            if let Some((e, s, x)) = exp {
                text.push_str(&format!("{e}{s}{}", x.unsigned_abs()));
            }
            text
        })
    }

    proptest::proptest! {
        #![proptest_config(proptest::test_runner::Config::with_cases(4000))]

        /// Whatever the scanner reads is the same `f64`, bit for bit, as the general parser
        /// reads; what it declines is either too long for it or not a finite `f64`.
        #[test]
        fn reads_the_bits_the_general_parser_reads(text in number_text()) {
            let general = serde_json::from_str::<f64>(&text).ok();
            let scanned = scan(&format!(r#"{{"instances":[[{text}]]}}"#)).map(|a| a.values[0]);
            match (scanned, general) {
                (Some(s), Some(g)) => proptest::prop_assert_eq!(s.to_bits(), g.to_bits(), "{}", text),
                (Some(s), None) => proptest::prop_assert!(false, "{text}: scanned {s}, general parser refused"),
                (None, general) => {
                    let digits = text
                        .split(['e', 'E'])
                        .next()
                        .map_or(0, |m| m.bytes().filter(u8::is_ascii_digit).count());
                    proptest::prop_assert!(
                        digits > 19 || general.is_none_or(|g| !g.is_finite()),
                        "{text}: declined, general parser read {general:?}"
                    );
                }
            }
        }
    }
}
