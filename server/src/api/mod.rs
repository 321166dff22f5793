//! Wire types: what clients send and receive, for the seed API and the Open Inference Protocol.
//!
//! Decoding ends at checked [`Rows`](crate::Rows); nothing past this module sees raw JSON.

pub mod binary;
pub mod seed;
pub mod v2;

mod number;
mod scan;

pub use number::{Number, quote_non_finite};
