#!/usr/bin/env bash
# numpy under the recorder: examples/numpy_matmul.py makes 10 float64
# (64x32 @ 32x16) and 7 float32 (48x24 @ 24x40) products, which reach
# cblas_dgemm / cblas_sgemm (row major, no transposes) exactly that often;
# the result is the same with and without the recorder.
# Exit 0 pass, 1 fail, 77 skip (numpy missing).
. "$(dirname "$0")/lib/common.sh"
need "$lib" "$ana"
"$py" -c 'import numpy' 2>/dev/null || skip "numpy is not installed for $py (apt-get install python3-numpy)"

plain=$("$py" examples/numpy_matmul.py --d 10 --s 7) || fail "numpy_matmul.py failed"
traced=$(record "$tmp/np" "$py" examples/numpy_matmul.py --d 10 --s 7) || fail "numpy_matmul.py failed under the shim"
[ "$plain" = "$traced" ] || fail "result changed under the shim: '$plain' vs '$traced'"
report_json "$tmp/np" "$tmp/np.json" || fail "analyzer exit $?: $(tail -3 "$tmp/np.json.err")"
pycheck "$tmp/np.json" <<'PY' || exit 1
r = load(sys.argv[1])
eq("calls per (op, api)", ops(r), {("dgemm", "cblas"): 10, ("sgemm", "cblas"): 7})
eq("shapes", shapes(r), {("dgemm", "cblas", "N", "N", 64, 16, 32): 10,
                         ("sgemm", "cblas", "N", "N", 48, 40, 24): 7})
fl = {(o["op"], o["api"]): o["flops"] for o in r["ops"]}
eq("dgemm flops", fl[("dgemm", "cblas")], 10 * 2 * 64 * 16 * 32)
eq("sgemm flops", fl[("sgemm", "cblas")], 7 * 2 * 48 * 40 * 24)
PY
echo "numpy: 10 cblas_dgemm 64x16x32 and 7 cblas_sgemm 48x40x24 counted exactly, result unchanged"
