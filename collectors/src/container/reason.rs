//! `hostlens_container_runtime_up`'s `reason` label: one of a fixed set of codes, from the source's full
//! error text (which stays in the log): free text in a label value would make a new series per message.

/// The code for why the runtime is not up.
pub fn runtime_reason(text: &str) -> &'static str {
    let t = text.to_ascii_lowercase();
    if t.contains("permission denied") {
        "permission_denied"
    } else if t.contains("not connected yet") {
        "connecting"
    } else if t.contains("disabled") {
        "disabled"
    } else if t.contains("closed the event stream") {
        "stream_closed"
    } else if t.contains("timed out") || t.contains("timeout") {
        "timeout"
    } else if t.starts_with("connecting to")
        || t.contains("no such file")
        || t.contains("connection refused")
        || t.contains("unreachable")
    {
        "unreachable"
    } else {
        "api_error"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes() {
        for (text, code) in [
            ("not connected yet", "connecting"),
            (
                "connecting to unix:///var/run/docker.sock: error trying to connect: Permission denied \
                 (os error 13) (this user may not use the socket: …)",
                "permission_denied",
            ),
            (
                "connecting to unix:///nope.sock: Socket not found: /nope.sock",
                "unreachable",
            ),
            ("GET /info: Connection refused (os error 111)", "unreachable"),
            ("the daemon closed the event stream", "stream_closed"),
            ("GET /containers/json: Timeout error", "timeout"),
            (
                "GET /containers/{id}/json: Docker responded with status code 500: oops",
                "api_error",
            ),
            ("Docker disabled by --container.docker-host=''", "disabled"),
        ] {
            assert_eq!(runtime_reason(text), code, "{text}");
        }
    }
}
