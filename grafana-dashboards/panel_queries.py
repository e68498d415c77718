#!/usr/bin/env python3
"""The panel queries of the dashboards in a folder, ready for Prometheus' query API: Grafana's variables
replaced as a 15 s scrape interval sets them ($__rate_interval → 1m, $__interval → 15s, $__range → 1h) and,
with --prefix, the stack's container names (name="hostlens-…") renamed to another prefix.

Used by start.sh (which waits until every panel has data) and by the stack's end-to-end test, so both read
the dashboards the same way. As a command: one `title<TAB>expression` line per query.
Usage: panel_queries.py [--prefix P] DIR
"""
import json
import os
import sys


def grafana_vars(expr, prefix="hostlens"):
    expr = expr.replace("$__rate_interval", "1m").replace("$__interval", "15s").replace("$__range", "1h")
    return expr.replace('name="hostlens-', f'name="{prefix}-')


def panel_queries(directory, prefix="hostlens"):
    """(dashboard uid, panel title, expression) for every Prometheus target of every *.json in `directory`."""
    out = []
    for f in sorted(os.listdir(directory)):
        if not f.endswith(".json"):
            continue
        with open(os.path.join(directory, f)) as fh:
            d = json.load(fh)

        def walk(panels):
            for p in panels:
                yield p
                yield from walk(p.get("panels", []))

        for p in walk(d.get("panels", [])):
            for t in p.get("targets", []):
                if t.get("expr"):
                    out.append((d.get("uid", f), p.get("title", "?"), grafana_vars(t["expr"], prefix)))
    return out


def main(argv):
    prefix = "hostlens"
    if len(argv) >= 2 and argv[0] == "--prefix":
        prefix, argv = argv[1], argv[2:]
    if len(argv) != 1:
        print(__doc__.strip().splitlines()[-1], file=sys.stderr)
        return 2
    for _, title, expr in panel_queries(argv[0], prefix):
        print("%s\t%s" % (title.replace("\t", " "), " ".join(expr.split())))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
