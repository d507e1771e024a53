#!/bin/sh
# install-deps.sh - install the Debian packages greenshim's build, tests and
# demo need, only those missing.  Idempotent; run by `make demo` and
# `make check`.  Not root: prints the exact command instead.
set -eu

# build: gcc make pkg-config; counters: libpfm4; energy: libpowercap;
# BLAS: OpenBLAS; tests: check (C unit tests), numpy, PyTorch (end-to-end),
# util-linux (unshare, for the synthetic powercap tree); oneDNN headers
# (libdnnl-dev: the dnnl_primitive_execute interposer); scikit-learn
# (layer-detection tests on a real third-party trainer).
# fuzzing (`make fuzz`, docs/fuzzing.md): clang with libFuzzer and the sanitizer
# runtimes; `make check` itself needs only gcc's (libasan8, libubsan1, with gcc).
# reports: chromium and a font (the HTML report checked in a real headless browser).
# jobs (docs/distributed.md): Open MPI (openmpi-bin: mpirun; libopenmpi-dev: the
# real mpi.h the MPI interposers are compiled against, mpicc for the test trainer);
# gloo headers (libgloo-dev: the gloo interposers read its option classes);
# Slurm and munge (slurm-wlm, munge: tests/e2e/test_srun.sh starts a one-node
# cluster of its own; the packages' system services are not used).
PKGS="gcc make pkg-config libc6-dev libpfm4 libpfm4-dev libpowercap0 libpowercap-dev
libopenblas0 libopenblas-dev check python3 python3-numpy python3-torch util-linux
clang libclang-rt-14-dev libfuzzer-14-dev chromium fonts-dejavu-core
libdnnl-dev python3-sklearn libopenblas64-0-pthread openmpi-bin libopenmpi-dev libgloo-dev slurm-wlm
munge"
# optional, for `make bench` only (install-deps.sh --bench): uftrace, measured
# side by side with the recorder; bench/run.sh skips its row without it.
[ "${1:-}" = --bench ] && PKGS="$PKGS uftrace"

missing=""
for p in $PKGS; do
    st=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
    case "$st" in
        *"install ok installed"*) ;;
        *) missing="$missing $p" ;;
    esac
done

if [ -z "$missing" ]; then
    echo "install-deps: all dependencies present"
    exit 0
fi

cmd="apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends$missing"
if [ "$(id -u)" -ne 0 ]; then
    echo "install-deps: missing:$missing" >&2
    echo "install-deps: run as root:  $cmd" >&2
    exit 1
fi
echo "install-deps: installing:$missing"
apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $missing
