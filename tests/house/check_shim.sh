#!/usr/bin/env bash
# check_shim.sh [-v] OBJDIR [OBJ...] - the shim's house rules, read from its
# objects (readelf's symbol tables: which object defines a symbol, which uses
# it).  OBJDIR is the build's shim object folder (build/obj/shim); OBJ... the
# objects of the library (`make -s shim-objects`), else every *.o under it.  A file's room
# is its folder: intercept/ (interposers), sources/ (energy, frequency and
# counter sources), anything else the core.  It fails (exit 1, one line per
# breach) when
#   - there is no intercept/ or no sources/ object (interposers and sources
#     share the core's folder);
#   - a core object has an undefined reference to a symbol that an
#     intercept/ or sources/ object defines: the core reaches the others
#     only through the module and source tables (linker sections walked by
#     lifecycle.c and sampler.c), never by name.  Symbols of default
#     visibility an interposer defines (dlsym, the wrapped libraries' names)
#     are the host's names: a core call to dlsym means the C library's and
#     goes through the interposer as any program's does; they are left out;
#   - core files call each other in a circle.
# With -v it prints the core's file graph (caller -> callee: symbols).
set -u
verbose=0
[ "${1:-}" = -v ] && { verbose=1; shift; }
dir=${1:?usage: check_shim.sh [-v] OBJDIR [OBJ...] (e.g. build/obj/shim)}
shift
[ -d "$dir" ] || { echo "check_shim: $dir: no such folder" >&2; exit 2; }
dir=${dir%/}
tmp=$(mktemp -d "${TMPDIR:-/tmp}/gs-house.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
if [ $# -gt 0 ]; then
    for o; do [ -f "$o" ] || { echo "check_shim: $o: no such object" >&2; exit 2; }; done
    objs=$(for o; do echo "${o#"$dir"/}"; done | sort)
else
    objs=$(cd "$dir" && find . -name '*.o' | sed 's|^\./||' | sort)
fi
[ -n "$objs" ] || { echo "check_shim: no objects under $dir" >&2; exit 2; }
room() { case $1 in intercept/*) echo intercept ;; sources/*) echo sources ;; *) echo core ;; esac; }
: >"$tmp/defs"; : >"$tmp/uses"
for o in $objs; do
    r=$(room "$o")
    # Num: Value Size Type Bind Vis Ndx Name
    readelf -sW "$dir/$o" | awk -v o="$o" -v r="$r" -v defs="$tmp/defs" -v uses="$tmp/uses" '
        NF >= 8 && $1 ~ /^[0-9]+:$/ && ($5 == "GLOBAL" || $5 == "WEAK") {
            if ($7 == "UND") print $8, o >> uses
            else print $8, o, r, $6 >> defs
        }'
done
sort -u "$tmp/defs" >"$tmp/defs.s"; sort -u "$tmp/uses" >"$tmp/uses.s"
# user definer room vis symbol
join "$tmp/uses.s" "$tmp/defs.s" | awk '{print $2, $3, $4, $5, $1}' | sort -u >"$tmp/edges"
bad=0
ls_room() { for o in $objs; do [ "$(room "$o")" = "$1" ] && echo "$o"; done; }
[ -n "$(ls_room intercept)" ] || { echo "FAIL no intercept/ objects: the interposers share the core's folder"; bad=1; }
[ -n "$(ls_room sources)" ] || { echo "FAIL no sources/ objects: the sources share the core's folder"; bad=1; }
while read -r user def r vis sym; do
    [ "$(room "$user")" = core ] || continue
    [ "$r" = core ] && continue
    [ "$vis" = DEFAULT ] && continue
    echo "FAIL core ${user%.o} calls ${def%.o} ($r) by name: $sym"
    bad=1
done <"$tmp/edges"
# the core's file graph, then its circles (every strongly connected set of two or more files)
awk '{print $1, $2, $5}' "$tmp/edges" | while read -r u d s; do
    [ "$(room "$u")" = core ] && [ "$(room "$d")" = core ] && [ "$u" != "$d" ] && echo "${u%.o} ${d%.o} $s"
done >"$tmp/core"
if [ $verbose = 1 ]; then
    awk '{k=$1" -> "$2; a[k]=a[k]" "$3} END {for (k in a) print k ":" a[k]}' "$tmp/core" | sort
fi
awk '{print $1, $2}' "$tmp/core" | sort -u >"$tmp/g"
python3 - "$tmp/g" >"$tmp/cycles" <<'PY'
import sys
g = {}
for line in open(sys.argv[1]):
    a, b = line.split()
    g.setdefault(a, set()).add(b); g.setdefault(b, set())
index, low, st, on, out, n = {}, {}, [], set(), [], [0]
def scc(v):
    index[v] = low[v] = n[0]; n[0] += 1; st.append(v); on.add(v)
    for w in sorted(g[v]):
        if w not in index:
            scc(w); low[v] = min(low[v], low[w])
        elif w in on:
            low[v] = min(low[v], index[w])
    if low[v] == index[v]:
        comp = []
        while True:
            w = st.pop(); on.discard(w); comp.append(w)
            if w == v: break
        if len(comp) > 1:
            out.append(sorted(comp))
sys.setrecursionlimit(10000)
for v in sorted(g):
    if v not in index: scc(v)
for c in out:
    # the edges inside the circle, for the message
    e = ["%s->%s" % (a, b) for a in c for b in sorted(g[a]) if b in c]
    print("FAIL core files in a circle: %s (%s)" % (" ".join(c), " ".join(e)))
PY
if [ -s "$tmp/cycles" ]; then cat "$tmp/cycles"; bad=1; fi
if [ $bad = 0 ]; then
    echo "ok: $(ls_room core | wc -l) core, $(ls_room intercept | wc -l) intercept, $(ls_room sources | wc -l) sources objects; the core names no interposer or source; no circle among core files"
fi
exit $bad
