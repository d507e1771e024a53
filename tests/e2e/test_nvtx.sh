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
# each range holds one detected layer: a row of its own, named by the range's
# path and then by the layer detection found in it, its name from NVTX
lay = {l["name"]: l["calls"] for l in r["layers"] if l["calls"]}
src = {l["name"]: l["source"] for l in r["layers"] if l["calls"]}
for path, want in (("encoder/attn", "linear 64\u2192128"), ("decoder", "linear 128\u219296"),
                   ("head", "linear 96\u219232"), ("tail", "linear 32\u219216")):
    name = path + " " + want
    eq("layer named by the '%s' range" % path, lay.get(name), 12)
    eq("source of '%s'" % name, src.get(name), "nvtx")
eq("layer rows with calls", len(lay), 4)
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
