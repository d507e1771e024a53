#!/usr/bin/env bash
# html: the page for mlp_train with regions, a grid intensity and a DVFS
# recommendation (a hand-written one with a curve, in issue 8's fields) is
# one self-contained file (no scripts, nothing fetched), and Debian's
# chromium, headless, loads it with no console errors; in the DOM it built,
# every chart (energy per layer, power over time, roofline, DVFS) holds
# data marks; the headline's energy is the text report's to the digit; a
# screenshot is kept at build/report.png for a person to look at.
# Exit 0 pass, 1 fail, 77 skip (no chromium).
. "$(dirname "$0")/lib/common.sh"
need "$lib" "$ana" "$build/examples/mlp_train"
chrome=$(command -v chromium || command -v chromium-browser || true)
[ -n "$chrome" ] || skip "chromium not installed (scripts/install-deps.sh installs it): the page is not checked in a browser"

record "$tmp/mlp" "$build/examples/mlp_train" --steps 100 --batch 64 --regions >/dev/null || fail "mlp_train failed"
cat >"$tmp/rec.json" <<'JSON'
{"format_version": 1, "objective": "energy", "max_slowdown_pct": 5,
 "recommendations": [
  {"knob": "cpu_freq_khz", "device": null, "layer": null, "baseline": 3000000, "recommended": 2200000,
   "predicted_time_s": 0.33, "predicted_energy_j": 1.61, "energy_saving_pct": 16.1, "slowdown_pct": 4.2,
   "provenance": "estimated", "uncertainty_pct": 12,
   "curve": [{"setting": 1400000, "time_s": 0.45, "energy_j": 1.70}, {"setting": 1800000, "time_s": 0.37, "energy_j": 1.63},
             {"setting": 2200000, "time_s": 0.33, "energy_j": 1.61}, {"setting": 2600000, "time_s": 0.32, "energy_j": 1.75},
             {"setting": 3000000, "time_s": 0.317, "energy_j": 1.92}]}
 ]}
JSON
out=$build/report.html
"$ana" html "$tmp/mlp" -o "$out" --carbon-intensity 300 --dvfs "$tmp/rec.json" 2>"$tmp/html.err" ||
    fail "html: exit $?: $(cat "$tmp/html.err")"
"$ana" report "$tmp/mlp" --carbon-intensity 300 >"$tmp/report.txt" || fail "report: exit $?"
grep -qi "<script" "$out" && fail "the page has a script"
# the DVFS stage's own recommendation: curves from its fits, one chart per recommendation
"$ana" dvfs "$tmp/mlp" --candidates 1400000:3000000:400000 --format json -o "$tmp/dvfs.json" 2>"$tmp/dvfs.err" ||
    fail "dvfs: exit $?: $(cat "$tmp/dvfs.err")"
"$ana" html "$tmp/mlp" -o "$tmp/real.html" --dvfs "$tmp/dvfs.json" 2>"$tmp/real.err" || fail "html --dvfs (real): $(cat "$tmp/real.err")"
nrec=$("$py" -c 'import json,sys; print(len(json.load(open(sys.argv[1]))["recommendations"]))' "$tmp/dvfs.json")
ncharts=$(grep -o 'id=dvfs[0-9]* data-points="[1-9][0-9]*"' "$tmp/real.html" | wc -l)
[ "$nrec" -ge 1 ] && [ "$ncharts" = "$nrec" ] || fail "dvfs: $nrec recommendations, $ncharts DVFS charts with data"
grep -Eq "(src|href)=\"?(https?:)?//" "$out" && fail "the page refers to something on the network"

# a fresh profile; no network, no GPU, no sandbox (root)
flags=(--headless --no-sandbox --disable-gpu --disable-quic --no-first-run --disable-background-networking
       --disable-component-update --disable-sync --user-data-dir="$tmp/profile" --enable-logging=stderr --v=0)
timeout 90 "$chrome" "${flags[@]}" --dump-dom "file://$out" >"$tmp/dom.html" 2>"$tmp/chrome1.log" ||
    fail "chromium --dump-dom failed ($?): $(tail -5 "$tmp/chrome1.log")"
rm -f "$build/report.png"
timeout 90 "$chrome" "${flags[@]}" --user-data-dir="$tmp/profile2" --hide-scrollbars --window-size=1280,2400 \
    --screenshot="$build/report.png" "file://$out" >/dev/null 2>"$tmp/chrome2.log" ||
    fail "chromium --screenshot failed ($?): $(tail -5 "$tmp/chrome2.log")"
[ -s "$build/report.png" ] || fail "no screenshot written"
# chromium logs page console messages as "INFO:CONSOLE:<line>] "<message>", source: ..."
if grep -E "Uncaught|CONSOLE.*([Ee]rror|Failed|Refused)|Failed to load resource" "$tmp/chrome1.log" "$tmp/chrome2.log"; then
    fail "console errors while loading the page"
fi

pycheck "$tmp/dom.html" "$tmp/report.txt" "$build/report.png" <<'PY' || exit 1
import re, struct
from html.parser import HTMLParser
class P(HTMLParser):
    def __init__(s):
        super().__init__(); s.charts = {}; s.cur = []; s.text = []
    def handle_starttag(s, tag, attrs):
        a = dict(attrs)
        if tag == "svg" and "chart" in (a.get("class") or "").split():
            s.charts[a["id"]] = {"points": int(a.get("data-points", 0)), "marks": 0}
            s.cur.append(a["id"])
        elif tag == "svg":
            s.cur.append(None)
        elif s.cur and s.cur[-1] and (a.get("class") or "") in ("bar", "series", "pt", "band", "roof"):
            s.charts[s.cur[-1]]["marks"] += 1
    def handle_endtag(s, tag):
        if tag == "svg" and s.cur: s.cur.pop()
    def handle_data(s, d): s.text.append(d)
p = P()
p.feed(open(sys.argv[1]).read())
for want in ("layers", "power", "roofline", "dvfs0"):
    if want not in p.charts:
        print("chart missing:", want, "have", sorted(p.charts)); sys.exit(1)
for k, v in p.charts.items():
    if v["points"] <= 0 or v["marks"] <= 0:
        print("chart without data:", k, v); sys.exit(1)
text = " ".join(p.text)
# the headline's energy and CO2e are the text report's, digit for digit
t = open(sys.argv[2]).read()
m = re.search(r"^  ([0-9.]+ [munk]?J) (MODELLED|measured|mixed)", t, re.M)
if not m:
    print("text report: no headline energy"); sys.exit(1)
if m.group(1) not in text:
    print("the page lacks the text report's energy", m.group(1)); sys.exit(1)
c = re.search(r"([0-9.]+ [munk]?g) CO2e", t)
if not c or c.group(1) not in text:
    print("the page lacks the text report's CO2e", c and c.group(1)); sys.exit(1)
for words in ("Energy per layer", "Power over time", "Roofline", "DVFS", "Top routines", "sgemm", "fc1", "recommended"):
    if words not in text:
        print("the page lacks", repr(words)); sys.exit(1)
png = open(sys.argv[3], "rb").read(32)
w, h = struct.unpack(">II", png[16:24])
if png[:8] != b"\x89PNG\r\n\x1a\n" or w < 1000 or h < 1000:
    print("screenshot is not a full-page PNG:", w, h); sys.exit(1)
print("html: %d charts with data (%s), headline %s and %s CO2e as in the text report, screenshot %dx%d"
      % (len(p.charts), ", ".join(sorted(p.charts)), m.group(1), c.group(1), w, h))
PY
echo "screenshot: $build/report.png"
