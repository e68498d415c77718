#!/usr/bin/env python3
"""Static sanity check of a Grafana dashboard JSON file (Grafana itself cannot run here).

    python3 check_dashboard.py [host-overview.json]

Reads the committed file, not the generator, and checks what a user would otherwise find broken only in
Grafana: every panel has a title, a one-line description, a known unit, the provisioned datasource uid and
non-empty targets; panel ids are unique; grid positions fit in 24 columns and do not overlap; rate windows
are $__rate_interval; no `${DS_...}` import inputs; the heatmap reads the histogram's buckets as they are; a
panel on llcstat's metrics says why it may be empty. Prints one summary line; exits 1 listing every problem.
"""

import json
import os
import re
import sys

DATASOURCE = {"type": "prometheus", "uid": "hostlens-prometheus"}
# Grafana unit ids this dashboard may use (packages/grafana-data/src/valueFormats/categories.ts); a typo there
# silently falls back to plain numbers.
KNOWN_UNITS = {"percentunit", "percent", "bytes", "decbytes", "Bps", "binBps", "bps", "s", "ms", "ops", "cps",
               "reqps", "iops", "short", "none"}
GRID_COLUMNS = 24


def check(dash):
    problems = []

    def bad(msg):
        problems.append(msg)

    text = json.dumps(dash)
    if "${DS_" in text or "__inputs" in dash:
        bad("dashboard uses ${DS_...} import inputs; reference the datasource by its fixed uid")
    if dash.get("title") != "Host overview":
        bad("title is %r, want 'Host overview'" % dash.get("title"))
    if dash.get("uid") != "hostlens-host-overview":
        bad("uid is %r, want 'hostlens-host-overview'" % dash.get("uid"))
    if not (isinstance(dash.get("schemaVersion"), int) and 39 <= dash["schemaVersion"] <= 42):
        bad("schemaVersion %r is not one Grafana 12/13 writes or migrates cleanly (39-42)" % dash.get("schemaVersion"))
    if dash.get("refresh") not in ("10s", "30s"):
        bad("refresh is %r, want 10s or 30s" % dash.get("refresh"))
    if dash.get("time") != {"from": "now-15m", "to": "now"}:
        bad("time range is %r, want the last 15 minutes" % dash.get("time"))

    panels = dash.get("panels") or []
    if not panels:
        bad("no panels")
    ids = [p.get("id") for p in panels]
    for dup in sorted({i for i in ids if ids.count(i) > 1}, key=str):
        bad("panel id %r is used more than once" % dup)

    rects = []
    for p in panels:
        where = "panel %r (%s)" % (p.get("id"), p.get("title") or "untitled")
        if not isinstance(p.get("id"), int):
            bad("%s: id is not an integer" % where)
        if not (p.get("title") or "").strip():
            bad("%s: no title" % where)
        desc = (p.get("description") or "").strip()
        if not desc:
            bad("%s: no description" % where)
        elif "\n" in desc:
            bad("%s: description is more than one line" % where)
        unit = ((p.get("fieldConfig") or {}).get("defaults") or {}).get("unit")
        if not unit:
            bad("%s: no unit (fieldConfig.defaults.unit)" % where)
        elif unit not in KNOWN_UNITS:
            bad("%s: unit %r is not a Grafana unit id this check knows" % (where, unit))
        if p.get("datasource") != DATASOURCE:
            bad("%s: datasource is %r, want %r" % (where, p.get("datasource"), DATASOURCE))
        targets = p.get("targets") or []
        if not targets:
            bad("%s: no targets" % where)
        refs = [t.get("refId") for t in targets]
        if len(set(refs)) != len(refs) or not all(refs):
            bad("%s: refIds %r are not unique and non-empty" % (where, refs))
        for t in targets:
            tw = "%s target %s" % (where, t.get("refId"))
            expr = (t.get("expr") or "").strip()
            if not expr:
                bad("%s: empty expr" % tw)
            if t.get("datasource") != DATASOURCE:
                bad("%s: datasource is %r, want %r" % (tw, t.get("datasource"), DATASOURCE))
            for window in re.findall(r"\[([^\]]*)\]", expr):
                if window != "$__rate_interval":
                    bad("%s: range window [%s], want [$__rate_interval]" % (tw, window))
            if "ebpf_exporter_llc_" in expr and 'hostlens_ebpf_program_attached{program="llcstat"}' not in str(
                    p["fieldConfig"]["defaults"].get("noValue")):
                bad("%s: reads llcstat's counters but its noValue text does not name "
                    'hostlens_ebpf_program_attached{program="llcstat"}' % tw)
        if p.get("type") == "heatmap":
            if (p.get("options") or {}).get("calculate") is not False:
                bad("%s: heatmap must read the histogram's buckets (options.calculate false)" % where)
            for t in targets:
                if t.get("format") != "heatmap" or t.get("legendFormat") != "{{le}}":
                    bad("%s: heatmap target %s needs format 'heatmap' and legend '{{le}}'" % (where, t.get("refId")))

        g = p.get("gridPos") or {}
        try:
            x, y, w, h = (int(g[k]) for k in ("x", "y", "w", "h"))
        except (KeyError, TypeError, ValueError):
            bad("%s: gridPos %r lacks x, y, w or h" % (where, g))
            continue
        if w <= 0 or h <= 0 or x < 0 or y < 0 or x + w > GRID_COLUMNS:
            bad("%s: gridPos %r does not fit the %d-column grid" % (where, g, GRID_COLUMNS))
        for other, (ox, oy, ow, oh) in rects:
            if x < ox + ow and ox < x + w and y < oy + oh and oy < y + h:
                bad("%s overlaps %s" % (where, other))
        rects.append((where, (x, y, w, h)))
    return problems, len(panels), sum(len(p.get("targets") or []) for p in panels)


def main(argv):
    path = argv[1] if len(argv) > 1 else os.path.join(os.path.dirname(os.path.abspath(__file__)), "..",
                                                      "host-overview.json")
    with open(path, encoding="utf-8") as f:
        dash = json.load(f)
    problems, npanels, ntargets = check(dash)
    if problems:
        for msg in problems:
            print("  %s" % msg)
        return 1
    print("%d panels, %d targets: titles, units, descriptions, datasource uid, targets, unique ids, "
          "non-overlapping grid" % (npanels, ntargets))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
