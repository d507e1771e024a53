#!/usr/bin/env bash
# The one settings table (shim/settings.c): docs/settings.md names the same
# variables with the same defaults; no other recorder file reads a
# GREENSHIM_* variable; a value that makes no sense gets exactly one line per run
# naming the setting and the value, and the default is used (issue 11 item 4).
# Exit 0 pass, 1 fail.
. "$(dirname "$0")/lib/common.sh"
need "$lib" "$ana" "$build/examples/blas_mix" "$build/greenshim"
unset GREENSHIM_QUIET

# 1. the table and its documentation agree, row by row
"$py" - "$root/shim/settings.c" "$root/docs/settings.md" <<'PY' || exit 1
import re, sys
src, doc = open(sys.argv[1]).read(), open(sys.argv[2]).read()
rows = re.findall(r'\{ "(GREENSHIM[A-Z_]*)", T_[A-Z]+, "([^"]*)"', src)
docs = dict(re.findall(r'^\| `(GREENSHIM[A-Z_]*)` \| [a-z]+ \| ([^|]*) \|', doc, re.M))
bad = []
if len(rows) < 10: bad.append("only %d rows found in settings.c" % len(rows))
for name, default in rows:
    if name not in docs: bad.append("%s not in docs/settings.md" % name); continue
    want = "`%s`" % default if default else "(none)"
    if docs[name].strip() != want: bad.append("%s: docs say %s, table %s" % (name, docs[name].strip(), want))
for name in docs:
    if name not in dict(rows): bad.append("%s documented but not in the table" % name)
if bad: print("FAIL: " + "; ".join(bad)); sys.exit(1)
print("%d settings documented" % len(rows))
PY

# 2. nobody else reads GREENSHIM_* from the environment
others=$(grep -rln 'getenv *( *"GREENSHIM' "$root/shim" | grep -v 'shim/settings.c$' || true)
[ -z "$others" ] || fail "getenv(\"GREENSHIM...\") outside shim/settings.c: $others"

# 3. bad values: one line naming the setting and the value; default used
check() {  # VAR VALUE HEADER-KEY WANT-IN-HEADER
    local var=$1 val=$2 key=$3 want=$4 d=$tmp/run$RANDOM
    env "$var=$val" LD_PRELOAD="$lib" GREENSHIM_OUT="$d" "$build/examples/blas_mix" >/dev/null 2>"$d.err" \
        || fail "blas_mix failed with $var=$val: $(cat "$d.err")"
    local short=${val:0:20}
    local n
    n=$(grep -c "^greenshim: $var=" "$d.err")
    [ "$n" = 1 ] || fail "$var=$short...: want one line naming it, got $n: $(cat "$d.err")"
    grep "^greenshim: $var=" "$d.err" | grep -qF -- "$short" || fail "$var: the line does not show the value: $(cat "$d.err")"
    grep -q "using the default" "$d.err" || fail "$var: the line does not say the default is used"
    if [ -n "$key" ]; then
        local f
        f=$(ls "$d"/*.gstrace 2>/dev/null | head -1)
        [ -n "$f" ] || fail "$var=$short: no trace written"
        "$ana" info "$f" | grep "^$key: " | grep -qF -- "$want" ||
            fail "$var=$short: header $key is '$("$ana" info "$f" | grep "^$key: ")', want '$want'"
    fi
}
check GREENSHIM_SAMPLE_HZ abc sampler.hz auto
check GREENSHIM_SAMPLE_HZ -5 sampler.hz auto
check GREENSHIM_SAMPLE_HZ 1e9 sampler.hz auto
check GREENSHIM_SAMPLE_HZ 20000 sampler.hz auto
check GREENSHIM_COUNTER_SAMPLE 4294967296 counters.policy "1 in 512"
check GREENSHIM_COUNTER_SAMPLE 0 counters.policy "1 in 512"
events=$(for i in $(seq 60); do printf 'perf::CYCLES,'; done)
check GREENSHIM_EVENTS "${events%,}" events.configured "perf::CYCLES,perf::INSTRUCTIONS,perf::CACHE-MISSES"
check GREENSHIM_CPU_WATTS_PER_CORE -3 "" ""
check GREENSHIM_QUIET yes "" ""
check GREENSHIM_CLOCK rdtsc clock tsc

# a GREENSHIM_OUT longer than PATH_MAX: refused with a line, nothing made under it
long=$tmp/$(printf 'a%.0s' $(seq 200))
for _ in $(seq 25); do long=$long/$(printf 'b%.0s' $(seq 200)); done
(cd "$tmp" && GREENSHIM_OUT=$long LD_PRELOAD="$lib" "$build/examples/blas_mix" >/dev/null 2>"$tmp/long.err") ||
    fail "blas_mix failed with a long GREENSHIM_OUT"
[ "$(grep -c '^greenshim: GREENSHIM_OUT=' "$tmp/long.err")" = 1 ] ||
    fail "long GREENSHIM_OUT: want one line naming it: $(cat "$tmp/long.err")"
[ ! -e "$tmp/$(printf 'a%.0s' $(seq 200))" ] || fail "long GREENSHIM_OUT: a tree was made under it"
ls -d "$tmp"/greenshim-* >/dev/null 2>&1 || fail "long GREENSHIM_OUT: the default directory was not used"

# once per run: a shell with three workers, or a run with no call at all
GREENSHIM_SAMPLE_HZ=abc "$build/greenshim" record -o "$tmp/many" -- \
    sh -c '"$1" >/dev/null & "$1" >/dev/null; "$1" >/dev/null; wait' sh "$build/examples/blas_mix" 2>"$tmp/many.err" ||
    fail "3-worker run failed"
[ "$(grep -c '^greenshim: GREENSHIM_SAMPLE_HZ=abc' "$tmp/many.err")" = 1 ] ||
    fail "3 workers: want the bad value named once: $(cat "$tmp/many.err")"
GREENSHIM_SAMPLE_HZ=abc "$build/greenshim" record -o "$tmp/none" -- sh -c 'true; true' 2>"$tmp/none.err" ||
    fail "no-call run failed"
[ "$(grep -c '^greenshim: GREENSHIM_SAMPLE_HZ=abc' "$tmp/none.err")" = 1 ] ||
    fail "no-call run: want the bad value named once: $(cat "$tmp/none.err")"

# valid values are taken without a word
d=$tmp/ok
GREENSHIM_SAMPLE_HZ=250 GREENSHIM_COUNTER_SAMPLE=7 LD_PRELOAD="$lib" GREENSHIM_OUT="$d" \
    "$build/examples/blas_mix" >/dev/null 2>"$tmp/ok.err" || fail "blas_mix failed"
grep -q "GREENSHIM_" "$tmp/ok.err" && fail "valid settings got a complaint: $(cat "$tmp/ok.err")"
f=$(ls "$d"/*.gstrace | head -1)
"$ana" info "$f" | grep -q "^sampler.hz: 250$" || fail "GREENSHIM_SAMPLE_HZ=250 not in the header"
"$ana" info "$f" | grep -q "other calls 1 in 7;" || fail "GREENSHIM_COUNTER_SAMPLE=7 not in the header"
echo "settings: table documented, bad values named once and replaced by defaults"
