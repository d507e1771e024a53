#!/usr/bin/env bash
# check_layers.sh - the analyzer's house rule, read from its objects: which
# file calls which (a symbol one object leaves undefined and another defines,
# from `nm`), each file's step from its folder
#     util/ = 0   read/ = 1   stages/ = 2   report/ = 3   render/ = 4
#     cmd/ and main.c = 5
# (util/ is what every file may call: allocation, messages, hash maps,
# number formatting; a file directly in analyzer/ other than main.c has no
# step: an error), and
# fails on any reference from a lower step up into a higher one and on any
# circle between files (a file reaching itself through others).
#
#   tests/house/check_layers.sh [OBJDIR]     (default build/obj/analyzer)
#   tests/house/check_layers.sh --edges [OBJDIR]   print file -> file edges
# Exit 0 clean, 1 violations (one line each), 2 usage/no objects.
set -u
root=$(cd "$(dirname "$0")/../.." && pwd)
edges_only=0
if [ "${1:-}" = "--edges" ]; then edges_only=1; shift; fi
obj=${1:-$root/build/obj/analyzer}
[ -d "$obj" ] || { echo "check_layers: no object folder $obj (make all first)" >&2; exit 2; }
command -v nm >/dev/null || { echo "check_layers: nm not found (binutils)" >&2; exit 2; }
list=$(cd "$obj" && find . -name '*.o' | sed 's|^\./||' | sort)
[ -n "$list" ] || { echo "check_layers: no objects under $obj" >&2; exit 2; }
tmp=$(mktemp -d "${TMPDIR:-/tmp}/gs-house.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
for o in $list; do
    f=${o%.o}.c
    nm "$obj/$o" | awk -v f="$f" '
        $1 == "U" { print "U", $2, f; next }
        NF == 3 && $2 ~ /^[TDBRGSVW]$/ { print "D", $3, f }'
done >"$tmp/syms"
awk -v edges_only="$edges_only" '
function step(f) {
    if (f == "main.c") return 5
    if (f ~ /^cmd\//) return 5
    if (f ~ /^render\//) return 4
    if (f ~ /^report\//) return 3
    if (f ~ /^stages\//) return 2
    if (f ~ /^read\//) return 1
    if (f ~ /^util\//) return 0
    return -1
}
$1 == "D" { def[$2] = $3; files[$3] = 1; next }
$1 == "U" { use[++n] = $2; user[n] = $3; files[$3] = 1 }
END {
    for (i = 1; i <= n; i++) {
        s = use[i]; if (!(s in def)) continue
        a = user[i]; b = def[s]; if (a == b) continue
        k = a SUBSEP b
        if (!(k in via)) { via[k] = s; out[a] = out[a] " " b }
        else if (index(" " via[k] ",", " " s ",") == 0 && length(via[k]) < 120) via[k] = via[k] "," s
    }
    if (edges_only == 1) {
        for (k in via) { split(k, p, SUBSEP); print p[1] " -> " p[2] "  (" via[k] ")" }
        exit 0
    }
    bad = 0
    for (f in files) if (step(f) < 0) { print "no step: " f " (not under util/ read/ stages/ report/ render/ cmd/)"; bad++ }
    for (k in via) {
        split(k, p, SUBSEP)
        if (step(p[1]) >= 0 && step(p[2]) >= 0 && step(p[1]) < step(p[2])) {
            print "up: " p[1] " (step " step(p[1]) ") calls " p[2] " (step " step(p[2]) "): " via[k]; bad++
        }
    }
    # circles: strongly connected components (Tarjan), each of more than one file
    idx = 0
    for (f in files) if (!(f in num)) scc(f)
    for (c = 1; c <= ncomp; c++) if (csize[c] > 1) { print "circle:" comp[c]; bad++ }
    printf "check_layers: %d files, %d violations\n", length(files), bad > "/dev/stderr"
    exit bad ? 1 : 0
}
function scc(v,   w, m, i, list) {
    num[v] = low[v] = ++idx; stack[++sp] = v; on[v] = 1
    m = split(out[v], list, " ")
    for (i = 1; i <= m; i++) {
        w = list[i]
        if (!(w in num)) { scc(w); if (low[w] < low[v]) low[v] = low[w] }
        else if (on[w] && num[w] < low[v]) low[v] = num[w]
    }
    if (low[v] == num[v]) {
        ncomp++
        do { w = stack[sp--]; on[w] = 0; comp[ncomp] = comp[ncomp] " " w; csize[ncomp]++ } while (w != v)
    }
}' "$tmp/syms" | sort
exit "${PIPESTATUS[0]}"
