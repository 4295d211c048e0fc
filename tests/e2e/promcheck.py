#!/usr/bin/env python3
"""Parse Prometheus text with the real parser and print it as JSON, for the e2e tests.

    promcheck.py FILE      (- for stdin)

Uses prometheus_client.parser.text_string_to_metric_families (Debian python3-prometheus-client),
then checks what the parser leaves to the reader: every histogram's buckets are cumulative, end
with le="+Inf" equal to its _count, and no sample (name and labels) appears twice. Prints
{"FAMILY": {"type": T, "samples": [{"name": N, "labels": {...}, "value": V}, ...]}} and exits 0,
or prints the problem and exits 1.
"""
import json
import sys

from prometheus_client.parser import text_string_to_metric_families


def main():
    text = sys.stdin.read() if sys.argv[1] == "-" else open(sys.argv[1], encoding="utf-8").read()
    out, seen = {}, set()
    for fam in text_string_to_metric_families(text):
        if fam.name in out:
            sys.exit("family %s appears twice" % fam.name)
        samples = []
        for s in fam.samples:
            key = (s.name, tuple(sorted(s.labels.items())))
            if key in seen:
                sys.exit("sample %s%s appears twice" % key)
            seen.add(key)
            samples.append({"name": s.name, "labels": s.labels, "value": s.value})
        if fam.type == "histogram":
            series = {}
            for s in fam.samples:
                rest = tuple(sorted((k, v) for k, v in s.labels.items() if k != "le"))
                series.setdefault(rest, {"buckets": [], "count": None})
                if s.name.endswith("_bucket"):
                    series[rest]["buckets"].append((float(s.labels["le"]), s.value))
                elif s.name.endswith("_count"):
                    series[rest]["count"] = s.value
            for rest, h in series.items():
                b = h["buckets"]
                if not b or b[-1][0] != float("inf"):
                    sys.exit("%s%s: no le=\"+Inf\" bucket last" % (fam.name, rest))
                for (le0, v0), (le1, v1) in zip(b, b[1:]):
                    if le1 <= le0 or v1 < v0:
                        sys.exit("%s%s: buckets not cumulative at le=%s" % (fam.name, rest, le1))
                if h["count"] != b[-1][1]:
                    sys.exit("%s%s: _count %s != +Inf bucket %s" % (fam.name, rest, h["count"], b[-1][1]))
        out[fam.name] = {"type": fam.type, "samples": samples}
    if not out:
        sys.exit("no metrics")
    json.dump(out, sys.stdout, sort_keys=True)
    print()


if __name__ == "__main__":
    main()
