/* gloo.cc - the gloo interposers: gloo's collective functions as PyTorch's
 * ProcessGroupGloo calls them (gloo::allreduce, broadcast, barrier,
 * allgather, reduce, alltoall; Debian's torch links libgloo.so.0, a shared
 * library, so a preloaded definition of the same C++ name comes first).
 *
 * C++ only to read the options the caller filled: each gloo::X(XOptions&)
 * is the options class's friend, so the interposer (a definition of that
 * very function) may read its element count, element size and tag.  The
 * real function is found at run time by its mangled name; no libgloo, no
 * libstdc++ at link time (only inline members are used, no exceptions: an
 * exception thrown by gloo passes through, and that thread records no more
 * calls).  Bytes: allreduce, broadcast, reduce: elements x element size;
 * allgather: the whole output buffer; alltoall: the whole input.  The
 * collective's sequence number is gloo's tag + 1 (ProcessGroupGloo numbers
 * its operations alike on every rank); the communicator key a hash of the
 * context's size. */
#include <dlfcn.h>
/* gloo's headers include <iostream>, whose static initialiser would make
 * libgreenshim.so need libstdc++ in every process (a C program included):
 * its guard is set, nothing here prints */
#define _GLIBCXX_IOSTREAM 1
#include <gloo/allgather.h>
#include <gloo/allreduce.h>
#include <gloo/alltoall.h>
#include <gloo/barrier.h>
#include <gloo/broadcast.h>
#include <gloo/reduce.h>
#include <gloo/transport/unbound_buffer.h>
extern "C" {
#include "../gs.h"
#include "comm.h"
GS_HIDDEN void *gs_resolve(void **slot, const char *name);
}

namespace {

uint32_t gs_gloo_key(const std::shared_ptr<gloo::Context> &c)
{
    uint32_t h = gs_comm_hash(gs_comm_hash(GS_COMM_HASH0, 0x676c6f6fu /* "gloo" */), c ? (uint32_t)c->size : 0);
    return h >= UINT32_MAX - 1 ? 1 : h;
}

template <typename Opts, typename Fill>
void gs_gloo_call(void **slot, const char *mangled, Opts &opts, unsigned fn, Fill fill)
{
    typedef void (*real_t)(Opts &);
    real_t f = (real_t)__atomic_load_n(slot, __ATOMIC_ACQUIRE);
    if (GS_UNLIKELY(!f) && !(f = (real_t)gs_resolve(slot, mangled)))
        return;
    struct gs_thread *t = &gs_tls;
    if (GS_UNLIKELY(!gs_recording(t))) {
        f(opts);
        return;
    }
    t->busy = 1;
    struct gs_comm_call c = {};
    c.lib = GS_COMM_GLOO;
    c.fn = (uint8_t)fn;
    c.peer = -1;
    uint64_t t0 = gs_now();
    f(opts);
    uint64_t t1 = gs_now();
    fill(c);
    gs_comm_record(t, &c, t0, t1);
    t->busy = 0;
}

}  // namespace

namespace gloo {

GS_API void allreduce(const AllreduceOptions &opts)
{
    static void *real;
    gs_gloo_call(&real, "_ZN4gloo9allreduceERKNS_16AllreduceOptionsE", opts, GS_CF_ALLREDUCE,
                 [&](struct gs_comm_call &c) {
                     c.bytes = (uint64_t)opts.impl_.elements * opts.impl_.elementSize;
                     c.comm_size = opts.impl_.context ? (uint32_t)opts.impl_.context->size : 0;
                     c.comm_key = gs_gloo_key(opts.impl_.context);
                     c.seq = opts.impl_.tag + 1;
                 });
}

GS_API void broadcast(BroadcastOptions &opts)
{
    static void *real;
    gs_gloo_call(&real, "_ZN4gloo9broadcastERNS_16BroadcastOptionsE", opts, GS_CF_BCAST,
                 [&](struct gs_comm_call &c) {
                     c.bytes = (uint64_t)opts.elements * opts.elementSize;
                     c.comm_size = opts.context ? (uint32_t)opts.context->size : 0;
                     c.comm_key = gs_gloo_key(opts.context);
                     c.seq = opts.tag + 1;
                     c.peer = opts.root;
                 });
}

GS_API void reduce(ReduceOptions &opts)
{
    static void *real;
    gs_gloo_call(&real, "_ZN4gloo6reduceERNS_13ReduceOptionsE", opts, GS_CF_REDUCE, [&](struct gs_comm_call &c) {
        c.bytes = (uint64_t)opts.elements * opts.elementSize;
        c.comm_size = opts.context ? (uint32_t)opts.context->size : 0;
        c.comm_key = gs_gloo_key(opts.context);
        c.seq = opts.tag + 1;
        c.peer = opts.root;
    });
}

GS_API void barrier(BarrierOptions &opts)
{
    static void *real;
    gs_gloo_call(&real, "_ZN4gloo7barrierERNS_14BarrierOptionsE", opts, GS_CF_BARRIER, [&](struct gs_comm_call &c) {
        c.comm_size = opts.context ? (uint32_t)opts.context->size : 0;
        c.comm_key = gs_gloo_key(opts.context);
        c.seq = opts.tag + 1;
    });
}

GS_API void allgather(AllgatherOptions &opts)
{
    static void *real;
    gs_gloo_call(&real, "_ZN4gloo9allgatherERNS_16AllgatherOptionsE", opts, GS_CF_ALLGATHER,
                 [&](struct gs_comm_call &c) {
                     c.bytes = opts.out ? (uint64_t)opts.out->size : 0;
                     c.comm_size = opts.context ? (uint32_t)opts.context->size : 0;
                     c.comm_key = gs_gloo_key(opts.context);
                     c.seq = opts.tag + 1;
                 });
}

GS_API void alltoall(AlltoallOptions &opts)
{
    static void *real;
    gs_gloo_call(&real, "_ZN4gloo8alltoallERNS_15AlltoallOptionsE", opts, GS_CF_ALLTOALL,
                 [&](struct gs_comm_call &c) {
                     c.bytes = opts.in ? (uint64_t)opts.in->size : opts.out ? (uint64_t)opts.out->size : 0;
                     c.comm_size = opts.context ? (uint32_t)opts.context->size : 0;
                     c.comm_key = gs_gloo_key(opts.context);
                     c.seq = opts.tag + 1;
                 });
}

}  // namespace gloo
