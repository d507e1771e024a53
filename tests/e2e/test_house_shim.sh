#!/usr/bin/env bash
# The shim's house (issue 15, docs/recorder.md): interposers in
# shim/intercept/, sources in shim/sources/, and a core that names neither
# (only the module and source tables reach them) and has no circle between
# its files: tests/house/check_shim.sh reads it from the library's objects.
# First the checker itself is shown to fail on small objects that break
# each rule.  Exit 0 pass, 1 fail.
. "$(dirname "$0")/lib/common.sh"
need "$lib"
check=$root/tests/house/check_shim.sh
cc=${CC:-cc}
mk() {   # file.c text -> file.o (hidden visibility, as the shim is built)
    mkdir -p "$(dirname "$1")"
    printf '%s\n' "$2" >"$1"
    "$cc" -fvisibility=hidden -c "$1" -o "${1%.c}.o" || fail "cannot compile $1"
}
# 1. a core file that calls an interposer by name
d=$tmp/named
mk "$d/intercept/blas.c" 'int gs_blas_thing(void) { return 1; }'
mk "$d/sources/rapl.c" 'int gs_rapl_thing(void) { return 2; }'
mk "$d/lifecycle.c" 'int gs_blas_thing(void); int gs_life(void) { return gs_blas_thing(); }'
out=$("$check" "$d" 2>&1) && fail "checker passed a core file calling intercept/ by name: $out"
echo "$out" | grep -q "core lifecycle calls intercept/blas (intercept) by name: gs_blas_thing" ||
    fail "checker did not name the call: $out"
# 2. a circle between core files (and no breach otherwise)
d=$tmp/circle
mk "$d/intercept/blas.c" 'int gs_blas_thing(void) { return 1; }'
mk "$d/sources/rapl.c" 'int gs_rapl_thing(void) { return 2; }'
mk "$d/log.c" 'int gs_setting(void); int gs_log(void) { return gs_setting(); }'
mk "$d/settings.c" 'int gs_log(void); int gs_setting(void) { return 0; } int gs_load(void) { return gs_log(); }'
out=$("$check" "$d" 2>&1) && fail "checker passed a circle log <-> settings: $out"
echo "$out" | grep -q "circle: log settings" || fail "checker did not name the circle: $out"
echo "$out" | grep -q "by name" && fail "checker saw a call by name where there is none: $out"
# 3. a flat folder (interposers among the core) fails
d=$tmp/flat
mk "$d/blas.c" 'int gs_blas_thing(void) { return 1; }'
mk "$d/lifecycle.c" 'int gs_life(void) { return 0; }'
out=$("$check" "$d" 2>&1) && fail "checker passed a folder without intercept/: $out"
echo "$out" | grep -q "no intercept/ objects" || fail "checker did not say the interposers share the core's folder: $out"
# 4. the library as built
objs=$(make -s -C "$root" shim-objects BUILD="$build") || fail "make shim-objects failed"
[ -n "$objs" ] || fail "make shim-objects printed nothing"
set -- $objs
out=$(cd "$root" && "$check" "$build/obj/shim" "$@" 2>&1) || fail "the shim breaks its house rules:
$out"
echo "$out"
echo "PASS"
