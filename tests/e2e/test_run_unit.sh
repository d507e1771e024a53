#!/usr/bin/env bash
# A run is one unit (issue 6 item 4), through the front end:
#  - a shell running 20 helper processes and one BLAS worker: at most 3
#    greenshim: lines (machine warnings once per run + one summary), one
#    trace file (helpers that make no intercepted call leave nothing), the
#    summary names the directory, 1 process, 150 calls; -q: no line at all;
#  - three concurrent workers: every warning once, not once per process;
#  - every process of a run has the same run.id; the shell is the leader,
#    the workers members; a command run directly is the leader itself;
#  - a process that execs leaves a clean END for the image it replaced, and
#    the new image gets a file of its own;
#  - a fork child's header has the energy domains and the live events;
#  - a run with no intercepted call says so plainly and leaves no directory.
# Exit 0 pass, 1 fail.
. "$(dirname "$0")/lib/common.sh"
need "$lib" "$ana" "$build/greenshim" "$build/examples/blas_mix" "$build/bench/tiny_gemm"
unset GREENSHIM_QUIET
gs=$build/greenshim
mix=$build/examples/blas_mix
hdr() { "$ana" info "$1" | sed -n "s/^$2: //p" | head -1; }

# 1. 20 helpers + 1 worker
"$gs" record -o "$tmp/h" -- sh -c 'for i in $(seq 20); do echo x | sed s/x/y/ >/dev/null; done; "$1" >/dev/null' sh "$mix" \
    2>"$tmp/h.err" || fail "20-helper run failed: $(cat "$tmp/h.err")"
n=$(grep -c '^greenshim:' "$tmp/h.err")
echo "20 helpers + 1 worker: $n greenshim: lines"
sed 's/^/    /' "$tmp/h.err"
[ "$n" -le 3 ] || fail "want at most 3 greenshim: lines, got $n"
[ "$(grep -c '^greenshim: traces in ' "$tmp/h.err")" = 1 ] || fail "want one summary line"
grep "^greenshim: traces in $tmp/h: 1 process, 150 calls, energy " "$tmp/h.err" >/dev/null ||
    fail "summary does not say directory, 1 process, 150 calls, energy: $(grep traces "$tmp/h.err")"
files=("$tmp/h"/*.gstrace)
[ "${#files[@]}" = 1 ] || fail "want one trace file (the worker's), got ${#files[@]}: $(ls -a "$tmp/h")"
[ "$(hdr "${files[0]}" run.role)" = member ] || fail "the worker is not a member of the shell's run"
"$gs" record -q -o "$tmp/hq" -- sh -c 'for i in $(seq 20); do true | cat; done; "$1" >/dev/null' sh "$mix" \
    2>"$tmp/hq.err" || fail "quiet run failed"
[ ! -s "$tmp/hq.err" ] || fail "-q: stderr not empty: $(cat "$tmp/hq.err")"

# 2. three concurrent workers: warnings once per run
"$gs" record -o "$tmp/w" -- sh -c '"$1" >/dev/null & "$1" >/dev/null & "$1" >/dev/null; wait' sh "$mix" \
    2>"$tmp/w.err" || fail "3-worker run failed"
dups=$(sort "$tmp/w.err" | uniq -d)
[ -z "$dups" ] || fail "repeated lines in one run: $dups"
[ "$(grep -c '^greenshim:' "$tmp/w.err")" -le 3 ] || fail "3 workers: too many lines: $(cat "$tmp/w.err")"
grep -q "^greenshim: traces in $tmp/w: 3 processes, 450 calls" "$tmp/w.err" || fail "3 workers: summary: $(cat "$tmp/w.err")"
ids=$(for f in "$tmp/w"/*.gstrace; do hdr "$f" run.id; done | sort -u)
[ "$(ls "$tmp/w"/*.gstrace | wc -l)" = 3 ] || fail "want 3 trace files"
[ "$(echo "$ids" | wc -l)" = 1 ] && [ -n "$ids" ] || fail "processes of one run have different run ids: $ids"
"$gs" record -q -o "$tmp/d" -- "$mix" >/dev/null || fail "direct run failed"
[ "$(hdr "$(ls "$tmp/d"/*.gstrace)" run.role)" = leader ] || fail "a command run directly is not the leader"
[ "$(hdr "$(ls "$tmp/d"/*.gstrace)" run.id)" != "$ids" ] || fail "two runs share a run id"

# 3. exec: the replaced image ends cleanly, the new one has its own file
"$gs" record -q -o "$tmp/x" -- sh -c '"$1" >/dev/null; exec "$1" >/dev/null' sh "$mix" || fail "exec run failed"
files=("$tmp/x"/*.gstrace)
[ "${#files[@]}" = 2 ] || fail "exec: want 2 files (the worker, the shell's pid exec'd into a worker), got: $(ls "$tmp/x")"
for f in "${files[@]}"; do
    [ "$(hdr "$f" clean_exit)" = yes ] || fail "exec: $f did not end cleanly"
    [ "$(hdr "$f" calls)" = 150 ] || fail "exec: $f has $(hdr "$f" calls) calls, want 150"
done
# python calls BLAS then execs: the first image's file has its END
if "$py" -c 'import numpy' 2>/dev/null; then
    "$gs" record -q -o "$tmp/px" -- "$py" -c 'import numpy as np, os, sys
a = np.ones((64, 64)); b = a @ a; c = a @ b
os.execv(sys.argv[1], [sys.argv[1]])' "$mix" >/dev/null || fail "python exec run failed"
    first=$(ls "$tmp/px"/*.gstrace | grep -v '\.1\.gstrace$')
    [ -f "$first" ] && [ "$(hdr "$first" clean_exit)" = yes ] || fail "python image replaced by exec: no clean END ($first)"
    [ "$(hdr "$first" calls)" -ge 2 ] || fail "python image: want its 2 matmuls, got $(hdr "$first" calls)"
    ls "$tmp/px"/*.1.gstrace >/dev/null 2>&1 || fail "the exec'd image has no file of its own: $(ls "$tmp/px")"
fi

# 4. fork child: energy domains and live events in its header
"$gs" record -q -o "$tmp/f" -- "$mix" --fork >/dev/null || fail "fork run failed"
for f in "$tmp/f"/*.gstrace; do
    "$ana" info "$f" | grep -q '^domain\.0: .*scope=' || fail "$f: no energy domain in the header"
    ev=$(hdr "$f" events.live)
    [ -n "$ev" ] || fail "$f: no events.live line"
done
roles=$(for f in "$tmp/f"/*.gstrace; do hdr "$f" run.role; done | sort | tr '\n' ' ')
[ "$roles" = "leader member " ] || fail "fork: roles '$roles', want a leader and a member"

# 5. no intercepted call: said plainly, nothing on disk
"$gs" record -o "$tmp/none" -- sh -c 'true; ls / >/dev/null' 2>"$tmp/none.err" || fail "no-call run failed"
[ "$(grep -c '^greenshim:' "$tmp/none.err")" = 1 ] && grep -q "no intercepted call" "$tmp/none.err" ||
    fail "no-call run: want one 'no intercepted call' line, got: $(cat "$tmp/none.err")"
[ ! -e "$tmp/none" ] || fail "no-call run made $tmp/none: $(ls -a "$tmp/none")"
# 6. lost calls are in the summary
GREENSHIM_MAX_MB=1 "$gs" record -o "$tmp/cap" -- "$build/bench/tiny_gemm" 200000 1 >/dev/null 2>"$tmp/cap.err" ||
    fail "capped run failed"
grep -Eq "^greenshim: traces in $tmp/cap: 1 process, 200000 calls \([1-9][0-9]* of them not recorded\)" "$tmp/cap.err" ||
    fail "capped run: the summary does not count the calls not recorded: $(cat "$tmp/cap.err")"
# 7. a planted .greenshim-run symlink is not followed
mkdir -p "$tmp/pl" "$tmp/elsewhere"
ln -s "$tmp/elsewhere" "$tmp/pl/.greenshim-run"
"$gs" record --append -o "$tmp/pl" -- "$mix" >/dev/null 2>"$tmp/pl.err" || fail "planted-symlink run failed"
[ -z "$(ls -A "$tmp/elsewhere")" ] || fail "wrote through the planted symlink: $(ls -A "$tmp/elsewhere")"
grep -q "is not a directory of ours" "$tmp/pl.err" || fail "planted symlink: not said: $(cat "$tmp/pl.err")"
ls "$tmp/pl"/*.gstrace >/dev/null 2>&1 || fail "planted symlink: the trace itself was not written"
echo "run unit: one summary, warnings once, run ids shared, exec and fork clean"
