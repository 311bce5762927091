//! Shared helpers for the cross-crate tests live in the test targets themselves.
