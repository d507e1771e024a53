/* shim/intercept/comm.h - one communication call (MPI, NCCL, gloo) into the trace:
 * a GS_REC_COMM record, written like a BLAS call's (a call slot, payload,
 * then the type byte).  Shared by the communication interposers. */
#ifndef GS_SHIM_COMM_H
#define GS_SHIM_COMM_H

#include "../gs.h"

struct gs_comm_call {
    uint8_t  fn, lib, flags;
    uint32_t comm_size, comm_key, seq;
    int32_t  peer;
    uint64_t bytes;
};

static inline void gs_comm_record(struct gs_thread *t, const struct gs_comm_call *c, uint64_t t0, uint64_t t1)
{
    t->ncalls++;
    uint8_t *s = gs_call_slot(t, 1);
    if (GS_UNLIKELY(!s))
        return;
    struct gs_rec_comm *r = (struct gs_rec_comm *)s;
    r->nslots = 1;
    r->fn = c->fn;
    r->libf = GS_COMM_LIBF(c->lib, c->flags);
    r->comm_size = c->comm_size;
    r->t0 = t0;
    r->t1 = t1;
    r->region = t->region_depth ? t->region_stack[t->region_depth - 1] : 0;
    r->peer = c->peer;
    r->bytes = c->bytes;
    r->comm_key = c->comm_key;
    r->seq = c->seq;
    gs_rec_commit(s, GS_REC_COMM);
}

/* FNV-1a over 32-bit words: a communicator's key from its members */
static inline uint32_t gs_comm_hash(uint32_t h, uint32_t v)
{
    for (int i = 0; i < 4; i++) {
        h ^= (v >> (8 * i)) & 0xffu;
        h *= 16777619u;
    }
    return h;
}
#define GS_COMM_HASH0 2166136261u

/* nccl_plugin.c: the shim as NCCL's profiler plugin.  Once NCCL has loaded
 * it (gs_nccl_plugin_on), nccl.c's interposers forward without recording:
 * the plugin records each call once, and takes from them, on the calling
 * thread, that the call is being recorded and its peer. */
extern GS_HIDDEN int gs_nccl_plugin_on;
extern GS_HIDDEN __thread int     gs_nccl_in_call __attribute__((tls_model("initial-exec")));
extern GS_HIDDEN __thread int32_t gs_nccl_call_peer __attribute__((tls_model("initial-exec")));
GS_HIDDEN const char *gs_nccl_plugin_user(void);   /* the user's NCCL_PROFILER_PLUGIN, else NULL */

#endif
