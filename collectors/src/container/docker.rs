//! Docker discovery (in progress).
