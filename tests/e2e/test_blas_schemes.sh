#!/usr/bin/env bash
# Every BLAS naming scheme and integer width, through stand-in libraries
# that export them the way the real ones do (tests/e2e/src/blas_standin.c:
# no plain cblas_dgemm on the way), and Debian's ILP64 OpenBLAS under plain
# names: counts and shapes exact, the width and scheme in each call's flags,
# and the program's results bit for bit the same with and without the shim
# (negative increments, a stride that needs 64 bits).
source "$(dirname "$0")/lib/common.sh"
need "$lib" "$ana"
src=$root/tests/e2e/src
iter=7

# name  PRE  SUF  INT  CONFIG(openblas_get_config, or -)  width  scheme
variants="plain32|||int|OpenBLAS 0.3 stand-in|32|0
plain64|||int64_t|OpenBLAS 0.3 stand-in USE64BITINT|64|0
suffix64||64_|int64_t|-|64|1
scipy32|scipy_||int|-|32|2
scipy64|scipy_|64_|int64_t|-|64|3"

check() {   # name width scheme dir
    "$ana" report "$4" --format json >"$tmp/$1.json" 2>"$tmp/$1.err" || { cat "$tmp/$1.err"; fail "$1: analyzer failed"; }
    "$ana" dump "$4"/*.gstrace >"$tmp/$1.dump" 2>&1 || fail "$1: dump failed"
    pycheck "$tmp/$1.json" "$tmp/$1.dump" "$2" "$3" "$iter" "$1" <<'PY'
r = load(sys.argv[1]); width = int(sys.argv[3]); scheme = int(sys.argv[4]); it = int(sys.argv[5]); name = sys.argv[6]
o = ops(r)
want = {("dgemm", "cblas"): 2 * it, ("dgemm", "fortran"): it, ("dgemv", "cblas"): 2 * it, ("dgemv", "fortran"): it}
assert o == want, (name, o)
sh = sorted((k[0], k[4], k[5], k[6], v) for k, v in shapes(r).items())
want_sh = sorted([("dgemm", 3, 4, 5, it), ("dgemm", 4, 2, 3, it), ("dgemm", 5, 3, 2, it),
                  ("dgemv", 3, 4, 0, it), ("dgemv", 2, 1, 0, it), ("dgemv", 4, 3, 0, it)])
assert sh == want_sh, (name, sh)
calls = [l for l in open(sys.argv[2]) if " CALL " in l]
assert len(calls) == 6 * it, (name, len(calls))
wide = 0
for l in calls:
    f = int(l.rsplit("flags=", 1)[1].split()[0], 16)
    assert bool(f & 0x400) == (width == 64), (name, "ILP64 bit", l)
    assert (f >> 12) & 3 == scheme, (name, "scheme", l)
    wide += bool(f & 0x800)
# the 64-bit stride saturates its 32-bit field and says so; 2^31-1 fits
assert wide == (it if width == 64 else 0), (name, "wide", wide)
print(f"{name}: {sum(o.values())} calls, shapes exact, width {width}, scheme {scheme}")
PY
}

echo "$variants" | while IFS='|' read -r name pre suf int config width scheme; do
    defs=(-DPRE="$pre" -DSUF="$suf" -DINT="$int")
    cfg=()
    [ "$config" != - ] && cfg=(-DCONFIG="\"$config\"")
    gcc -O1 -shared -fPIC "${defs[@]}" "${cfg[@]}" "$src/blas_standin.c" -o "$tmp/libstandin_$name.so" || fail "$name: build lib"
    gcc -O1 "${defs[@]}" "$src/blas_schemes.c" -o "$tmp/prog_$name" -L"$tmp" -lstandin_$name \
        -Wl,-rpath,"$tmp" || fail "$name: build program"
    plain=$("$tmp/prog_$name" $iter) || fail "$name: program failed"
    traced=$(record "$tmp/run_$name" "$tmp/prog_$name" $iter) || fail "$name: program failed under the shim"
    [ "$plain" = "$traced" ] || fail "$name: results changed under the shim"
    check "$name" "$width" "$scheme" "$tmp/run_$name" || exit 1
done || exit 1

# Debian's ILP64 OpenBLAS: plain names, 64-bit integers (openblas_get_config: USE64BITINT)
ob64=/usr/lib/x86_64-linux-gnu/openblas64-pthread
if [ -e "$ob64/libopenblas64.so.0" ]; then
    gcc -O1 -DPRE= -DSUF= -DINT=int64_t "$src/blas_schemes.c" -o "$tmp/prog_ob64" \
        "$ob64/libopenblas64.so.0" -Wl,-rpath,"$ob64" || fail "openblas64: build"
    plain=$(OPENBLAS_NUM_THREADS=1 "$tmp/prog_ob64" $iter) || fail "openblas64: program failed"
    traced=$(OPENBLAS_NUM_THREADS=1 record "$tmp/run_ob64" "$tmp/prog_ob64" $iter) || fail "openblas64: failed under the shim"
    [ "$plain" = "$traced" ] || { diff <(echo "$plain") <(echo "$traced") | head; fail "openblas64: results changed under the shim"; }
    check openblas64 64 0 "$tmp/run_ob64" || exit 1
    grep -a -q "blas.lib.0: .*libopenblas64.*ILP64 (openblas_get_config: USE64BITINT)" "$tmp"/run_ob64/*.gstrace \
        || fail "openblas64: the header does not name the library and its width"
    echo "Debian libopenblas64 (ILP64, plain names): results bit-identical"
else
    echo "note: $ob64/libopenblas64.so.0 absent (libopenblas64-0-pthread): that part not run"
    exit 1
fi

# A process that loads a BLAS but makes no call we intercept says so, once;
# one that loads none says nothing.
cat >"$tmp/loadonly.c" <<'C'
#include <dlfcn.h>
#include <stdio.h>
int main(int argc, char **argv)
{
    if (argc > 1 && !dlopen(argv[1], RTLD_NOW | RTLD_LOCAL)) { fprintf(stderr, "%s\n", dlerror()); return 1; }
    return 0;
}
C
gcc -O1 "$tmp/loadonly.c" -o "$tmp/loadonly" -ldl || fail "build loadonly"
GREENSHIM_QUIET=0 record "$tmp/run_lo" "$tmp/loadonly" libopenblas.so.0 2>"$tmp/lo.err" || fail "loadonly failed"
grep -q "libopenblas.so.0 was loaded (OpenBLAS) but this process made no BLAS or oneDNN call" "$tmp/lo.err" \
    || { cat "$tmp/lo.err"; fail "no line for a BLAS that was loaded and never called"; }
[ "$(grep -c 'was loaded' "$tmp/lo.err")" = 1 ] || fail "the line is not said once"
GREENSHIM_QUIET=0 record "$tmp/run_none" "$tmp/loadonly" 2>"$tmp/none.err" || fail "loadonly (nothing) failed"
! grep -q "was loaded" "$tmp/none.err" || { cat "$tmp/none.err"; fail "a process with no BLAS said one was loaded"; }
echo "loaded-but-unused BLAS: one line; no BLAS: silent"
