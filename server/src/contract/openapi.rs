//! The OpenAPI 3 document describing every route in [`ROUTES`](crate::contract::routes::ROUTES).

/// The document served at `/openapi.json`; tests hold it to the route table.
pub const OPENAPI: &str = include_str!("openapi.json");
