#!/usr/bin/env bash
# The suites of `make test`, timed, logged, and summed up at the end:
#   scripts/suite.sh start                  forget the times and logs of an earlier run
#   scripts/suite.sh run NAME CMD [ARG...]  run CMD, its output to the terminal and to .cache/test-logs/NAME.log;
#                                           record its wall time and result; on failure print the summary, fail
#   scripts/suite.sh report                 the summary: each suite's time, the tests left to the
#                                           prerequisite run (#[ignore = "needs …"]), every SKIPPED line
# A skip is never a pass: tests print `SKIPPED: <why>` for what they cannot check on this host, and they are
# counted and listed here.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
logs="$root/.cache/test-logs"
times="$logs/times.tsv"

usage() {
    echo "usage: $0 start | run NAME CMD [ARG...] | report" >&2
    exit 2
}

fmt_seconds() {
    local s=$1
    printf '%d:%02d' $((s / 60)) $((s % 60))
}

report() {
    echo
    echo "make test: time per suite"
    printf '  %-22s %8s  %s\n' suite "m:ss" result
    local total=0 name secs result
    if [ -f "$times" ]; then
        while IFS=$'\t' read -r name secs result; do
            printf '  %-22s %8s  %s\n' "$name" "$(fmt_seconds "$secs")" "$result"
            total=$((total + secs))
        done <"$times"
    fi
    printf '  %-22s %8s\n' total "$(fmt_seconds "$total")"

    # The tests `cargo test` leaves out, with their prerequisite: libtest prints `test NAME ... ignored, WHY`.
    local ignored
    ignored=$(grep -ho '^test .* \.\.\. ignored, .*' "$logs"/*.log 2>/dev/null | sort -u || true)
    if [ -n "$ignored" ]; then
        echo
        echo "tests marked #[ignore] in the plain cargo test (their prerequisite), run by cargo-test-ignored: $(wc -l <<<"$ignored")"
        sed -E 's/^test (.*) \.\.\. ignored, (.*)$/  \1 (\2)/' <<<"$ignored"
    fi

    local skipped
    skipped=$(grep -ho 'SKIPPED: .*' "$logs"/*.log 2>/dev/null || true)
    echo
    if [ -n "$skipped" ]; then
        echo "skipped checks (SKIPPED lines in the logs, not passes): $(wc -l <<<"$skipped")"
        local line
        while IFS= read -r line; do printf '  %s\n' "$line"; done <<<"$skipped"
    else
        echo "skipped checks: 0"
    fi
}

case "${1:-}" in
start)
    mkdir -p "$logs"
    rm -f "$logs"/*.log "$times"
    ;;
run)
    [ $# -ge 3 ] || usage
    name=$2
    shift 2
    mkdir -p "$logs"
    t0=$SECONDS
    rc=0
    "$@" 2>&1 | tee "$logs/$name.log" || rc=$?
    secs=$((SECONDS - t0))
    if [ "$rc" -eq 0 ]; then
        printf '%s\t%s\tpassed\n' "$name" "$secs" >>"$times"
    else
        printf '%s\t%s\tFAILED (exit %s)\n' "$name" "$secs" "$rc" >>"$times"
        report
        echo
        echo "make test: suite $name FAILED (exit $rc); its output: .cache/test-logs/$name.log" >&2
        exit "$rc"
    fi
    ;;
report)
    report
    ;;
*)
    usage
    ;;
esac
