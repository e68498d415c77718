//! cgroup v1 and v2: pure parsers and readers (in progress).
