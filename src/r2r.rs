//! r2r helpers (placeholder).
