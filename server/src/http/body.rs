//! Request bodies handed to the pipeline as a reader (in-process requests): read once, never
//! past the limit. The transport bounds the bodies it reads as they arrive
//! ([`wire::framing`](crate::http::wire::framing), [`wire::Chunked`](crate::http::wire::Chunked)).

use std::io::Read;

use crate::contract::errors::ApiError;

/// A request's body, or why it was not read in full.
pub type Body = Result<Vec<u8>, ApiError>;

/// Reads at most `limit` bytes from `reader`. A body whose declared length is over the limit is
/// not read at all; one that turns out longer (chunked, or lying about its length) is read only
/// one byte past the limit.
pub fn read(reader: impl Read, declared: Option<u64>, limit: usize) -> Body {
    let too_large = ApiError::BodyTooLarge { limit };
    if declared.is_some_and(|len| len > limit as u64) {
        return Err(too_large);
    }
    let capacity = declared.map_or(0, |len| len as usize);
    let mut body = Vec::with_capacity(capacity);
    reader
        .take(limit as u64 + 1)
        .read_to_end(&mut body)
        .map_err(|e| ApiError::Invalid {
            detail: format!("cannot read the request body: {e}"),
        })?;
    if body.len() > limit {
        return Err(too_large);
    }
    Ok(body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_up_to_the_limit_and_refuses_past_it() {
        assert_eq!(read(&b"abcd"[..], Some(4), 4), Ok(b"abcd".to_vec()));
        assert_eq!(read(&b"abcd"[..], None, 4), Ok(b"abcd".to_vec()));
        let refused = Err(ApiError::BodyTooLarge { limit: 3 });
        assert_eq!(read(&b"abcd"[..], None, 3), refused);
        assert_eq!(read(&b""[..], Some(1 << 40), 3), refused);
    }

    #[test]
    fn a_declared_oversized_body_is_not_read() {
        struct Unreadable;
        impl Read for Unreadable {
            fn read(&mut self, _: &mut [u8]) -> std::io::Result<usize> {
                panic!("the body was read")
            }
        }
        assert_eq!(
            read(Unreadable, Some(10), 9),
            Err(ApiError::BodyTooLarge { limit: 9 })
        );
    }
}
