//! The binary tensor data extension of the Open Inference Protocol, as Triton specifies it and
//! `tritonclient` sends it by default: a JSON header of `Inference-Header-Content-Length`
//! bytes, then each binary tensor's bytes in tensor order, little-endian and row-major, a
//! `BYTES` element as a 4-byte little-endian length and its bytes.
//!
//! Raw IEEE bytes carry every bit by construction, and cost no parsing or printing of
//! decimal text: the fastest way to move a batch, and the exact one.

use crate::contract::errors::TensorError;

/// The media type of a body with binary tensor data after its JSON header.
pub const CONTENT_TYPE: &str = "application/octet-stream";

/// Splits a body into its JSON header and the binary data after it, as
/// `Inference-Header-Content-Length` says.
pub fn split<'a>(body: &'a [u8], header_length: &str) -> Result<(&'a [u8], &'a [u8]), TensorError> {
    let value = header_length.trim();
    let length = value
        .parse::<usize>()
        .ok()
        .filter(|n| *n <= body.len() && value.bytes().all(|b| b.is_ascii_digit()))
        .ok_or_else(|| TensorError::HeaderLength {
            value: value.to_owned(),
            body: body.len(),
        })?;
    Ok(body.split_at(length))
}

/// The size of one element of a numeric `datatype`, for the datatypes an input may have.
pub fn element_size(datatype: &str) -> Option<usize> {
    Some(match datatype {
        "FP64" | "INT64" | "UINT64" => 8,
        "FP32" | "INT32" | "UINT32" => 4,
        "INT16" | "UINT16" => 2,
        "INT8" | "UINT8" => 1,
        _ => return None,
    })
}

/// Reads `bytes` as elements of `datatype` (one of [`element_size`]'s), each as the `f64` the
/// JSON form of the same value gives: floats widened exactly, integers as `as f64` reads them.
pub fn values(bytes: &[u8], datatype: &str) -> Vec<f64> {
    fn read<const N: usize, T>(bytes: &[u8], from: fn([u8; N]) -> T, to: fn(T) -> f64) -> Vec<f64> {
        bytes
            .chunks_exact(N)
            .map(|chunk| {
                let mut array = [0; N];
                array.copy_from_slice(chunk);
                to(from(array))
            })
            .collect()
    }
    match datatype {
        "FP64" => read(bytes, f64::from_le_bytes, |v| v),
        "FP32" => read(bytes, f32::from_le_bytes, f64::from),
        "INT64" => read(bytes, i64::from_le_bytes, |v| v as f64),
        "UINT64" => read(bytes, u64::from_le_bytes, |v| v as f64),
        "INT32" => read(bytes, i32::from_le_bytes, f64::from),
        "UINT32" => read(bytes, u32::from_le_bytes, f64::from),
        "INT16" => read(bytes, i16::from_le_bytes, f64::from),
        "UINT16" => read(bytes, u16::from_le_bytes, f64::from),
        "INT8" => read(bytes, i8::from_le_bytes, f64::from),
        "UINT8" => read(bytes, u8::from_le_bytes, f64::from),
        _ => Vec::new(),
    }
}

/// The first 64-bit integer element beyond ±2^53, which a double cannot hold exactly: the
/// JSON path refuses the same elements (see `v2::TensorData`).
pub fn first_beyond_exact(bytes: &[u8], datatype: &str) -> Option<usize> {
    let beyond = |magnitude: u64| magnitude > 1 << 53;
    let mut chunks = bytes.chunks_exact(8).map(|c| {
        let mut array = [0; 8];
        array.copy_from_slice(c);
        array
    });
    match datatype {
        "INT64" => chunks.position(|a| beyond(i64::from_le_bytes(a).unsigned_abs())),
        "UINT64" => chunks.position(|a| beyond(u64::from_le_bytes(a))),
        _ => None,
    }
}

/// Appends `BYTES` elements: each a 4-byte little-endian length, then its bytes.
pub fn put_bytes<'a>(out: &mut Vec<u8>, elements: impl IntoIterator<Item = &'a str>) {
    for element in elements {
        // A class name is far below 4 GiB: the artifact holds it in memory as JSON text.
        out.extend_from_slice(&(element.len() as u32).to_le_bytes());
        out.extend_from_slice(element.as_bytes());
    }
}

/// Appends `FP64` elements, little-endian.
pub fn put_f64(out: &mut Vec<u8>, values: impl IntoIterator<Item = f64>) {
    for value in values {
        out.extend_from_slice(&value.to_le_bytes());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_body_splits_where_its_header_length_says() {
        let body = br#"{"a":1}XYZ"#;
        assert_eq!(split(body, "7"), Ok((&br#"{"a":1}"#[..], &b"XYZ"[..])));
        assert_eq!(split(body, " 10 "), Ok((&body[..], &b""[..])));
        for bad in ["11", "-1", "+7", "x", ""] {
            assert!(
                matches!(split(body, bad), Err(TensorError::HeaderLength { .. })),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn every_datatype_reads_its_little_endian_elements() {
        let mut bytes = Vec::new();
        put_f64(&mut bytes, [1.5, -0.0]);
        let read = values(&bytes, "FP64");
        assert_eq!(read[0], 1.5);
        assert_eq!(read[1].to_bits(), (-0.0f64).to_bits());
        assert_eq!(values(&0.1f32.to_le_bytes(), "FP32"), [f64::from(0.1f32)]);
        assert_eq!(values(&(-2i8).to_le_bytes(), "INT8"), [-2.0]);
        assert_eq!(values(&u16::MAX.to_le_bytes(), "UINT16"), [65535.0]);
        assert_eq!(values(&i64::MIN.to_le_bytes(), "INT64"), [i64::MIN as f64]);
        assert_eq!(values(&u64::MAX.to_le_bytes(), "UINT64"), [u64::MAX as f64]);
    }

    #[test]
    fn bytes_elements_carry_their_lengths() {
        let mut out = Vec::new();
        put_bytes(&mut out, ["bad", "é"]);
        assert_eq!(out, b"\x03\0\0\0bad\x02\0\0\0\xc3\xa9");
    }
}
