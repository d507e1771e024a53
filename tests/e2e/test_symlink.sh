#!/usr/bin/env bash
# The default trace directory is always new and never reached through a
# symlink: a symlink planted under the name the recorder will pick (the name
# is predictable: time and pid) and a directory already holding that name
# are both left alone.  Also: GREENSHIM_OUT longer than PATH_MAX is refused
# with one message and the program runs untouched; a RANK with slashes and
# dots never leaves the trace directory.
. "$(dirname "$0")/lib/common.sh"
need "$lib" "$ana" "$build/bench/tiny_gemm"
mkdir -p "$tmp/w" "$tmp/target"
cd "$tmp/w"
# plant a symlink for this second and the next few, for the pid exec keeps
GS_TARGET="$tmp/target" bash -c '
    for d in 0 1 2 3; do
        ln -s "$GS_TARGET" "greenshim-$(date -d "+$d sec" +%Y%m%d-%H%M%S)-$$"
    done
    exec env LD_PRELOAD='"$lib"' '"$build"'/bench/tiny_gemm 200 1' >/dev/null ||
    fail "tiny_gemm failed under the shim"
[ -z "$(ls -A "$tmp/target")" ] || fail "the recorder wrote through the planted symlink: $(ls "$tmp/target")"
made=$(find "$tmp/w" -maxdepth 1 -name 'greenshim-*' -type d ! -type l) || true
[ -n "$made" ] || fail "no new trace directory next to the planted symlinks: $(ls -l "$tmp/w")"
n=$(ls "$made"/*.gstrace 2>/dev/null | wc -l)
[ "$n" -ge 1 ] || fail "no trace in $made"
[ "$(stat -c %u "$made")" = "$(id -u)" ] || fail "directory $made not owned by the user"

# a directory that exists already under the chosen name is not reused
rm -rf "$tmp/w"/*
LD_PRELOAD= bash -c '
    for d in 0 1 2 3; do n="greenshim-$(date -d "+$d sec" +%Y%m%d-%H%M%S)-$$"; mkdir -p "$n"; touch "$n/old"; done
    exec env LD_PRELOAD='"$lib"' '"$build"'/bench/tiny_gemm 200 1' >/dev/null || fail "tiny_gemm failed under the shim"
for d in "$tmp"/w/greenshim-*; do
    if [ -e "$d/old" ]; then
        [ -z "$(ls "$d" | grep -v '^old$')" ] || fail "the recorder reused the existing directory $d"
    fi
done
[ "$(ls "$tmp"/w/greenshim-*/*.gstrace 2>/dev/null | wc -l)" = 1 ] || fail "want one trace in a new directory: $(ls -R "$tmp/w")"

# GREENSHIM_OUT over PATH_MAX: refused with one line, the program unharmed
long=$tmp/$(head -c 5000 /dev/zero | tr '\0' 'x')
out=$(GREENSHIM_QUIET=0 GREENSHIM_OUT=$long LD_PRELOAD="$lib" GREENSHIM_EVENTS=none "$build/bench/tiny_gemm" 100 1 2>"$tmp/long.err") ||
    fail "tiny_gemm failed with a long GREENSHIM_OUT"
[ "$(grep -c 'GREENSHIM_OUT' "$tmp/long.err")" = 1 ] || fail "want one line naming GREENSHIM_OUT: $(cat "$tmp/long.err")"
[ ! -e "$tmp/xxxxxxxx" ] && [ -z "$(ls -d "$tmp"/xxx* 2>/dev/null)" ] || fail "a directory was made from the too-long path"

# RANK from the environment is made safe for a file name
mkdir -p "$tmp/rk"
RANK="../../escape/x" record "$tmp/rk/t" "$build/bench/tiny_gemm" 100 1 >/dev/null || fail "tiny_gemm failed with RANK"
[ ! -e "$tmp/escape" ] && [ ! -e "$tmp/rk/escape" ] || fail "RANK made the trace leave its directory"
ls "$tmp"/rk/t/*.gstrace >/dev/null 2>&1 || fail "no trace in the directory with RANK=../../escape/x: $(ls -R "$tmp/rk")"
echo "planted symlink and existing directory left alone; long GREENSHIM_OUT refused in one line; RANK sanitised"
