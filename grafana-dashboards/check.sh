#!/usr/bin/env bash
# Checks the Host overview dashboard without Grafana (`make dashboards-check`), one line per check:
#  1. drift: the committed host-overview.json and tests/panel-queries.rules.yml equal what generate.py writes;
#  2. `promtool check rules`: every panel expression parses with Prometheus' own parser;
#  3. `promtool test rules`: the panels' formulas give the expected numbers on synthetic series;
#  4. a static sanity check of the dashboard JSON (tests/check_dashboard.py).
# promtool: from PATH (the Makefile puts .cache/test-tools/usr/bin first; `make test-deps` unpacks it).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
export PATH="$root/.cache/test-tools/usr/bin:$PATH"

if ! command -v promtool >/dev/null 2>&1; then
    echo "dashboards-check: promtool not found; run 'make test-deps' (unpacks it into .cache/test-tools)" >&2
    exit 1
fi

failed=0
# run DESCRIPTION COMMAND...: prints "ok   DESCRIPTION (the output's last line)", or "FAIL DESCRIPTION"
# followed by the command's whole output.
run() {
    local what=$1 out last
    shift
    if out=$("$@" 2>&1); then
        last=$(printf '%s\n' "$out" | sed '/^[[:space:]]*$/d' | tail -n 1 | sed 's/^[[:space:]]*//')
        echo "ok   $what${last:+ ($last)}"
    else
        echo "FAIL $what"
        printf '%s\n' "$out" | sed 's/^/     /'
        failed=1
    fi
}

run "generated files match generate.py (no drift)" python3 "$here/generate.py" --check
run "promtool check rules: every panel expression parses" promtool check rules "$here/tests/panel-queries.rules.yml"
# promtool resolves rule_files relative to the test file's directory.
run "promtool test rules: panel formulas give the expected numbers" promtool test rules "$here/tests/panels_test.yml"
run "dashboard JSON sanity" python3 "$here/tests/check_dashboard.py" "$here/host-overview.json"

if [ "$failed" -ne 0 ]; then
    echo "dashboards-check: FAILED" >&2
    exit 1
fi
echo "dashboards-check: all checks passed"
