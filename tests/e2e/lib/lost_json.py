"""Check a JSON report's `lost` object (top level and per process) against
what the trace's LOST records say: lost_json.py REPORT.json CALLS REASON_WORD"""
import json, sys
d = json.load(open(sys.argv[1]))
want, word = int(sys.argv[2]), sys.argv[3]
top = d.get("lost")
if not isinstance(top, dict) or top.get("calls") != want:
    sys.exit("top-level lost %r, want calls=%d" % (top, want))
per = sum(p.get("lost", {}).get("calls", 0) for p in d.get("process_list", []))
if per != want:
    sys.exit("per-process lost calls add up to %d, want %d" % (per, want))
reasons = [p["lost"]["reason"] for p in d["process_list"] if p.get("lost", {}).get("calls")]
if not reasons or not all(word in r for r in reasons):
    sys.exit("lost reasons %r do not say %r" % (reasons, word))
