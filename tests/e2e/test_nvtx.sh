#!/usr/bin/env bash
# nvtx: a header-only NVTX3 program around CPU BLAS work.  The shim is the
# NVTX injection library (NVTX_INJECTION64_PATH set by the shim itself):
# push/pop (ASCII and wide), a domain range with a registered string and a
# start/end range become regions (12 calls each: 4 steps x 3 products of
# one linear layer) and name the layers.
. "$(dirname "$0")/lib/common.sh"
[ -f /usr/local/cuda/include/nvtx3/nvToolsExt.h ] || skip "no NVTX3 headers in /usr/local/cuda"
need "$lib" "$ana" "$build/gpu/gpu_nvtx"

plain=$("$build/gpu/gpu_nvtx") || fail "gpu_nvtx failed untraced"
traced=$(record "$tmp/t" "$build/gpu/gpu_nvtx") || fail "gpu_nvtx failed under the shim"
[ "$plain" = "$traced" ] || fail "output changed under the shim"
report_json "$tmp/t" "$tmp/r.json" || fail "analyzer exit $?: $(tail -3 "$tmp/r.json.err")"
"$ana" dump "$tmp/t"/*.gstrace >"$tmp/dump" || fail "dump failed"
pycheck "$tmp/r.json" "$tmp/dump" <<'PY' || exit 1
r = load(sys.argv[1])
eq("layers from", r["layers_from"], "regions")
got = {g["name"]: g["calls"] for g in r["regions"] if g["calls"]}
eq("regions (one per NVTX form)", got, {"encoder/attn": 12, "decoder": 12, "head": 12, "tail": 12})
# the layers stage names a layer after the region that owns it (its base name first)
lay = {l["name"]: l["calls"] for l in r["layers"] if l["calls"]}
for base in ("attn", "decoder", "head", "tail"):
    named = [n for n in lay if n.split()[0] == base]
    eq("layer named by the '%s' range" % base, [lay[n] for n in named], [12])
eq("marks", open(sys.argv[2]).read().count("NVTX_MARK text=step"), 4)
PY
# a tool's own injection library wins: with NVTX_INJECTION64_PATH set to
# something else the shim must not take over (no regions at all)
NVTX_INJECTION64_PATH=/nonexistent/libtool.so record "$tmp/o" "$build/gpu/gpu_nvtx" >/dev/null ||
    fail "gpu_nvtx failed with another injection path"
report_json "$tmp/o" "$tmp/o.json" || fail "analyzer exit $?"
pycheck "$tmp/o.json" <<'PY' || exit 1
r = load(sys.argv[1])
eq("no regions when another tool owns NVTX", [g["name"] for g in r["regions"] if g["calls"]], [])
PY
echo "nvtx: ranges named the layers through injection"
