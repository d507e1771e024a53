/* shim/nccl_profiler.h - the part of NCCL's profiler-plugin ABI that
 * shim/nccl_plugin.c uses: the ncclProfiler_v4 and ncclProfiler_v5 /
 * v6 / v7 tables and the event descriptors' leading members.
 *
 * Origin: NCCL (github.com/NVIDIA/nccl), ext-profiler/example/nccl/
 * profiler_v4.h and profiler_v5.h and src/include/plugin/profiler/
 * profiler_v6.h, profiler_v7.h; NCCL's LICENSE.txt (BSD 3-clause; its newer
 * files SPDX Apache-2.0).  NCCL asks plugins to carry the definitions of the
 * versions they support (ext-profiler/README.md, "Headers management"):
 * CUDA's nccl.h has none.  Declared here member for member with the same
 * types in the same order, cut to what is read: a descriptor is only read
 * through a pointer NCCL passes, so a declared prefix of its union members
 * reads the same bytes.  v5, v6 and v7 share init's signature and the
 * leading members of collApi and p2pApi (v7 appends userTag), so one
 * declaration reads all three. */
#ifndef GS_NCCL_PROFILER_H
#define GS_NCCL_PROFILER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef int gs_ncclResult;                      /* ncclResult_t: ncclSuccess = 0 */
typedef void (*gs_ncclDebugLogger)(int level, unsigned long flags, const char *file, int line,
                                   const char *fmt, ...);

/* event types (the activation mask's bits) */
enum {
    GS_NCCLP_GROUP = 1 << 0, GS_NCCLP_COLL = 1 << 1, GS_NCCLP_P2P = 1 << 2,
    /* 1 << 3 .. 1 << 7: proxy, kernel-channel and network events (unused) */
    GS_NCCLP_GROUP_API = 1 << 8, GS_NCCLP_COLL_API = 1 << 9, GS_NCCLP_P2P_API = 1 << 10,  /* v5 and later */
};

/* v4 (ncclProfilerEventDescr_v4_t): collective and point-to-point tasks,
 * started and stopped around the kernel launch of their plan */
struct gs_ncclp_descr_v4 {
    uint8_t type;
    void   *parentObj;
    int     rank;
    union {
        struct {
            uint64_t    seqNumber;
            const char *func;
            const void *sendBuff;
            void       *recvBuff;
            size_t      count;
            int         root;
            const char *datatype;
            uint8_t     nChannels, nWarps;
            const char *algo, *proto;
        } coll;
        struct {
            const char *func;
            void       *buff;
            const char *datatype;
            size_t      count;
            int         peer;
            uint8_t     nChannels;
        } p2p;
    };
};

/* v5, v6, v7 (ncclProfilerEventDescr_v5_t ...): the API events, started
 * when the program calls ncclAllReduce & co. and stopped when it returns */
struct gs_ncclp_descr_v5 {
    uint64_t type;
    void    *parentObj;
    int      rank;
    union {
        struct {
            const char *func;
            size_t      count;
            const char *datatype;
            int         root;
            void       *stream;
            bool        graphCaptured;
        } collApi;
        struct {
            const char *func;
            size_t      count;
            const char *datatype;
            void       *stream;
            bool        graphCaptured;
        } p2pApi;
    };
};

typedef gs_ncclResult (*gs_ncclp_stop_fn)(void *eHandle);
typedef gs_ncclResult (*gs_ncclp_state_fn)(void *eHandle, int eState, void *eStateArgs);
typedef gs_ncclResult (*gs_ncclp_fini_fn)(void *context);

struct gs_ncclp_v4 {                            /* ncclProfiler_v4_t */
    const char *name;
    gs_ncclResult (*init)(void **context, int *eActivationMask, const char *commName, uint64_t commHash,
                          int nNodes, int nranks, int rank, gs_ncclDebugLogger logfn);
    gs_ncclResult (*startEvent)(void *context, void **eHandle, struct gs_ncclp_descr_v4 *eDescr);
    gs_ncclp_stop_fn  stopEvent;
    gs_ncclp_state_fn recordEventState;
    gs_ncclp_fini_fn  finalize;
};

struct gs_ncclp_v5 {                            /* ncclProfiler_v5_t, _v6_t, _v7_t */
    const char *name;
    gs_ncclResult (*init)(void **context, uint64_t commId, int *eActivationMask, const char *commName,
                          int nNodes, int nranks, int rank, gs_ncclDebugLogger logfn);
    gs_ncclResult (*startEvent)(void *context, void **eHandle, struct gs_ncclp_descr_v5 *eDescr);
    gs_ncclp_stop_fn  stopEvent;
    gs_ncclp_state_fn recordEventState;
    gs_ncclp_fini_fn  finalize;
};

#endif
