#!/usr/bin/env bash
# A BLAS reached through a library loaded RTLD_LOCAL after start-up (the
# Python extension case): calls are recorded, results unchanged.
set -u
root=$(cd "$(dirname "$0")/../.." && pwd)
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
gcc -shared -fPIC -O2 "$root/tests/e2e/src/rtld_caller.c" -o "$tmp/libcaller.so" -lopenblas || exit 1
gcc -O2 "$root/tests/e2e/src/rtld_main.c" -o "$tmp/main" -ldl || exit 1
plain=$("$tmp/main" "$tmp/libcaller.so" 7) || exit 1
traced=$(LD_PRELOAD="$root/build/libgreenshim.so" GREENSHIM_OUT="$tmp/out" GREENSHIM_QUIET=1 "$tmp/main" "$tmp/libcaller.so" 7) || exit 1
[ "$plain" = "$traced" ] || { echo "result changed under the shim: '$plain' vs '$traced'"; exit 1; }
"$root/build/greenshim-analyze" report "$tmp/out" --format json >"$tmp/r.json" || { echo "analyzer failed"; exit 1; }
/usr/bin/python3 - "$tmp/r.json" <<'PY' || exit 1
import json, sys
r = json.load(open(sys.argv[1]))
ops = {(o["op"], o["api"]): o["calls"] for o in r["ops"]}
assert ops == {("dgemm", "cblas"): 7}, ops
sh = [s for s in r["shapes"] if s["op"] == "dgemm"]
assert len(sh) == 1 and (sh[0]["m"], sh[0]["n"], sh[0]["k"]) == (2, 2, 2), sh
assert sh[0]["flops"] == 7 * 2 * 2 * 2 * 2, sh
PY
echo "7 dgemm calls through an RTLD_LOCAL library recorded, result unchanged"
