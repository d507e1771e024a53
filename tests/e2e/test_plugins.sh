#!/usr/bin/env bash
# A new energy source and a new recorder module are one new file each
# (GS_SOURCE, GS_MODULE, issue 6 item 6): tests/e2e/src/plugin_source.c is
# linked with the recorder's objects, unchanged; its GPU domain gets a
# header line (component=gpu scope=machine key=plug:0), is sampled at its own
# period (20 ms, while the sampler runs at 500 Hz), its module's init and
# fini run once per process.  Exit 0 pass, 1 fail.
. "$(dirname "$0")/lib/common.sh"
need "$lib" "$ana" "$build/examples/mlp_train"
unset GREENSHIM_QUIET
objs=$(ls "$build"/obj/shim/*.o "$build"/obj/shim/sources/*.o "$build"/obj/shim/intercept/*.o)
gcc -std=gnu11 -fPIC -fvisibility=hidden -pthread -O2 -Wall -Wextra -Werror -I"$root/include" -I"$root/shim" \
    -c "$root/tests/e2e/src/plugin_source.c" -o "$tmp/plugin.o" || fail "plugin does not compile"
gcc -shared -pthread -o "$tmp/libplug.so" $objs "$tmp/plugin.o" -ldl -Wl,-z,nodelete || fail "link failed"
GREENSHIM_SAMPLE_HZ=500 LD_PRELOAD="$tmp/libplug.so" GREENSHIM_OUT="$tmp/p" \
    "$build/examples/mlp_train" --steps 150 --quiet >/dev/null 2>"$tmp/err" || fail "trainer failed: $(cat "$tmp/err")"
f=$(ls "$tmp/p"/*.gstrace)
"$ana" info "$f" >"$tmp/info"
grep -q "^plugin.module: started$" "$tmp/info" || fail "the module's init did not run"
[ "$(grep -c 'plugin module fini' "$tmp/err")" = 1 ] || fail "the module's fini did not run once: $(cat "$tmp/err")"
dom=$(grep "^domain\.[0-9]*: name=gpu-0 " "$tmp/info") || fail "no header line for the plugin's domain"
echo "$dom"
for w in kind=energy unit=uJ component=gpu scope=machine key=plug:0 source=plug provenance=measured sum=1; do
    echo "$dom" | grep -q " $w" || fail "plugin domain line lacks $w"
done
id=$(echo "$dom" | sed 's/^domain\.\([0-9]*\):.*/\1/')
n=$("$ana" dump "$f" | grep -c "SAMPLE kind=1 domain=$id(gpu-0)")
total=$("$ana" dump "$f" | grep -c "SAMPLE kind=[0-9]* domain=[0-9]*(cpu-model)")
secs=$("$ana" report "$f" --format json | "$py" -c 'import json,sys; print(json.load(sys.stdin)["duration_s"])')
echo "plugin domain: $n samples in $secs s (period 20 ms); model domain: $total samples"
"$py" -c "import sys; n, s, t = $n, $secs, $total
ok = n >= 3 and n <= s / 0.020 + 3 and t > n
sys.exit(0 if ok else 1)" || fail "plugin sampled $n times in $secs s: want at most one per 20 ms, fewer than the model's $total"
echo "plugins: a source and a module joined as one file each"
