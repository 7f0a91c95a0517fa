//! Signatures (placeholder).
