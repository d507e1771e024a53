#!/usr/bin/env bash
# The front end tells the truth (issue 6 item 7): bad arguments get one
# clear line and exit 2 and run nothing; -o refuses a directory that holds a
# run unless --append; --version on every verb; each verb's --help names it;
# -q silences every greenshim: line; `make install PREFIX=...` gives a copy
# whose demo runs and whose Python helper imports under `greenshim record`
# without editing sys.path.  Exit 0 pass, 1 fail.
. "$(dirname "$0")/lib/common.sh"
need "$lib" "$ana" "$build/greenshim" "$build/examples/blas_mix"
unset GREENSHIM_QUIET
gs=$build/greenshim
mix=$build/examples/blas_mix

bad() {   # WHAT-THE-LINE-SAYS ARGS...: exit 2, one line on stderr saying it, nothing run
    local want=$1
    shift
    (cd "$tmp" && "$gs" "$@" >"$tmp/bad.out" 2>"$tmp/bad.err")
    local rc=$?
    [ $rc = 2 ] || fail "greenshim $*: exit $rc, want 2"
    [ "$(wc -l <"$tmp/bad.err")" = 1 ] || fail "greenshim $*: want one line on stderr, got: $(cat "$tmp/bad.err")"
    grep -q -- "$want" "$tmp/bad.err" || fail "greenshim $*: the line does not say '$want': $(cat "$tmp/bad.err")"
    [ ! -s "$tmp/bad.out" ] || fail "greenshim $*: something ran: $(cat "$tmp/bad.out")"
}
bad "needs a value" record -o
bad "needs a value" record --sample-hz
bad "'abc' is not a rate" record --sample-hz abc -- "$mix"
bad "'-5' is not a rate" record --sample-hz -5 -- "$mix"
bad "is not a whole number" record --counter-sample 4294967296 -- "$mix"
bad "is not a size" record --max-size lots -- "$mix"
bad "command not found" record -o "$tmp/nx" -- /no/such/program
[ ! -e "$tmp/nx" ] || fail "a command that does not exist left $tmp/nx"
bad "no command given" record -o "$tmp/nx"
bad "unknown option" record --bogus -- "$mix"
bad "needs a comma-separated list" sweep --cpu-freqs -- "$mix"
bad "--repeat needs a number" sweep --cpu-freqs 1,2 --repeat -- "$mix"
bad "greenshim: unknown verb 'frobnicate'" frobnicate
bad "greenshim: unknown verb 'frobnicate'" frobnicate --version
ls "$tmp"/greenshim-* >/dev/null 2>&1 && fail "bad usage left a trace directory: $(ls -d "$tmp"/greenshim-*)"

# -o DIR holding a run: refused; --append adds to it
"$gs" record -q -o "$tmp/run" -- "$mix" >/dev/null || fail "first run failed"
bad "already holds a run" record -o "$tmp/run" -- "$mix"
[ "$(ls "$tmp/run"/*.gstrace | wc -l)" = 1 ] || fail "the refused run wrote into $tmp/run"
"$gs" record --append -o "$tmp/run" -- "$mix" >/dev/null 2>"$tmp/app.err" || fail "--append run failed"
grep -q "^greenshim: traces in $tmp/run: 1 process, 150 calls" "$tmp/app.err" ||
    fail "--append: the summary is not this run's alone: $(grep traces "$tmp/app.err")"
[ "$(ls "$tmp/run"/*.gstrace | wc -l)" = 2 ] || fail "--append: want 2 traces in $tmp/run"
mkdir "$tmp/empty"
"$gs" record -q -o "$tmp/empty" -- "$mix" >/dev/null || fail "an empty existing directory was refused"

# -q and GREENSHIM_QUIET=1: no greenshim: line at all, warnings and summary included
"$gs" record -q -o "$tmp/q1" -- sh -c '"$1" >/dev/null; "$1" >/dev/null' sh "$mix" 2>"$tmp/q1.err" || fail "-q run failed"
GREENSHIM_QUIET=1 "$gs" record -o "$tmp/q2" -- "$mix" >/dev/null 2>"$tmp/q2.err" || fail "quiet run failed"
GREENSHIM_QUIET=1 "$gs" record -o "$tmp/q3" -- true 2>>"$tmp/q2.err" || fail "quiet no-call run failed"
[ ! -s "$tmp/q1.err" ] && [ ! -s "$tmp/q2.err" ] || fail "quiet runs printed: $(cat "$tmp/q1.err" "$tmp/q2.err")"
# the exit status is the program's
"$gs" record -q -o "$tmp/st" -- sh -c 'exit 7'
[ $? = 7 ] || fail "the program's exit status is not passed through"

# --version on every verb; --help names the verb
for v in "" record report dump info dvfs html export diff sweep; do
    out=$("$gs" $v --version 2>&1) || fail "greenshim $v --version failed: $out"
    echo "$out" | grep -q "[0-9]\.[0-9]" || fail "greenshim $v --version: no version: $out"
done
for v in record report dump info dvfs html export diff sweep; do
    "$gs" $v --help 2>&1 | head -3 | grep -q "usage: greenshim[-a-z]* $v" || fail "greenshim $v --help does not name $v"
    "$gs" $v --help 2>&1 | grep -q "^set -u" && fail "greenshim $v --help prints code"
done
"$build/greenshim-analyze" --help | grep -q "^  diff " || fail "greenshim-analyze --help does not list diff"
"$root/scripts/restore-caps" --help | head -1 | grep -q "^restore-caps" || fail "restore-caps --help does not name it"
# the scripts shipped beside the verbs say the same version as greenshim,
# under their own names; restore-caps speaks as restore-caps
want=$("$gs" --version | awk '{print $NF}')
for s in apply-caps restore-caps greenshim-sweep gpu-selftest; do
    out=$("$root/scripts/$s" --version 2>&1) || fail "$s --version failed: $out"
    [ "${out##* }" = "$want" ] || fail "$s --version says '$out', greenshim says $want"
    case $s in greenshim-sweep) n="greenshim sweep" ;; *) n=$s ;; esac
    [ "${out% *}" = "$n" ] || fail "$s --version does not name it: $out"
done
[ "$("$build/greenshim-analyze" --version | awk '{print $2}')" = "$want" ] || fail "greenshim-analyze's version is not greenshim's"
"$root/scripts/restore-caps" --frobnicate 2>"$tmp/rc.err" && fail "restore-caps accepted a bad option"
grep -q "^restore-caps: unknown option" "$tmp/rc.err" || fail "restore-caps speaks as another program: $(cat "$tmp/rc.err")"
# a run directory where one file is wanted; an option export does not have
bad "is a directory; info reads one trace file, e.g. $tmp/run/" info "$tmp/run"
bad "-o is not an export option" export --csv "$tmp/csv" -o "$tmp/x" "$tmp/run"
[ ! -e "$tmp/csv" ] || fail "export with a bad option wrote $tmp/csv"

# the installed copy: demo and Python helper, no sys.path editing
if make -s -C "$root" install PREFIX="$tmp/inst" BUILD="$build" >"$tmp/inst.log" 2>&1; then
    "$tmp/inst/share/greenshim/scripts/demo.sh" >"$tmp/demo.out" 2>&1 || fail "installed demo failed: $(tail -5 "$tmp/demo.out")"
    grep -q "intercepted calls" "$tmp/demo.out" || fail "installed demo printed no report: $(tail -5 "$tmp/demo.out")"
    "$tmp/inst/bin/greenshim" record -q -o "$tmp/py" -- "$py" -c 'import greenshim
with greenshim.region("x"): pass
print("helper from", greenshim.__file__)' >"$tmp/py.out" 2>&1 || fail "installed helper: $(cat "$tmp/py.out")"
    grep -q "helper from $tmp/inst/share/greenshim/python/greenshim.py" "$tmp/py.out" ||
        fail "the installed helper was not the one imported: $(cat "$tmp/py.out")"
else
    fail "make install PREFIX=$tmp/inst failed: $(tail -5 "$tmp/inst.log")"
fi
echo "front end: bad usage exit 2, refusal without --append, quiet, versions, installed copy"
