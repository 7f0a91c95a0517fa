//! Types (placeholder).
