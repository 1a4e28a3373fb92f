# Checks of `reaper metrics` output (test/integration/metrics.sh), through
# prometheus_client's text parser: a parse error fails the test.
#   metrics-check.py parse            stdin: exposition -> JSON [[name, labels, value], ...]
#   metrics-check.py families         stdin: exposition -> the family names, one a line
import json
import sys

from prometheus_client.parser import text_string_to_metric_families


def samples(text):
    out = []
    for fam in text_string_to_metric_families(text):
        if not fam.documentation:
            sys.exit("family %s has no HELP" % fam.name)
        if fam.type not in ("counter", "gauge", "histogram"):
            sys.exit("family %s has type %s" % (fam.name, fam.type))
        for s in fam.samples:
            out.append([s.name, s.labels, s.value])
    return out


text = sys.stdin.read()
if sys.argv[1] == "parse":
    json.dump(samples(text), sys.stdout)
elif sys.argv[1] == "families":
    for fam in text_string_to_metric_families(text):
        print(fam.name)


def check(parsed, exprs):
    """Each expression is true over v(NAME, **labels) (the sum of the matching samples),
    n(NAME, **labels) (how many match) and groups (reaper overlay list --json)."""
    def match(name, labels):
        return [s for s in parsed if s[0] == name and all(s[1].get(k) == str(x) for k, x in labels.items())]

    def v(name, **labels):
        return sum(s[2] for s in match(name, labels))

    def n(name, **labels):
        return len(match(name, labels))

    env = {"v": v, "n": n, "groups": json.loads(open(sys.argv[3]).read()) if len(sys.argv) > 3 and sys.argv[3] else []}
    bad = [e for e in exprs if not eval(e, env)]
    for e in bad:
        print("false: %s" % e, file=sys.stderr)
    if bad:
        print("samples: %s" % json.dumps(parsed), file=sys.stderr)
        sys.exit(1)


if sys.argv[1] == "check":
    # metrics-check.py check EXPRS-FILE [GROUPS-JSON-FILE] < exposition
    check(samples(text), [l for l in open(sys.argv[2]).read().splitlines() if l.strip()])
