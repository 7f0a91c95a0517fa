//! Build stage (placeholder).
