#!/usr/bin/env python3
"""Generates the "Host overview" Grafana dashboard and the recording rules that test its queries.

    python3 grafana-dashboards/generate.py           # (re)write the two generated files
    python3 grafana-dashboards/generate.py --check   # exit 1 with a unified diff if a committed file differs

Writes, next to this script:
  host-overview.json              the dashboard (provisioned by the stack; importable by hand too)
  tests/panel-queries.rules.yml   every panel target's PromQL as a recording rule, so that
                                  `promtool check rules` parses it with Prometheus' own parser and
                                  tests/panels_test.yml (`promtool test rules`) evaluates exactly the
                                  dashboard's expressions on synthetic series.

Standard library only; the output is deterministic (sorted keys, 2-space indent, trailing newline), so the
committed files must equal what this script writes (`--check`, run by grafana-dashboards/check.sh).
"""

import difflib
import json
import os
import re
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
DASHBOARD_PATH = os.path.join(HERE, "host-overview.json")
RULES_PATH = os.path.join(HERE, "tests", "panel-queries.rules.yml")

# Container names, fixed by the stack's compose file (`container_name:`); cAdvisor's `name` label.
CONTAINERS = {
    "prometheus": "hostlens-prometheus",
    "grafana": "hostlens-grafana",
    "agent": "hostlens-agent",
}

# The datasource the stack provisions with this fixed uid: no `${DS_PROMETHEUS}` import input.
DATASOURCE = {"type": "prometheus", "uid": "hostlens-prometheus"}

DASHBOARD_UID = "hostlens-host-overview"
DASHBOARD_TITLE = "Host overview"
# Grafana 12.0 writes 41; 12.x/13.x migrate anything from 13 up to their latest (42) on load.
SCHEMA_VERSION = 41

# In the recording rules, Grafana's `$__rate_interval` becomes this fixed window. 1m is what Grafana computes
# for `$__rate_interval` at a 15 s scrape interval (max(4 x scrape interval, step + scrape interval)), and it
# holds 4 samples of the 15 s synthetic series in tests/panels_test.yml. Only used for parsing and testing.
RULES_RATE_WINDOW = "1m"
RECORD_PREFIX = "hostlens_dashboard:panel_"

RATE = "$__rate_interval"
PROM = CONTAINERS["prometheus"]
GRAF = CONTAINERS["grafana"]

LLC_NO_VALUE = (
    "No LLC data: this host has no hardware cache counters (most VMs), so llcstat is off and "
    'hostlens_ebpf_program_attached{program="llcstat"} is 0 (its reason label says why)'
)


def target(ref_id, expr, legend, fmt="time_series"):
    return {"refId": ref_id, "expr": expr, "legendFormat": legend, "format": fmt}


# One entry per panel. `id` is stable (tests/panels_test.yml refers to panel ids through the record names).
# gridPos: 24 columns wide; rows of height 8.
PANELS = [
    {
        "id": 6,
        "type": "timeseries",
        "title": "Host CPU busy",
        "description": "Share of all CPUs busy (every mode but idle, iowait and steal), averaged over CPUs: "
        "two CPUs, one 50% busy, is 25%.",
        "unit": "percentunit",
        "min": 0,
        "max": 1,
        "gridPos": {"x": 0, "y": 0, "w": 12, "h": 8},
        "targets": [
            target(
                "A",
                'avg(sum by (cpu) (rate(node_cpu_seconds_total{mode!~"idle|iowait|steal"}[%s])))' % RATE,
                "busy",
            )
        ],
    },
    {
        "id": 5,
        "type": "timeseries",
        "title": "Host memory used",
        "description": "Share of the host's memory not available to new work: 1 - MemAvailable / MemTotal "
        "(page cache the kernel can reclaim counts as available).",
        "unit": "percentunit",
        "min": 0,
        "max": 1,
        "gridPos": {"x": 12, "y": 0, "w": 12, "h": 8},
        "targets": [target("A", "1 - node_memory_MemAvailable_bytes / node_memory_MemTotal_bytes", "used")],
    },
    {
        "id": 1,
        "type": "timeseries",
        "title": "read and write syscalls",
        "description": "read(2) and write(2) calls per second on the whole host, every process, counted by "
        "eBPF (syscall names as strace prints them).",
        "unit": "ops",
        "min": 0,
        "gridPos": {"x": 0, "y": 8, "w": 12, "h": 8},
        "targets": [
            target(
                "A",
                'sum by (syscall) (rate(ebpf_exporter_syscalls_total{syscall=~"read|write"}[%s]))' % RATE,
                "{{syscall}}",
            )
        ],
    },
    {
        "id": 3,
        "type": "stat",
        "title": "LLC misses",
        "description": "Last-level-cache misses per second, all CPUs, from hardware counters; VMs without "
        'them show why instead (hostlens_ebpf_program_attached{program="llcstat"} is 0).',
        "unit": "cps",
        "min": 0,
        "noValue": LLC_NO_VALUE,
        "gridPos": {"x": 12, "y": 8, "w": 12, "h": 8},
        "targets": [target("A", "sum(rate(ebpf_exporter_llc_misses_total[%s]))" % RATE, "misses")],
    },
    {
        "id": 7,
        "type": "heatmap",
        "title": "Disk write latency",
        "description": "Block write requests per latency bucket (issue to completion, all disks) in each "
        "interval; the rows are the histogram's own buckets, not recalculated.",
        "unit": "short",
        "gridPos": {"x": 0, "y": 16, "w": 24, "h": 9},
        "targets": [
            target(
                "A",
                'sum(increase(ebpf_exporter_bio_latency_seconds_bucket{operation="write"}[%s])) by (le)'
                % RATE,
                "{{le}}",
                fmt="heatmap",
            )
        ],
    },
    {
        "id": 2,
        "type": "timeseries",
        "title": "Prometheus and Grafana CPU",
        "description": "CPU used by the Prometheus and the Grafana container; 100% = one full CPU, as "
        "`docker stats` shows it, so a container can go over 100% on a multi-CPU host.",
        "unit": "percentunit",
        "min": 0,
        "gridPos": {"x": 0, "y": 25, "w": 8, "h": 8},
        "targets": [
            target(
                "A",
                'sum by (name) (rate(container_cpu_usage_seconds_total{name="%s"}[%s]))'
                % (PROM, RATE),
                "prometheus",
            ),
            target(
                "B",
                'sum by (name) (rate(container_cpu_usage_seconds_total{name="%s"}[%s]))'
                % (GRAF, RATE),
                "grafana",
            ),
        ],
    },
    {
        "id": 4,
        "type": "timeseries",
        "title": "Prometheus network",
        "description": "Bytes per second the Prometheus container receives (scrapes, queries) and transmits "
        "(query results), per interface of the container.",
        "unit": "Bps",
        "min": 0,
        "gridPos": {"x": 8, "y": 25, "w": 8, "h": 8},
        "targets": [
            target(
                "A",
                'sum by (interface) (rate(container_network_receive_bytes_total{name="%s"}[%s]))'
                % (PROM, RATE),
                "receive {{interface}}",
            ),
            target(
                "B",
                'sum by (interface) (rate(container_network_transmit_bytes_total{name="%s"}[%s]))'
                % (PROM, RATE),
                "transmit {{interface}}",
            ),
        ],
    },
    {
        "id": 8,
        "type": "timeseries",
        "title": "Grafana memory",
        "description": "Grafana container's working set (usage minus inactive file cache, what the OOM "
        "killer weighs) and its memory limit (no line when the container has none).",
        "unit": "bytes",
        "min": 0,
        "gridPos": {"x": 16, "y": 25, "w": 8, "h": 8},
        "targets": [
            target("A", 'sum by (name) (container_memory_working_set_bytes{name="%s"})' % GRAF, "working set"),
            # cAdvisor reports "no limit" as 0; `> 0` drops it instead of drawing a line at zero.
            target("B", 'max by (name) (container_spec_memory_limit_bytes{name="%s"}) > 0' % GRAF, "limit"),
        ],
        "overrides": [
            {
                "matcher": {"id": "byFrameRefID", "options": "B"},
                "properties": [
                    {"id": "color", "value": {"fixedColor": "red", "mode": "fixed"}},
                    {"id": "custom.fillOpacity", "value": 0},
                    {"id": "custom.lineStyle", "value": {"dash": [10, 10], "fill": "dash"}},
                ],
            }
        ],
    },
]


def panel_json(spec):
    defaults = {"unit": spec["unit"]}
    for key in ("min", "max", "noValue"):
        if key in spec:
            defaults[key] = spec[key]
    panel = {
        "id": spec["id"],
        "type": spec["type"],
        "title": spec["title"],
        "description": spec["description"],
        "datasource": dict(DATASOURCE),
        "gridPos": dict(spec["gridPos"]),
        "targets": [dict(t, datasource=dict(DATASOURCE)) for t in spec["targets"]],
        "fieldConfig": {"defaults": defaults, "overrides": spec.get("overrides", [])},
    }
    kind = spec["type"]
    if kind == "timeseries":
        defaults["color"] = {"mode": "palette-classic"}
        defaults["custom"] = {"drawStyle": "line", "fillOpacity": 10, "lineWidth": 1, "showPoints": "never"}
        panel["options"] = {
            "legend": {"calcs": ["lastNotNull", "max"], "displayMode": "table", "placement": "bottom",
                       "showLegend": True},
            "tooltip": {"mode": "multi", "sort": "desc"},
        }
    elif kind == "stat":
        defaults["color"] = {"mode": "thresholds"}
        defaults["thresholds"] = {"mode": "absolute", "steps": [{"color": "text", "value": None}]}
        panel["options"] = {
            "colorMode": "value",
            "graphMode": "area",
            "justifyMode": "auto",
            "orientation": "auto",
            "reduceOptions": {"calcs": ["lastNotNull"], "fields": "", "values": False},
            "textMode": "auto",
        }
    elif kind == "heatmap":
        panel["options"] = {
            # The buckets come from the histogram (format "heatmap" de-accumulates them); no recalculation.
            "calculate": False,
            "cellGap": 1,
            "cellValues": {"unit": "short"},
            "color": {"exponent": 0.5, "fill": "dark-orange", "mode": "scheme", "reverse": False,
                      "scale": "exponential", "scheme": "Oranges", "steps": 64},
            "exemplars": {"color": "rgba(255,0,255,0.7)"},
            "filterValues": {"le": 1e-09},
            "legend": {"show": True},
            "rowsFrame": {"layout": "le"},
            "showValue": "never",
            "tooltip": {"mode": "single", "show": True, "yHistogram": True},
            "yAxis": {"axisPlacement": "left", "reverse": False, "unit": "s"},
        }
    else:
        raise ValueError("unknown panel type %r" % kind)
    return panel


def dashboard():
    return {
        "annotations": {
            "list": [
                {
                    "builtIn": 1,
                    "datasource": {"type": "grafana", "uid": "-- Grafana --"},
                    "enable": True,
                    "hide": True,
                    "iconColor": "rgba(0, 211, 255, 1)",
                    "name": "Annotations & Alerts",
                    "type": "dashboard",
                }
            ]
        },
        "description": "The host, its syscalls, disk write latency and LLC misses, and the stack's own "
        "Prometheus and Grafana containers, from the hostlens agent. Generated by "
        "grafana-dashboards/generate.py: edit that, not this file.",
        "editable": True,
        "fiscalYearStartMonth": 0,
        "graphTooltip": 1,
        "links": [],
        "panels": [panel_json(p) for p in PANELS],
        "refresh": "30s",
        "schemaVersion": SCHEMA_VERSION,
        "tags": ["hostlens"],
        "templating": {"list": []},
        "time": {"from": "now-15m", "to": "now"},
        "timepicker": {"refresh_intervals": ["10s", "30s", "1m", "5m", "15m"]},
        "timezone": "browser",
        "title": DASHBOARD_TITLE,
        "uid": DASHBOARD_UID,
        "version": 1,
    }


def record_name(panel_id, ref_id):
    return "%s%d_%s" % (RECORD_PREFIX, panel_id, ref_id)


def rule_expr(expr):
    out = expr.replace(RATE, RULES_RATE_WINDOW)
    if "$" in out:
        raise ValueError("a Grafana variable the rules cannot express is left in %r" % expr)
    return out


def rules_text():
    lines = [
        "# GENERATED by grafana-dashboards/generate.py from the dashboard's panels; do not edit.",
        "# Every panel target of host-overview.json as a recording rule named",
        "# %s<panel id>_<refId>, so that `promtool check rules` parses each expression with" % RECORD_PREFIX,
        "# Prometheus' own parser and panels_test.yml evaluates exactly the dashboard's formulas.",
        "# Grafana's $__rate_interval is replaced by %s (its value at a 15 s scrape interval)." % RULES_RATE_WINDOW,
        "groups:",
        "  - name: host-overview-panels",
        "    rules:",
    ]
    for spec in sorted(PANELS, key=lambda p: p["id"]):
        for t in spec["targets"]:
            lines.append("      # panel %d %s, target %s (%s)" % (spec["id"], json.dumps(spec["title"]),
                                                             t["refId"], t["legendFormat"]))
            lines.append("      - record: %s" % record_name(spec["id"], t["refId"]))
            # A JSON string is a valid YAML double-quoted scalar.
            lines.append("        expr: %s" % json.dumps(rule_expr(t["expr"])))
    return "\n".join(lines) + "\n"


def dashboard_text():
    return json.dumps(dashboard(), indent=2, sort_keys=True) + "\n"


def outputs():
    return [(DASHBOARD_PATH, dashboard_text()), (RULES_PATH, rules_text())]


def main(argv):
    check = argv[1:] == ["--check"]
    if argv[1:] and not check:
        sys.stderr.write("usage: generate.py [--check]\n")
        return 2
    drift = False
    for path, text in outputs():
        rel = os.path.relpath(path, os.path.dirname(HERE))
        if check:
            try:
                with open(path, encoding="utf-8") as f:
                    committed = f.read()
            except FileNotFoundError:
                committed = ""
            if committed != text:
                drift = True
                for line in difflib.unified_diff(
                        committed.splitlines(keepends=True), text.splitlines(keepends=True),
                        fromfile="%s (committed)" % rel, tofile="%s (generate.py)" % rel):
                    sys.stdout.write(line if line.endswith("\n") else line + "\n\\ No newline at end of file\n")
        else:
            os.makedirs(os.path.dirname(path), exist_ok=True)
            with open(path, "w", encoding="utf-8") as f:
                f.write(text)
            print("wrote %s" % rel)
    if drift:
        sys.stderr.write("generate.py --check: generated files differ from generate.py; "
                         "run `make dashboards` and commit the result\n")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
