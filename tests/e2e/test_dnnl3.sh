#!/usr/bin/env bash
# oneDNN 3.x (PyTorch 2.x): opaque memory descriptors and renumbered
# primitive kinds, through a stand-in library built here that answers the
# way oneDNN 3 does (tests/e2e/src/dnnl3_standin.c; Debian 12 ships 2.x):
# the kinds (convolution, pooling, softmax - 3.x's 16 and 19, which 2.x's
# numbers would call binary and resampling), propagation and dims exact.
. "$(dirname "$0")/lib/common.sh"
need "$lib" "$ana"
src=$root/tests/e2e/src
gcc -O1 -shared -fPIC -Wl,-soname,libdnnl.so.3 "$src/dnnl3_standin.c" -o "$tmp/libdnnl.so.3" || fail "build stand-in"
gcc -O1 "$src/dnnl3_prog.c" -o "$tmp/prog" "$tmp/libdnnl.so.3" -Wl,-rpath,"$tmp" || fail "build program"
plain=$("$tmp/prog") || fail "program failed"
traced=$(record "$tmp/run" "$tmp/prog") || fail "program failed under the shim"
[ "$plain" = "$traced" ] && [ "$plain" = "executed, status 0" ] || fail "output: '$plain' / '$traced'"
"$ana" dump "$tmp/run"/*.gstrace >"$tmp/dump" || fail "dump failed"
pycheck "$tmp/dump" <<'PY' || exit 1
prims, execs = {}, {}
for line in open(sys.argv[1]):
    if " DNNL prim=" in line:
        kv = dict(w.split("=", 1) for w in line.split() if "=" in w)
        prims[kv["prim"]] = (kv["kind"], kv["prop"], kv["src"], kv["wei"], kv["dst"])
    elif " DNNL exec " in line:
        kv = dict(w.split("=", 1) for w in line.split() if "=" in w)
        execs[kv["prim"]] = execs.get(kv["prim"], 0) + 1
got = sorted((prims[p], n) for p, n in execs.items())
eq("oneDNN 3 primitives (kind, prop, src, wei, dst) and executions", got, sorted([
    (("conv", "1", "8x3x32x32", "16x3x3x3", "8x16x30x30"), 3),
    (("pool", "1", "8x16x30x30", "", "8x16x15x15"), 2),
    (("softmax", "2", "8x10", "", "8x10"), 1)]))
print("oneDNN 3.x: convolution, pooling, softmax with their dims")
PY
