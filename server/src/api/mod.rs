//! Wire types: what clients send and receive, for the seed API, the Open Inference Protocol and
//! KServe's V1 protocol.
//!
//! Decoding ends at a checked [`Batch`](crate::inputs::Batch): [`Rows`](crate::Rows) of numbers
//! for a model of numeric features, a [`Table`](crate::inputs::Table) of cells (categories,
//! missing values) for a model with column blocks, read by [`cells`]. Nothing past this module
//! sees raw JSON. Each API has one entry that takes the body's bytes and the model:
//! [`seed::decode`], [`v2::decode`], [`v1::decode`].

pub mod binary;
pub(crate) mod cells;
pub mod seed;
pub mod v1;
pub mod v2;

mod number;
mod scan;

use serde::de::DeserializeOwned;

use crate::contract::errors::ApiError;

pub use number::{Number, quote_non_finite};

/// Decodes JSON, non-finite values included.
pub(crate) fn parse_json<T: DeserializeOwned>(body: &[u8]) -> Result<T, ApiError> {
    // The common body has no bare non-finite token and no overflowing number: parsed once,
    // without the rewriting pass over every byte. A body that fails is rewritten and parsed
    // again, so such values are refused by name (422) rather than as invalid JSON.
    serde_json::from_slice(body).or_else(|e| match quote_non_finite(body) {
        std::borrow::Cow::Owned(quoted) => {
            serde_json::from_slice(&quoted).map_err(|e| ApiError::from_json(&e))
        }
        std::borrow::Cow::Borrowed(_) => Err(ApiError::from_json(&e)),
    })
}
