#!/usr/bin/env bash
# make_seeds.sh - (re)make the fuzz seed corpus tests/fuzz/corpus/ from REAL
# traces: each scenario below runs a real program under libgreenshim.so, and
# tests/fuzz/compact.py cuts every trace file it wrote down to a few KiB
# (same header, a subset of the recorded records, small chunks).  Needs
# `make all`.  The committed corpus was made with this script; rerun it when
# the trace format changes (new record types), then `make check`.
#   tests/fuzz/make_seeds.sh [OUTDIR]      (default tests/fuzz/corpus)
set -eu
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
b=$root/build
out=${1:-tests/fuzz/corpus}
mkdir -p "$out"
tmp=$(mktemp -d "${TMPDIR:-/tmp}/gs-seeds.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
unset GREENSHIM GREENSHIM_OUT GREENSHIM_EVENTS GREENSHIM_CLOCK LD_PRELOAD RANK 2>/dev/null || true
export GREENSHIM_QUIET=1 OPENBLAS_NUM_THREADS=1

rec() {   # name [VAR=value...] -- cmd...
    local name=$1
    shift
    local envs=()
    while [ "$1" != -- ]; do envs+=("$1"); shift; done
    shift
    env ${envs[@]+"${envs[@]}"} LD_PRELOAD="$b/libgreenshim.so" GREENSHIM_OUT="$tmp/$name" "$@" >/dev/null
}

rec mlp_regions -- "$b/examples/mlp_train" --steps 3 --regions --quiet
rec mlp_mono GREENSHIM_CLOCK=mono -- "$b/examples/mlp_train" --steps 2 --quiet
rec mix_threads -- "$b/examples/blas_mix" --threads 3 --dgemm 8 --fgemm 4 --sgemv 4
rec mix_nocounters GREENSHIM_EVENTS=none -- "$b/examples/blas_mix" --threads 1 --dgemm 6 --fgemm 3 --sgemv 3
rec mix_fork -- "$b/examples/blas_mix" --fork
# version 3 short calls: most tiny calls are SCALLs of a per-chunk SHAPE
# dictionary (the other scenarios are version 3 too when remade; the
# committed corpus keeps their version 2 files, which readers still take)
rec v3_short -- "$b/examples/blas_mix" --threads 2 --dgemm 40 --fgemm 4 --sgemv 4
# long region names (STRING continuation slots), nested regions, numpy BLAS
rec py_regions -- /usr/bin/python3 -c '
import sys; sys.path.insert(0, "python")
import numpy as np, greenshim
a = np.ones((64, 64))
with greenshim.region("model"):
    for i in range(3):
        with greenshim.region("encoder.%d/attention/a-region-name-longer-than-forty-bytes-%s" % (i, "x" * 60)):
            a = a @ a / 64
'
# GPU records (KERNEL, GPU_INFO, NVML samples): real CUPTI activity records
# handed to the recorder by build/gpu/gpu_attrib, energy from the fake NVML
if [ -x "$b/gpu/gpu_attrib" ] && [ -e "$b/fakes/nvml/libnvidia-ml.so.1" ]; then
    FAKE_NVML_SCRIPT=$tmp/nvml.script LD_LIBRARY_PATH=$b/fakes/nvml \
        rec gpu_nvml -- "$b/gpu/gpu_attrib" "$tmp/nvml.script" "$tmp/nvml.expected" || true
fi
# two NVML GPUs, CUDA device 0 at NVML index 1 (GPU_DEV records through the fake driver)
if [ -x "$b/gpu/gpu_attrib" ] && [ -e "$b/fakes/cuda/libcuda.so.1" ]; then
    printf 'idle 90\nquantum_ms 10\ncounter 1\n' >"$tmp/flat.script"
    FAKE_NVML_DEVICES=2 FAKE_NVML_SCRIPT_0=$tmp/flat.script FAKE_NVML_SCRIPT_1=$tmp/dev.script \
        FAKE_CUDA_PCI=0000:02:00.0 GPU_ATTRIB_LIBCUDA=$b/fakes/cuda/libcuda.so.1 LD_LIBRARY_PATH=$b/fakes/nvml \
        rec gpu_visible -- "$b/gpu/gpu_attrib" "$tmp/dev.script" "$tmp/dev.expected" || true
fi
# CUDA runtime API records (every call fails without a device: the real
# error is recorded), cuBLAS calls, NVTX ranges, a CUDA process that forks
for g in gpu_launch_c gpu_cublas gpu_nvtx; do
    [ -x "$b/gpu/$g" ] && rec "$g" -- "$b/gpu/$g" || true
done
if [ -x "$b/gpu/gpu_fork" ] && [ -e "$b/fakes/nvml/libnvidia-ml.so.1" ]; then
    LD_LIBRARY_PATH=$b/fakes/nvml rec gpu_fork -- "$b/gpu/gpu_fork" || true
fi
# oneDNN primitives (DNNL records: convolution, eltwise, inner product,
# matmul) inside regions: tests/fuzz/dnnl_seed.c against libdnnl
if [ -e /usr/include/oneapi/dnnl/dnnl.h ] &&
    cc -std=gnu11 -Iinclude -o "$tmp/dnnl_seed" tests/fuzz/dnnl_seed.c -ldnnl 2>/dev/null; then
    rec dnnl -- "$tmp/dnnl_seed" 3 || true
fi
# the ranks of one job: a launcher starts two ranks (RANK, WORLD_SIZE), both
# members of the launcher's run
rec ranks -- /bin/sh -c '
for r in 0 1; do RANK=$r LOCAL_RANK=$r WORLD_SIZE=2 "$0" --threads 1 --dgemm 4 --fgemm 2 --sgemv 2 & done; wait' \
    "$b/examples/blas_mix"
# communication (COMM records) with rank headers: two NCCL ranks through the
# fake libnccl (torch.distributed's variables), recorded through the shim's
# profiler plugin and, as an NCCL without plugins, by the interposers
if [ -x "$b/gpu/nccl_ranks" ] && [ -e "$b/fakes/nccl/libnccl.so.2" ]; then
    for w in plugin:7 interposed:0; do
        for r in 0 1; do
            FAKE_NCCL_PROFILER_MAX=${w#*:} RANK=$r LOCAL_RANK=$r WORLD_SIZE=2 MASTER_ADDR=127.0.0.1 MASTER_PORT=29500 \
                LD_LIBRARY_PATH=$b/fakes/nccl rec "nccl_${w%%:*}" -- "$b/gpu/nccl_ranks" 3 2>/dev/null &
        done
        wait
    done
fi
# an MPI job (Open MPI's OMPI_COMM_WORLD_*): collectives matched across
# ranks, point to point, waits; rank 1 the straggler
if command -v mpirun >/dev/null && [ -x "$b/mpi/mpi_train" ]; then
    rec mpi -- mpirun --allow-run-as-root --oversubscribe -np 2 "$b/mpi/mpi_train" 4 1 5 2>/dev/null || true
fi
# one Slurm job step over two nodes' headers (SLURM_*: job id, node name and id)
for r in 0 1; do
    SLURM_JOB_ID=4242 SLURM_STEP_ID=0 SLURM_PROCID=$r SLURM_LOCALID=0 SLURM_NTASKS=2 SLURM_NODEID=$r \
        SLURMD_NODENAME=node-$r rec "slurm_n$r" -- "$b/examples/blas_mix" --threads 1 --dgemm 3 --fgemm 1 --sgemv 1
done
# measured energy through libpowercap on a synthetic RAPL tree (wrapping counter)
if unshare -m true 2>/dev/null; then
    for c in normal wrap; do
        kept=$(GS_KEEP=1 GS_ENERGY_CASE=$c bash tests/e2e/test_energy_rapl.sh 2>/dev/null | sed -n 's/^kept //p')
        if [ -n "$kept" ] && [ -d "$kept/out" ]; then
            mkdir -p "$tmp/rapl_$c" && cp "$kept"/out/*.gstrace "$tmp/rapl_$c/" && rm -rf "$kept"
        fi
    done
fi

n=0
for d in "$tmp"/*/; do
    s=$(basename "$d")
    i=0
    for f in "$d"*.gstrace; do
        [ -f "$f" ] || continue
        /usr/bin/python3 tests/fuzz/compact.py "$f" "$out/$s-$i.trace" --samples 12
        i=$((i + 1)); n=$((n + 1))
    done
    # the processes of one run in one input: the fuzz target splits it at
    # each magic and reports the files together
    if [ $i -gt 1 ]; then
        cat "$out/$s"-[0-9]*.trace >"$out/$s-run.trace"
        n=$((n + 1))
    fi
done
# node summaries (text) for merge: the seeds of one job summarized per node
for j in mpi nccl_plugin slurm_n0 slurm_n1; do
    ls "$out/$j"-[0-9]*.trace >/dev/null 2>&1 || continue
    "$b/greenshim-analyze" summarize "$out/$j"-[0-9]*.trace -o "$out/$j.summary" && n=$((n + 1))
done
echo "make_seeds: $n seeds in $out ($(du -sh "$out" | cut -f1))"
