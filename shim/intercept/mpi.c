/* mpi.c - the MPI interposers: collectives (Allreduce, Reduce, Bcast,
 * Allgather(v), Reduce_scatter(_block), Alltoall(v), Barrier, Gather,
 * Scatter), point to point (Send, Recv, Isend, Irecv, Sendrecv) and
 * completion (Wait, Waitall, Waitany, Waitsome), recorded like BLAS calls:
 * guard, clock, forward, clock, one COMM record.
 *
 * Compiled against the real mpi.h (Open MPI's ABI: handles are pointers);
 * the real functions are found at run time (gs_resolve: RTLD_NEXT, then
 * every loaded object, for an MPI loaded RTLD_LOCAL), so libgreenshim.so
 * never links libmpi and a program without MPI never calls into it.  The
 * bytes of a call are count x MPI_Type_size (trace.h says which buffer);
 * each communicator gets a key its members agree on (world: 0; others: a
 * hash of the member world ranks), computed once per communicator. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <mpi.h>
#include "../gs.h"
#include "comm.h"

GS_HIDDEN void *gs_resolve(void **slot, const char *name);
GS_HIDDEN void *gs_resolve_quiet(void **slot, const char *name);

/* helpers of libmpi that are not interposed (no recursion), resolved once */
#define GS_MPI_HELPER(name) \
    static __typeof__(&name) gs_##name(void) \
    { \
        static void *p; \
        void *q = __atomic_load_n(&p, __ATOMIC_ACQUIRE); \
        return (__typeof__(&name))(q ? q : gs_resolve_quiet(&p, #name)); \
    }
GS_MPI_HELPER(MPI_Type_size)
GS_MPI_HELPER(MPI_Comm_size)
GS_MPI_HELPER(MPI_Comm_test_inter)
GS_MPI_HELPER(MPI_Comm_group)
GS_MPI_HELPER(MPI_Group_translate_ranks)
GS_MPI_HELPER(MPI_Group_free)

/* MPI_COMM_WORLD: in Open MPI the address of a variable of libmpi, which
 * the library must not reference at link time (a process without MPI
 * could not load it): looked up at run time */
static MPI_Comm gs_mpi_world(void)
{
#ifdef OMPI_MAJOR_VERSION
    /* RTLD_DEFAULT first: a program that names MPI_COMM_WORLD holds a copy
     * of the variable (a copy relocation), and that copy is the handle
     * libmpi uses; RTLD_NEXT would find libmpi's own, unused, one */
    static void *p;
    void *q = __atomic_load_n(&p, __ATOMIC_ACQUIRE);
    if (!q && (q = dlsym(RTLD_DEFAULT, "ompi_mpi_comm_world")))
        __atomic_store_n(&p, q, __ATOMIC_RELEASE);
    return (MPI_Comm)(q ? q : gs_resolve_quiet(&p, "ompi_mpi_comm_world"));
#else
    return MPI_COMM_WORLD;
#endif
}

static uint64_t gs_mpi_tsize(MPI_Datatype dt, int count)
{
    int sz = 0;
    __typeof__(&MPI_Type_size) f = gs_MPI_Type_size();
    if (count <= 0 || !f || f(dt, &sz) != MPI_SUCCESS || sz < 0)
        return 0;
    return (uint64_t)sz * (uint64_t)count;
}

/* ---- communicators: handle -> size, key; key -> collective sequence ---- */
#define GS_MPI_NCOMM 64
static struct gs_mpi_comm { MPI_Comm h; uint32_t size, key; int used; } gs_comms[GS_MPI_NCOMM];
static struct { uint32_t key; uint32_t seq; int used; } gs_seqs[GS_MPI_NCOMM];
static pthread_mutex_t gs_comm_mu = PTHREAD_MUTEX_INITIALIZER;
static unsigned gs_comm_next;

static uint32_t gs_mpi_key(MPI_Comm c, uint32_t size)
{
    if (c == gs_mpi_world())
        return 0;
    int inter = 0;
    __typeof__(&MPI_Comm_test_inter) ti = gs_MPI_Comm_test_inter();
    __typeof__(&MPI_Comm_group) cg = gs_MPI_Comm_group();
    __typeof__(&MPI_Group_translate_ranks) tr = gs_MPI_Group_translate_ranks();
    __typeof__(&MPI_Group_free) gf = gs_MPI_Group_free();
    MPI_Comm w = gs_mpi_world();
    if (!ti || !cg || !tr || !gf || !w || ti(c, &inter) != MPI_SUCCESS || inter || size == 0 || size > (1u << 24))
        return UINT32_MAX;              /* an intercommunicator or no way to ask: not matched */
    MPI_Group g, wg;
    if (cg(c, &g) != MPI_SUCCESS)
        return UINT32_MAX;
    if (cg(w, &wg) != MPI_SUCCESS) {
        gf(&g);
        return UINT32_MAX;
    }
    int *in = malloc(2 * (size_t)size * sizeof *in);
    uint32_t h = gs_comm_hash(GS_COMM_HASH0, size);
    if (in) {
        for (uint32_t i = 0; i < size; i++)
            in[i] = (int)i;
        if (tr(g, (int)size, in, wg, in + size) == MPI_SUCCESS)
            for (uint32_t i = 0; i < size; i++)
                h = gs_comm_hash(h, (uint32_t)in[size + i]);
        else
            h = UINT32_MAX;
        free(in);
    } else {
        h = UINT32_MAX;
    }
    gf(&g);
    gf(&wg);
    return h == UINT32_MAX ? UINT32_MAX - 1 : h;
}

/* size and key of a communicator; with seq != NULL, the next collective
 * sequence number of its key */
static void gs_mpi_comm_of(MPI_Comm c, uint32_t *size, uint32_t *key, uint32_t *seq)
{
    int n = 0;
    __typeof__(&MPI_Comm_size) cs = gs_MPI_Comm_size();
    if (!cs || cs(c, &n) != MPI_SUCCESS || n < 0)
        n = 0;
    *size = (uint32_t)n;
    pthread_mutex_lock(&gs_comm_mu);
    struct gs_mpi_comm *e = NULL;
    for (unsigned i = 0; i < GS_MPI_NCOMM; i++)
        if (gs_comms[i].used && gs_comms[i].h == c && gs_comms[i].size == (uint32_t)n) {
            e = &gs_comms[i];
            break;
        }
    if (!e) {                           /* new (or a freed handle reused for another size) */
        e = &gs_comms[gs_comm_next++ % GS_MPI_NCOMM];
        e->h = c;
        e->size = (uint32_t)n;
        e->key = gs_mpi_key(c, (uint32_t)n);
        e->used = 1;
    }
    *key = e->key;
    if (seq) {
        unsigned i, free_i = GS_MPI_NCOMM;
        for (i = 0; i < GS_MPI_NCOMM; i++) {
            if (gs_seqs[i].used && gs_seqs[i].key == e->key)
                break;
            if (!gs_seqs[i].used && free_i == GS_MPI_NCOMM)
                free_i = i;
        }
        if (i == GS_MPI_NCOMM && free_i < GS_MPI_NCOMM) {
            i = free_i;
            gs_seqs[i].used = 1;
            gs_seqs[i].key = e->key;
            gs_seqs[i].seq = 0;
        }
        *seq = i < GS_MPI_NCOMM ? ++gs_seqs[i].seq : 0;   /* 0: more communicators than the table */
    }
    pthread_mutex_unlock(&gs_comm_mu);
}

static void gs_mpi_coll(struct gs_comm_call *c, unsigned fn, MPI_Comm comm)
{
    c->fn = (uint8_t)fn;
    gs_mpi_comm_of(comm, &c->comm_size, &c->comm_key, &c->seq);
}

static void gs_mpi_p2p(struct gs_comm_call *c, unsigned fn, MPI_Comm comm, int peer)
{
    c->fn = (uint8_t)fn;
    c->peer = peer;
    gs_mpi_comm_of(comm, &c->comm_size, &c->comm_key, NULL);
}

static uint64_t gs_mpi_sum(const int *counts, uint32_t n, MPI_Datatype dt)
{
    uint64_t total = 0;
    for (uint32_t i = 0; counts && i < n; i++)
        if (counts[i] > 0)
            total += (uint64_t)counts[i];
    return total > INT32_MAX ? gs_mpi_tsize(dt, 1) * total : gs_mpi_tsize(dt, (int)total);
}

/* The body every wrapper shares: SETUP fills c_ (fn, communicator, bytes)
 * after the call, from the arguments. */
#define GS_MPI_BODY(name, ARGS, SETUP)                                                  \
    static void *real_;                                                                \
    __typeof__(&name) fn_ = (__typeof__(&name))__atomic_load_n(&real_, __ATOMIC_ACQUIRE); \
    if (GS_UNLIKELY(!fn_) && !(fn_ = (__typeof__(&name))gs_resolve(&real_, #name)))   \
        return MPI_ERR_INTERN;                                                         \
    struct gs_thread *t_ = &gs_tls;                                                    \
    if (GS_UNLIKELY(!gs_recording(t_)))                                                \
        return fn_ ARGS;                                                               \
    t_->busy = 1;                                                                      \
    struct gs_comm_call c_ = { .lib = GS_COMM_MPI, .peer = -1 };                      \
    uint64_t t0_ = gs_now();                                                           \
    int rc_ = fn_ ARGS;                                                                \
    uint64_t t1_ = gs_now();                                                           \
    SETUP;                                                                             \
    if (rc_ != MPI_SUCCESS)                                                            \
        c_.flags |= GS_COMM_F_ERROR;                                                   \
    gs_comm_record(t_, &c_, t0_, t1_);                                                 \
    t_->busy = 0;                                                                      \
    return rc_;

/* ---- collectives ---- */
GS_API int MPI_Allreduce(const void *sb, void *rb, int count, MPI_Datatype dt, MPI_Op op, MPI_Comm comm)
{
    GS_MPI_BODY(MPI_Allreduce, (sb, rb, count, dt, op, comm),
                (gs_mpi_coll(&c_, GS_CF_ALLREDUCE, comm), c_.bytes = gs_mpi_tsize(dt, count)))
}

GS_API int MPI_Reduce(const void *sb, void *rb, int count, MPI_Datatype dt, MPI_Op op, int root, MPI_Comm comm)
{
    GS_MPI_BODY(MPI_Reduce, (sb, rb, count, dt, op, root, comm),
                (gs_mpi_coll(&c_, GS_CF_REDUCE, comm), c_.bytes = gs_mpi_tsize(dt, count), c_.peer = root))
}

GS_API int MPI_Bcast(void *buf, int count, MPI_Datatype dt, int root, MPI_Comm comm)
{
    GS_MPI_BODY(MPI_Bcast, (buf, count, dt, root, comm),
                (gs_mpi_coll(&c_, GS_CF_BCAST, comm), c_.bytes = gs_mpi_tsize(dt, count), c_.peer = root))
}

GS_API int MPI_Allgather(const void *sb, int scount, MPI_Datatype st, void *rb, int rcount, MPI_Datatype rt,
                         MPI_Comm comm)
{
    GS_MPI_BODY(MPI_Allgather, (sb, scount, st, rb, rcount, rt, comm),
                (gs_mpi_coll(&c_, GS_CF_ALLGATHER, comm),
                 c_.bytes = gs_mpi_tsize(rt, rcount) * c_.comm_size))
}

GS_API int MPI_Allgatherv(const void *sb, int scount, MPI_Datatype st, void *rb, const int rcounts[],
                          const int displs[], MPI_Datatype rt, MPI_Comm comm)
{
    GS_MPI_BODY(MPI_Allgatherv, (sb, scount, st, rb, rcounts, displs, rt, comm),
                (gs_mpi_coll(&c_, GS_CF_ALLGATHERV, comm), c_.bytes = gs_mpi_sum(rcounts, c_.comm_size, rt)))
}

GS_API int MPI_Reduce_scatter(const void *sb, void *rb, const int rcounts[], MPI_Datatype dt, MPI_Op op,
                              MPI_Comm comm)
{
    GS_MPI_BODY(MPI_Reduce_scatter, (sb, rb, rcounts, dt, op, comm),
                (gs_mpi_coll(&c_, GS_CF_REDUCE_SCATTER, comm), c_.bytes = gs_mpi_sum(rcounts, c_.comm_size, dt)))
}

GS_API int MPI_Reduce_scatter_block(const void *sb, void *rb, int rcount, MPI_Datatype dt, MPI_Op op,
                                    MPI_Comm comm)
{
    GS_MPI_BODY(MPI_Reduce_scatter_block, (sb, rb, rcount, dt, op, comm),
                (gs_mpi_coll(&c_, GS_CF_REDUCE_SCATTER_BLOCK, comm),
                 c_.bytes = gs_mpi_tsize(dt, rcount) * c_.comm_size))
}

GS_API int MPI_Alltoall(const void *sb, int scount, MPI_Datatype st, void *rb, int rcount, MPI_Datatype rt,
                        MPI_Comm comm)
{
    GS_MPI_BODY(MPI_Alltoall, (sb, scount, st, rb, rcount, rt, comm),
                (gs_mpi_coll(&c_, GS_CF_ALLTOALL, comm),
                 c_.bytes = (sb == MPI_IN_PLACE ? gs_mpi_tsize(rt, rcount) : gs_mpi_tsize(st, scount)) *
                            c_.comm_size))
}

GS_API int MPI_Alltoallv(const void *sb, const int scounts[], const int sdispls[], MPI_Datatype st, void *rb,
                         const int rcounts[], const int rdispls[], MPI_Datatype rt, MPI_Comm comm)
{
    GS_MPI_BODY(MPI_Alltoallv, (sb, scounts, sdispls, st, rb, rcounts, rdispls, rt, comm),
                (gs_mpi_coll(&c_, GS_CF_ALLTOALLV, comm),
                 c_.bytes = sb == MPI_IN_PLACE ? gs_mpi_sum(rcounts, c_.comm_size, rt)
                                               : gs_mpi_sum(scounts, c_.comm_size, st)))
}

GS_API int MPI_Barrier(MPI_Comm comm)
{
    GS_MPI_BODY(MPI_Barrier, (comm), gs_mpi_coll(&c_, GS_CF_BARRIER, comm))
}

GS_API int MPI_Gather(const void *sb, int scount, MPI_Datatype st, void *rb, int rcount, MPI_Datatype rt,
                      int root, MPI_Comm comm)
{
    GS_MPI_BODY(MPI_Gather, (sb, scount, st, rb, rcount, rt, root, comm),
                (gs_mpi_coll(&c_, GS_CF_GATHER, comm), c_.peer = root,
                 c_.bytes = (sb == MPI_IN_PLACE ? gs_mpi_tsize(rt, rcount) : gs_mpi_tsize(st, scount)) *
                            c_.comm_size))
}

GS_API int MPI_Scatter(const void *sb, int scount, MPI_Datatype st, void *rb, int rcount, MPI_Datatype rt,
                       int root, MPI_Comm comm)
{
    GS_MPI_BODY(MPI_Scatter, (sb, scount, st, rb, rcount, rt, root, comm),
                (gs_mpi_coll(&c_, GS_CF_SCATTER, comm), c_.peer = root,
                 c_.bytes = (rb == MPI_IN_PLACE ? gs_mpi_tsize(st, scount) : gs_mpi_tsize(rt, rcount)) *
                            c_.comm_size))
}

/* ---- point to point ---- */
GS_API int MPI_Send(const void *buf, int count, MPI_Datatype dt, int dest, int tag, MPI_Comm comm)
{
    GS_MPI_BODY(MPI_Send, (buf, count, dt, dest, tag, comm),
                (gs_mpi_p2p(&c_, GS_CF_SEND, comm, dest), c_.bytes = gs_mpi_tsize(dt, count)))
}

GS_API int MPI_Recv(void *buf, int count, MPI_Datatype dt, int src, int tag, MPI_Comm comm, MPI_Status *st)
{
    GS_MPI_BODY(MPI_Recv, (buf, count, dt, src, tag, comm, st),
                (gs_mpi_p2p(&c_, GS_CF_RECV, comm, src), c_.bytes = gs_mpi_tsize(dt, count)))
}

GS_API int MPI_Isend(const void *buf, int count, MPI_Datatype dt, int dest, int tag, MPI_Comm comm,
                     MPI_Request *req)
{
    GS_MPI_BODY(MPI_Isend, (buf, count, dt, dest, tag, comm, req),
                (gs_mpi_p2p(&c_, GS_CF_ISEND, comm, dest), c_.bytes = gs_mpi_tsize(dt, count)))
}

GS_API int MPI_Irecv(void *buf, int count, MPI_Datatype dt, int src, int tag, MPI_Comm comm, MPI_Request *req)
{
    GS_MPI_BODY(MPI_Irecv, (buf, count, dt, src, tag, comm, req),
                (gs_mpi_p2p(&c_, GS_CF_IRECV, comm, src), c_.bytes = gs_mpi_tsize(dt, count)))
}

GS_API int MPI_Sendrecv(const void *sb, int scount, MPI_Datatype st, int dest, int stag, void *rb, int rcount,
                        MPI_Datatype rt, int src, int rtag, MPI_Comm comm, MPI_Status *status)
{
    GS_MPI_BODY(MPI_Sendrecv, (sb, scount, st, dest, stag, rb, rcount, rt, src, rtag, comm, status),
                (gs_mpi_p2p(&c_, GS_CF_SENDRECV, comm, dest),
                 c_.bytes = gs_mpi_tsize(st, scount) + gs_mpi_tsize(rt, rcount)))
}

/* ---- completion: time only; peer = how many requests ---- */
GS_API int MPI_Wait(MPI_Request *req, MPI_Status *st)
{
    GS_MPI_BODY(MPI_Wait, (req, st), (c_.fn = GS_CF_WAIT, c_.peer = 1))
}

GS_API int MPI_Waitall(int n, MPI_Request reqs[], MPI_Status sts[])
{
    GS_MPI_BODY(MPI_Waitall, (n, reqs, sts), (c_.fn = GS_CF_WAITALL, c_.peer = n))
}

GS_API int MPI_Waitany(int n, MPI_Request reqs[], int *index, MPI_Status *st)
{
    GS_MPI_BODY(MPI_Waitany, (n, reqs, index, st), (c_.fn = GS_CF_WAITANY, c_.peer = n))
}

GS_API int MPI_Waitsome(int n, MPI_Request reqs[], int *outcount, int indices[], MPI_Status sts[])
{
    GS_MPI_BODY(MPI_Waitsome, (n, reqs, outcount, indices, sts), (c_.fn = GS_CF_WAITSOME, c_.peer = n))
}
