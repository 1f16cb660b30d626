//! The Python-facing functions, one file per core module. Each converts its
//! arguments, calls the core once, and maps the core's errors to Python exceptions.

pub mod cookies;
pub mod header_params;
pub mod headers;
pub mod json;
pub mod multipart;
pub mod query;
pub mod router;
pub mod urlencoded;
