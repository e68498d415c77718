//! The container collector (in progress).
