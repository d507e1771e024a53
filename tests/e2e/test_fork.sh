#!/usr/bin/env bash
# fork: examples/blas_mix --fork makes 3 cblas_dgemm (3x3x3), forks, the
# child makes 5 (5x6x7), the parent 4 more (4x4x4).  Two trace files, one per
# process: the parent's holds exactly 3 + 4 calls, the child's exactly 5
# (nothing of the parent's copied into it).  Exit 0 pass, 1 fail.
. "$(dirname "$0")/lib/common.sh"
need "$lib" "$ana" "$build/examples/blas_mix"

plain=$("$build/examples/blas_mix" --fork | sort) || fail "blas_mix --fork failed"
traced=$(record "$tmp/f" "$build/examples/blas_mix" --fork | sort) || fail "blas_mix --fork failed under the shim"
[ "$plain" = "$traced" ] || fail "output changed under the shim: '$plain' vs '$traced'"
files=("$tmp/f"/*.gstrace)
[ "${#files[@]}" = 2 ] && [ -f "${files[0]}" ] || fail "want 2 trace files, found: $(ls "$tmp/f")"
report_json "$tmp/f" "$tmp/all.json" || fail "analyzer exit $? on the directory: $(tail -3 "$tmp/all.json.err")"
i=0
for f in "${files[@]}"; do
    report_json "$f" "$tmp/p$i.json" || fail "analyzer exit $? on $f: $(tail -3 "$tmp/p$i.json.err")"
    i=$((i + 1))
done
pycheck "$tmp/all.json" "$tmp/p0.json" "$tmp/p1.json" <<'PY' || exit 1
a = load(sys.argv[1])
eq("processes", a["processes"], 2)
eq("calls, both processes", ops(a), {("dgemm", "cblas"): 12})
got = sorted(sorted(shapes(load(p)).items()) for p in sys.argv[2:])
parent = sorted({("dgemm", "cblas", "N", "N", 3, 3, 3): 3, ("dgemm", "cblas", "N", "N", 4, 4, 4): 4}.items())
child = sorted({("dgemm", "cblas", "N", "N", 5, 6, 7): 5}.items())
eq("per-process shapes", got, sorted([parent, child]))
PY
echo "fork: parent 3+4 and child 5 calls, each in its own trace"
