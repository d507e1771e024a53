#!/usr/bin/env bash
# `import greenshim` outside the recorder (issue 22 item 8): `make install`
# puts python/greenshim.py in the interpreter's own package directory under
# PREFIX (Debian: PREFIX/lib/python3.X/dist-packages, on sys.path), so a
# program that imports it runs unchanged without the recorder, as a C
# program with greenshim.h does: every call a no-op (active() and
# available() false, region() as context manager and decorator, push/pop,
# annotate() without torch).  Under the recorder the installed copy is
# active.  Installed into a scratch DESTDIR.
# Exit 0 pass, 1 fail, 77 skip.
. "$(dirname "$0")/lib/common.sh"
need "$lib" "$ana" "$build/greenshim"
make -s install DESTDIR="$tmp/root" PREFIX=/usr/local PYTHON="$py" >"$tmp/install.log" 2>&1 ||
    fail "make install failed: $(tail -3 "$tmp/install.log")"
site=$("$py" -c 'import sys; print(next((p for p in sys.path if p.startswith("/usr/local/lib/") and p.endswith("-packages")), ""))')
[ -n "$site" ] || skip "$py has no package directory under /usr/local on its path"
[ -f "$tmp/root$site/greenshim.py" ] || fail "make install: no greenshim.py in $site: $(cat "$tmp/install.log" | tail -2)"
cmp -s "$tmp/root$site/greenshim.py" python/greenshim.py || fail "the installed greenshim.py is not python/greenshim.py"

cat >"$tmp/prog.py" <<'PY'
import sys
import greenshim
assert greenshim.__file__.startswith(sys.argv[1]), greenshim.__file__
want = sys.argv[2] == "on"
loaded = sys.argv[2] != "off"
assert greenshim.available() is loaded, ("available", greenshim.available())
assert greenshim.active() is want, ("active", greenshim.active())
with greenshim.region("outer"):
    greenshim.push("inner")
    greenshim.pop()
@greenshim.region
def step(x):
    return x + 1
@greenshim.region("named")
def other(x):
    return x * 2
assert step(1) == 2 and other(2) == 4
if not want:
    h = greenshim.annotate(object())      # no torch needed: nothing is hooked
    assert h.hooks == []
    h.remove()
print("ok", "on" if want else "off")
PY
# no recorder: the module from the install, a no-op (PYTHONPATH stands for the installed site directory)
out=$(env -u LD_PRELOAD PYTHONPATH="$tmp/root$site" "$py" "$tmp/prog.py" "$tmp/root$site" off 2>&1) ||
    fail "import greenshim without the recorder: $out"
[ "$out" = "ok off" ] || fail "without the recorder: $out"
# GREENSHIM=0: loaded but off
out=$(GREENSHIM=0 LD_PRELOAD="$lib" PYTHONPATH="$tmp/root$site" "$py" "$tmp/prog.py" "$tmp/root$site" loaded-off 2>&1) ||
    fail "import greenshim with GREENSHIM=0: $out"
[ "$out" = "ok off" ] || fail "GREENSHIM=0: $out"
# under the recorder: regions recorded
record "$tmp/run" env PYTHONPATH="$tmp/root$site" "$py" "$tmp/prog.py" "$tmp/root$site" on >"$tmp/on.out" 2>&1 ||
    fail "import greenshim under the recorder failed: $(cat "$tmp/on.out")"
grep -qx "ok on" "$tmp/on.out" || fail "under the recorder: $(cat "$tmp/on.out")"
echo "import greenshim: installed with make install, a no-op without the recorder, active under it"
