/* greenshim/trace.h - the on-disk trace format: the one contract between the
 * recorder (shim/) and the analyzer (analyzer/).  Documented in
 * docs/trace-format.md; any change here bumps GS_TRACE_VERSION.
 *
 * A trace file is:
 *   [0, GS_HEADER_SIZE)      struct gs_file_header, then NUL-terminated
 *                            "key: value\n" text at GS_HEADER_TEXT_OFF
 *   then chunks of header.chunk_size bytes, each owned by one thread:
 *     struct gs_chunk_header (one record slot), then 48-byte records.
 * Version 3: the recorder's threads write into a ring of chunks that is
 * part of the file (reused in place); a helper thread copies each full one
 * to a new chunk at the end of the file and then clears the ring's.  A
 * reader takes every chunk with a magic wherever it lies; one that a SIGKILL
 * caught both in the ring and copied appears twice under the same (tid,
 * sno, seq): readers keep the copy (GS_CHUNK_F_COPIED).
 * A record whose first byte (type) is 0 ends the chunk's data: the recorder
 * writes every record's payload before its type byte, so a record cut off by
 * a crash reads as the end of the chunk, never as garbage.
 * All integers are little-endian (the recorder only runs on the host that
 * reads them back, or one of the same byte order).
 */
#ifndef GREENSHIM_TRACE_H
#define GREENSHIM_TRACE_H

#include <stdint.h>

#define GS_TRACE_MAGIC      "GRNSHIM"          /* 8 bytes with the NUL */
#define GS_TRACE_VERSION    3u                 /* readers accept 1 to 3 */
#define GS_HEADER_SIZE      16384u
#define GS_HEADER_TEXT_OFF  256u
#define GS_CHUNK_SIZE       65536u             /* default; readers use header.chunk_size */
#define GS_CHUNK_MAGIC      0x4b4e4843u        /* "CHNK" */
#define GS_REC_SIZE         48u

/* clock of every timestamp in the file */
enum gs_clock {
    GS_CLOCK_TSC  = 1,   /* x86 invariant TSC; ns = fit over CLOCK records */
    GS_CLOCK_MONO = 2,   /* CLOCK_MONOTONIC nanoseconds */
};

/* header.sources: which parts of the recorder were live */
enum gs_source {
    GS_SRC_CBLAS       = 1u << 0,   /* cblas_* interposers */
    GS_SRC_FORTRAN     = 1u << 1,   /* Fortran *_ interposers */
    GS_SRC_COUNTERS_HW = 1u << 2,   /* hardware perf events live */
    GS_SRC_COUNTERS_SW = 1u << 3,   /* software perf events (fallback) live */
    GS_SRC_REGIONS     = 1u << 4,   /* greenshim_region_push/pop */
    GS_SRC_SAMPLER     = 1u << 5,   /* sampler thread ran */
    GS_SRC_ENERGY_MEAS = 1u << 6,   /* a measured energy source (RAPL) */
    GS_SRC_ENERGY_MODEL= 1u << 7,   /* the modelled energy source */
    /* reserved for the GPU path */
    GS_SRC_CUDA        = 1u << 8,
    GS_SRC_CUPTI       = 1u << 9,
    GS_SRC_NVML        = 1u << 10,
    GS_SRC_NVTX        = 1u << 11,
};

struct gs_file_header {           /* at offset 0, 256 bytes */
    char     magic[8];            /* GS_TRACE_MAGIC */
    uint32_t version;             /* GS_TRACE_VERSION */
    uint32_t header_size;         /* offset of the first chunk */
    uint32_t chunk_size;
    uint32_t rec_size;
    uint32_t clock;               /* enum gs_clock */
    uint32_t sources;             /* enum gs_source bits */
    uint64_t tsc_hz;              /* start-up estimate; refit from CLOCK records */
    uint64_t start_tsc;           /* this pair maps clock -> monotonic ns */
    uint64_t start_mono_ns;
    uint64_t start_real_ns;       /* CLOCK_REALTIME at start */
    uint32_t pid;
    uint32_t ppid;
    uint32_t text_len;            /* bytes of key: value text */
    uint32_t nevents;             /* counter values per COUNTERS record */
    uint8_t  reserved[256 - 80];
};

struct gs_chunk_header {          /* first 48 bytes of every chunk */
    uint32_t magic;               /* GS_CHUNK_MAGIC */
    uint32_t tid;                 /* kernel thread id of the owner */
    uint32_t seq;                 /* per-thread chunk sequence, from 0 */
    uint32_t stream;              /* enum gs_stream */
    uint64_t first_tsc;           /* clock when the chunk was taken */
    uint32_t sno;                 /* v3: the thread's stream number in the process, from 1
                                     (0 before v3; UINT32_MAX: the reserve chunk) */
    uint32_t flags;               /* v3: GS_CHUNK_F_* */
    uint8_t  reserved[16];
};
#define GS_CHUNK_F_COPIED 1u      /* a copy the helper made of a full ring segment */

enum gs_stream {
    GS_STREAM_THREAD  = 1,        /* a program thread */
    GS_STREAM_SAMPLER = 2,        /* the recorder's sampler thread */
    GS_STREAM_RECORDER = 3,       /* (v3) the recorder's helper thread: what it writes for the
                                   * process (the start sample, LOST counts, END, module fini) */
};

enum gs_rec_type {
    GS_REC_NONE        = 0,       /* end of data in this chunk */
    GS_REC_CALL        = 1,       /* struct gs_rec_call */
    GS_REC_COUNTERS    = 2,       /* struct gs_rec_counters, for the CALL before it */
    GS_REC_REGION_PUSH = 3,       /* struct gs_rec_region */
    GS_REC_REGION_POP  = 4,       /* struct gs_rec_region */
    GS_REC_STRING      = 5,       /* struct gs_rec_string (+ continuations) */
    GS_REC_CLOCK       = 6,       /* struct gs_rec_clock */
    GS_REC_SAMPLE      = 7,       /* struct gs_rec_sample */
    GS_REC_LOST        = 8,       /* struct gs_rec_lost */
    GS_REC_END         = 9,       /* struct gs_rec_clock: orderly process exit */
    GS_REC_SHAPE       = 10,      /* v3: struct gs_rec_shape: a call shape of this chunk's dictionary */
    GS_REC_SCALL       = 11,      /* v3: struct gs_rec_scall: a call of a shape, 16 bytes */
    /* GPU path (types >= 16 carry their slot count in byte 1) */
    GS_REC_KERNEL      = 16,      /* struct gs_rec_kernel: CUPTI kernel activity */
    GS_REC_MEMCPY      = 17,      /* struct gs_rec_memcpy: CUPTI memcpy/memset activity */
    GS_REC_API         = 18,      /* struct gs_rec_api: CUDA runtime/driver call */
    GS_REC_CUBLAS      = 19,      /* struct gs_rec_cublas: cuBLAS / cuBLASLt call */
    GS_REC_NVTX_MARK   = 20,      /* struct gs_rec_nvtx_mark */
    GS_REC_DNNL        = 21,      /* oneDNN primitive: struct gs_rec_dnnl_prim / _exec */
    GS_REC_GPU_INFO    = 22,      /* struct gs_rec_gpu_info: one per NVML device */
    GS_REC_NVML        = 23,      /* struct gs_rec_nvml: one NVML sample of a device */
    GS_REC_EXTCORR     = 24,      /* struct gs_rec_extcorr: external id -> CUPTI correlation */
    GS_REC_GPU_CLOCKS  = 25,      /* struct gs_rec_gpu_clocks: supported clocks (+ raw u16 MHz) */
    GS_REC_GPU_LOST    = 26,      /* struct gs_rec_gpu_lost: CUPTI activity records dropped */
    GS_REC_GPU_DEV     = 27,      /* struct gs_rec_gpu_dev: CUDA device ordinal -> NVML index */
    GS_REC_COMM        = 28,      /* struct gs_rec_comm: MPI / NCCL / gloo communication call */
};

/* ---- BLAS operation encoding: op = routine << 2 | dtype ---- */
enum gs_dtype { GS_DT_S = 0, GS_DT_D = 1, GS_DT_C = 2, GS_DT_Z = 3 };
enum gs_routine {
    GS_R_GEMM = 0, GS_R_SYMM, GS_R_HEMM, GS_R_SYRK, GS_R_HERK,
    GS_R_SYR2K, GS_R_HER2K, GS_R_TRMM, GS_R_TRSM, GS_R_GEMV,
    GS_R_COUNT
};
#define GS_OP(routine, dtype)  ((uint8_t)(((routine) << 2) | (dtype)))
#define GS_OP_ROUTINE(op)      ((op) >> 2)
#define GS_OP_DTYPE(op)        ((op) & 3)

/* gs_rec_call.flags */
#define GS_F_FORTRAN     (1u << 0)   /* Fortran form (sgemm_), else cblas_ */
#define GS_F_ROWMAJOR    (1u << 1)   /* cblas row-major order */
#define GS_F_TRANSA(f)   (((f) >> 2) & 3)   /* 0 N, 1 T, 2 C (also "trans" of syrk) */
#define GS_F_TRANSB(f)   (((f) >> 4) & 3)
#define GS_F_SIDE_R      (1u << 6)
#define GS_F_UPLO_L      (1u << 7)
#define GS_F_DIAG_U      (1u << 8)
#define GS_F_COUNTERS    (1u << 9)   /* a COUNTERS record follows */
#define GS_F_ILP64       (1u << 10)  /* the library took 64-bit integers (shapes read so) */
#define GS_F_WIDE        (1u << 11)  /* a value did not fit its 32-bit field: saturated */
#define GS_F_SCHEME(f)   (((f) >> 12) & 3)   /* enum gs_blas_scheme of the name called */
#define GS_F_MK_SCHEME(s) ((uint16_t)((s) << 12))
#define GS_F_ATEN        (1u << 14)  /* seen above BLAS, at the ATen op (the Python helper's fallback) */
#define GS_F_MK_TRANSA(t) ((uint16_t)((t) << 2))
#define GS_F_MK_TRANSB(t) ((uint16_t)((t) << 4))

/* How the routine called was named (GS_F_SCHEME of a call's flags). */
enum gs_blas_scheme {
    GS_BLAS_PLAIN    = 0,         /* cblas_dgemm, dgemm_ */
    GS_BLAS_SUFFIX64 = 1,         /* cblas_dgemm64_, dgemm_64_ (64-bit integers) */
    GS_BLAS_SCIPY    = 2,         /* scipy_cblas_dgemm, scipy_dgemm_ (scipy-openblas32) */
    GS_BLAS_SCIPY64  = 3,         /* scipy_cblas_dgemm64_, scipy_dgemm_64_ (scipy-openblas64) */
};

/* One intercepted call.  Dimensions as the caller passed them:
 *   gemm m n k;  symm/hemm m n;  syrk/herk/syr2k/her2k n k;  trmm/trsm m n;
 *   gemv m n with ldb = incx, ldc = incy (two's complement).
 * Unused fields are 0. */
struct gs_rec_call {
    uint8_t  type;                /* GS_REC_CALL */
    uint8_t  op;                  /* GS_OP(routine, dtype) */
    uint16_t flags;               /* GS_F_* */
    uint32_t region;              /* innermost region path id, 0 = none */
    uint64_t t0, t1;              /* begin, end (header clock) */
    uint32_t m, n, k;
    uint32_t lda, ldb, ldc;
};

/* Version 3: the short form of a call without counters.  Records lie on
 * a 16-byte grid (SCALL is 16 bytes, every other record 48 x slots).  A
 * chunk's dictionary: SHAPE gives id (0, 1, ... in the order of the chunk)
 * to everything of a CALL but its times; SCALL names a shape of the same
 * chunk defined before it and carries t0 and t1 - t0.  The recorder uses it
 * for calls without counters shorter than 2^32 ticks; readers turn each
 * SCALL back into the CALL it stands for.  Each chunk starts a new
 * dictionary, so any chunk reads on its own. */
#define GS_REC_GRID 16u
#define GS_SCALL_SIZE 16u
struct gs_rec_shape {
    uint8_t  type;                /* GS_REC_SHAPE */
    uint8_t  op;                  /* as gs_rec_call */
    uint16_t flags;               /* as gs_rec_call (never GS_F_COUNTERS) */
    uint32_t region;
    uint16_t id;                  /* the chunk's next shape id */
    uint16_t reserved0;
    uint32_t m, n, k;
    uint32_t lda, ldb, ldc;
    uint8_t  reserved[12];
};
struct gs_rec_scall {
    uint8_t  type;                /* GS_REC_SCALL */
    uint8_t  reserved0;
    uint16_t shape;               /* id of a SHAPE earlier in the chunk */
    uint32_t dt;                  /* t1 - t0 */
    uint64_t t0;
};

/* Counter deltas over the CALL record just before it in the same chunk
 * stream; values in the order of the header's "events.live" list. */
#define GS_MAX_EVENTS 5
struct gs_rec_counters {
    uint8_t  type;                /* GS_REC_COUNTERS */
    uint8_t  nvals;
    uint16_t flags;               /* 1: read with rdpmc, else read() */
    uint32_t reserved;
    uint64_t delta[GS_MAX_EVENTS];
};

/* Region push or pop on this thread.  id names the region's whole path
 * ("model/encoder.3/attn"), so the id alone gives the stack. */
enum gs_region_origin { GS_REGION_API = 0, GS_REGION_NVTX = 1, GS_REGION_ANNOTATE = 2 };
struct gs_rec_region {
    uint8_t  type;                /* GS_REC_REGION_PUSH / _POP */
    uint8_t  origin;              /* push: enum gs_region_origin (who named it); 0 in older traces */
    uint8_t  reserved0[2];
    uint32_t id;                  /* path id after push / before pop */
    uint64_t t;
    uint32_t parent;              /* enclosing path id, 0 = none */
    uint32_t depth;               /* 1 for a top-level region */
    uint8_t  reserved[24];
};

/* An interned string.  Text longer than fits continues in the next
 * ceil((len - 40) / 48) record slots of the same chunk, raw. Written before
 * the first record that uses its id. */
enum gs_string_kind { GS_STR_REGION = 1, GS_STR_KERNEL = 2, GS_STR_GPU = 3 };
/* Kernel and GPU strings take ids from GS_STR_ID_GPU up, so they never
 * collide with region path ids (which count from 1). */
#define GS_STR_ID_GPU 0x40000000u
struct gs_rec_string {
    uint8_t  type;                /* GS_REC_STRING */
    uint8_t  kind;                /* enum gs_string_kind */
    uint16_t len;                 /* bytes of text, no NUL */
    uint32_t id;
    char     text[40];
};
#define GS_STRING_HEAD_TEXT 40u

/* Clock correlation point: maps the header clock to monotonic and real
 * time.  The sampler writes one periodically; END is written at exit. */
struct gs_rec_clock {
    uint8_t  type;                /* GS_REC_CLOCK or GS_REC_END */
    uint8_t  reserved0[7];
    uint64_t tsc;
    uint64_t mono_ns;
    uint64_t real_ns;
    uint8_t  reserved[16];
};

/* A time-series sample from the sampler thread.  'domain' indexes the
 * header's "domain.N" lines, which give the name, unit, source, provenance
 * and, for wrapping counters, the range. */
enum gs_sample_kind {
    GS_SAMPLE_ENERGY_UJ   = 1,    /* cumulative energy counter, raw (may wrap) */
    GS_SAMPLE_CPU_NS      = 2,    /* process CPU time (input of the model) */
    GS_SAMPLE_FREQ_KHZ    = 3,    /* CPU frequency of one cpu */
    GS_SAMPLE_SAMPLER_NS  = 4,    /* sampler thread's own CPU time so far */
    GS_SAMPLE_GPU_ENERGY_MJ = 5,  /* reserved (NVML samples are GS_REC_NVML records) */
    GS_SAMPLE_GPU_CLOCK_MHZ = 6,  /* reserved */
};
/* gs_rec_sample.reserved0: how the sample was taken (0: the sampler's tick) */
#define GS_SAMPLE_AT_BOUNDARY 1u          /* read at a region push/pop, on the program's thread */
struct gs_rec_sample {
    uint8_t  type;                /* GS_REC_SAMPLE */
    uint8_t  kind;                /* enum gs_sample_kind */
    uint16_t domain;
    uint32_t reserved0;
    uint64_t t;                   /* header clock */
    uint64_t value;
    uint64_t t_read;              /* clock after the read: t..t_read brackets it */
    uint8_t  reserved[16];
};

/* Calls and records the recorder could not write (no space, the size cap,
 * a lost file, no memory); never silently.  Counts are per thread and since
 * the previous LOST of the same thread: readers sum them.  In version 1
 * files the record had only a count of records at the offset of 'calls'. */
enum gs_lost_reason {
    GS_LOST_SPACE = 1,            /* no space (ENOSPC, EDQUOT) */
    GS_LOST_CAP   = 2,            /* the size cap (GREENSHIM_MAX_MB) */
    GS_LOST_IO    = 3,            /* I/O error, or the trace file is gone */
    GS_LOST_MEM   = 4,            /* out of memory / mmap failed */
    GS_LOST_BEHIND = 5,           /* v3: the ring stayed full (helper starved) past the wait */
};
struct gs_rec_lost {
    uint8_t  type;                /* GS_REC_LOST */
    uint8_t  reason;              /* enum gs_lost_reason (of the first loss) */
    uint16_t reserved0;
    uint32_t tid;                 /* the thread whose records were dropped */
    uint64_t t;                   /* when this record was written */
    uint64_t calls;               /* intercepted calls not recorded */
    uint64_t records;             /* 48-byte record slots not written (calls' included) */
    uint64_t t_first;             /* clock of the first loss these counts cover */
    uint8_t  reserved[8];
};


/* ---- GPU path: every record of type >= 16 has its slot count in byte 1 ---- */

/* CUDA functions recorded in API records (gs_rec_api.fn) */
enum gs_api_fn {
    GS_API_NONE = 0,
    GS_API_cudaLaunchKernel, GS_API_cudaLaunchKernel_ptsz,
    GS_API_cudaLaunchKernelExC, GS_API_cudaLaunchKernelExC_ptsz,
    GS_API_cudaLaunchCooperativeKernel, GS_API_cudaLaunchCooperativeKernel_ptsz,
    GS_API___cudaLaunchKernel, GS_API___cudaLaunchKernel_ptsz, GS_API___cudaGetKernel,
    GS_API_cuLaunchKernel, GS_API_cuLaunchKernelEx,
    GS_API_cudaGraphLaunch, GS_API_cudaGraphLaunch_ptsz,
    GS_API_cudaMemcpy, GS_API_cudaMemcpy_ptds, GS_API_cudaMemcpyAsync, GS_API_cudaMemcpyAsync_ptsz,
    GS_API_cudaMemset, GS_API_cudaMemset_ptds, GS_API_cudaMemsetAsync, GS_API_cudaMemsetAsync_ptsz,
    GS_API_cudaDeviceSynchronize, GS_API_cudaStreamSynchronize, GS_API_cudaStreamSynchronize_ptsz,
    GS_API_cudaEventSynchronize, GS_API_cuCtxSynchronize, GS_API_cuStreamSynchronize,
    GS_API_cuStreamSynchronize_ptsz,
    GS_API_cuLaunchKernel_ptsz, GS_API_cuLaunchKernelEx_ptsz,
    GS_API_COUNT
};

/* One CUDA runtime or driver call, 1 slot (a launch is the hot path: 48
 * bytes).  ret is the real return code, passed through to the caller
 * unchanged.  dt = t1 - t0 in header-clock ticks; with GS_API_F_DT_SHIFT
 * it is in units of 65536 ticks (calls longer than 2^32 ticks). */
#define GS_API_F_DT_SHIFT 1u
#define GS_API_F_CUPTI    2u          /* a launch seen only by CUPTI's API callback (no
                                         interposed wrapper: static cudart, cuDNN, NCCL,
                                         a pointer from the driver); kernel 0 unless known */
struct gs_rec_api {
    uint8_t  type;                /* GS_REC_API */
    uint8_t  nslots;              /* 1 */
    uint8_t  fn;                  /* enum gs_api_fn */
    uint8_t  flags;               /* GS_API_F_DT_SHIFT */
    uint32_t region;              /* innermost region path id at the call */
    uint64_t t0;                  /* header clock */
    uint32_t dt;
    uint32_t corr;                /* CUPTI correlation id, 0: unknown */
    uint32_t kernel;              /* launches: kernel name string id (GS_STR_KERNEL), 0 unknown;
                                     memcpy: cudaMemcpyKind */
    int16_t  ret;                 /* cudaError_t / CUresult (all below 1000) */
    uint16_t grid_z;
    union {
        struct { uint32_t grid_x; uint16_t grid_y, reserved1; } g;
        uint64_t bytes;           /* memcpy/memset size */
    } u;
    uint32_t stream;              /* low 32 bits of the cudaStream_t / CUstream (0: default) */
    uint32_t block;               /* x-1 | (y-1) << 10 | (z-1) << 20; 0 with grid 0: not a launch */
};
#define GS_API_BLOCK(x, y, z) ((uint32_t)(((x) - 1) & 1023) | (uint32_t)(((y) - 1) & 1023) << 10 | \
                               (uint32_t)(((z) - 1) & 63) << 20)
#define GS_API_BLOCK_X(b) (((b) & 1023) + 1)
#define GS_API_BLOCK_Y(b) ((((b) >> 10) & 1023) + 1)
#define GS_API_BLOCK_Z(b) ((((b) >> 20) & 63) + 1)

/* cuBLAS routines (gs_rec_cublas.routine) */
enum gs_cublas_fn {
    GS_CB_NONE = 0,
    GS_CB_Sgemm, GS_CB_Dgemm, GS_CB_Hgemm, GS_CB_GemmEx,
    GS_CB_SgemmStridedBatched, GS_CB_DgemmStridedBatched, GS_CB_HgemmStridedBatched,
    GS_CB_GemmStridedBatchedEx, GS_CB_GemmBatchedEx,
    GS_CB_LtMatmul,
    GS_CB_COUNT
};
#define GS_CB_F_64       (1u << 0)    /* the _64 form */
#define GS_CB_F_LT       (1u << 1)    /* cublasLt */
#define GS_CB_F_NESTED   (1u << 2)    /* made inside another recorded cuBLAS call */

/* One cuBLAS / cuBLASLt call, 2 slots.  ext is the external correlation id
 * pushed to CUPTI around the call (0: none): EXTCORR records map it to the
 * correlation ids of the kernels it launched. */
struct gs_rec_cublas {
    uint8_t  type;                /* GS_REC_CUBLAS */
    uint8_t  nslots;              /* 2 */
    uint16_t routine;             /* enum gs_cublas_fn */
    uint32_t region;
    uint64_t t0, t1;
    uint64_t m, n, k;             /* as passed (Lt: from the layouts: m x k * k x n) */
    uint64_t batch;               /* 1 unless batched */
    uint32_t ext;                 /* external correlation id */
    int32_t  status;              /* cublasStatus_t */
    uint8_t  transa, transb;      /* 0 N, 1 T, 2 C */
    uint16_t flags;               /* GS_CB_F_* */
    int32_t  atype;               /* cudaDataType of A (Ex/Lt), else -1 */
    int32_t  ctype;               /* cudaDataType of C */
    int32_t  compute;             /* cublasComputeType_t, else -1 */
    uint64_t stream;
    uint8_t  reserved[8];
};

/* A GPU kernel's execution, from CUPTI activity, 2 slots. */
struct gs_rec_kernel {
    uint8_t  type;                /* GS_REC_KERNEL */
    uint8_t  nslots;              /* 2 */
    uint16_t device;
    uint32_t name;                /* kernel name string id (GS_STR_KERNEL) */
    uint64_t start, end;          /* header clock (CUPTI timestamp callback) */
    uint32_t corr;                /* correlation id of the launching API call */
    uint32_t stream;              /* CUPTI stream id */
    uint32_t context;
    uint32_t grid_x, grid_y, grid_z;
    uint32_t block_x, block_y, block_z;
    uint32_t regs;                /* registers per thread */
    uint32_t shmem_static, shmem_dynamic;
    uint64_t graph;               /* graph node id, 0 */
    uint8_t  reserved[16];
};

/* A GPU memcpy or memset, from CUPTI activity, 1 slot. */
struct gs_rec_memcpy {
    uint8_t  type;                /* GS_REC_MEMCPY */
    uint8_t  nslots;              /* 1 */
    uint16_t device;
    uint8_t  kind;                /* CUpti_ActivityMemcpyKind; 255: memset */
    uint8_t  reserved0[3];
    uint64_t start, end;
    uint64_t bytes;
    uint32_t corr;
    uint32_t stream;
    uint8_t  reserved[8];
};

/* An NVTX mark (ranges are REGION_PUSH/POP records), 1 slot. */
struct gs_rec_nvtx_mark {
    uint8_t  type;                /* GS_REC_NVTX_MARK */
    uint8_t  nslots;              /* 1 */
    uint16_t reserved0;
    uint32_t text;                /* string id (GS_STR_REGION namespace) */
    uint64_t t;
    uint32_t region;              /* innermost region at the mark */
    uint8_t  reserved[28];
};

/* One GPU seen by NVML, written once when NVML starts, 2 slots. */
enum gs_gpu_energy { GS_GPU_E_NONE = 0, GS_GPU_E_COUNTER = 1, GS_GPU_E_POWER = 2 };
/* gs_rec_gpu_info.power_src, with energy == GS_GPU_E_POWER: which reading
 * power_mw is.  0 (traces before it): nvmlDeviceGetPowerUsage, as AVERAGE */
enum gs_gpu_power { GS_GPU_P_UNSTATED = 0, GS_GPU_P_AVERAGE = 1, GS_GPU_P_INSTANT = 2 };
struct gs_rec_gpu_info {
    uint8_t  type;                /* GS_REC_GPU_INFO */
    uint8_t  nslots;              /* 2 */
    uint16_t device;              /* NVML index */
    uint32_t name;                /* string id (GS_STR_GPU): product name */
    uint32_t uuid;                /* string id (GS_STR_GPU): "GPU-..." */
    uint8_t  energy;              /* enum gs_gpu_energy: what the samples carry */
    uint8_t  power_src;           /* enum gs_gpu_power: which power reading (0 in older traces) */
    uint8_t  reserved0[2];
    uint32_t power_limit_mw;      /* enforced limit now */
    uint32_t power_min_mw, power_max_mw, power_default_mw;
    uint32_t sm_max_mhz, mem_max_mhz;
    uint32_t sm_mhz, mem_mhz;     /* clocks when NVML started */
    uint32_t pci_bus;             /* domain << 16 | bus << 8 | device */
    uint32_t reserved1;
    uint8_t  reserved[40];
};

/* One NVML reading of one device, 1 slot.  energy_mj is the device's
 * total-energy counter (cumulative since driver load); with energy ==
 * GS_GPU_E_POWER it is 0 and power_mw is the reading. */
struct gs_rec_nvml {
    uint8_t  type;                /* GS_REC_NVML */
    uint8_t  nslots;              /* 1 */
    uint16_t device;
    uint32_t power_mw;            /* GPU_INFO power_src's reading, 0: unread */
    uint64_t t;                   /* header clock before the reads */
    uint64_t energy_mj;
    uint64_t t_read;              /* header clock after the reads */
    uint16_t sm_mhz, mem_mhz;
    uint32_t reserved1;
    uint8_t  reserved[8];
};

/* External correlation (cuBLAS call ext id -> CUPTI correlation id), 1 slot. */
struct gs_rec_extcorr {
    uint8_t  type;                /* GS_REC_EXTCORR */
    uint8_t  nslots;              /* 1 */
    uint16_t ext_kind;            /* CUpti_ExternalCorrelationKind */
    uint32_t corr;
    uint64_t ext;
    uint8_t  reserved[32];
};

/* Supported clocks of one device: for each memory clock, the SM clocks,
 * as u16 MHz after this record's first slot (nvals of them). */
struct gs_rec_gpu_clocks {
    uint8_t  type;                /* GS_REC_GPU_CLOCKS */
    uint8_t  nslots;              /* 1 + ceil(nvals * 2 / 48) */
    uint16_t device;
    uint16_t mem_mhz;             /* memory clock these SM clocks go with */
    uint16_t nvals;
    uint8_t  reserved[40];
};

/* CUPTI dropped activity records (buffer full), 1 slot. */
struct gs_rec_gpu_lost {
    uint8_t  type;                /* GS_REC_GPU_LOST */
    uint8_t  nslots;              /* 1 */
    uint16_t reserved0;
    uint32_t reserved1;
    uint64_t t;
    uint64_t dropped;
    uint8_t  reserved[24];
};

/* One CUDA device of the process (ordinal as CUDA numbers it, after
 * CUDA_VISIBLE_DEVICES and CUDA_DEVICE_ORDER: what kernel records carry)
 * and the NVML index of the same GPU, matched by PCI bus id; written once
 * per CUDA device when NVML starts, 1 slot.  Without these records a
 * reader can only assume ordinal == NVML index. */
#define GS_GPU_DEV_NONE UINT32_MAX    /* nvml_index: NVML has no device at that bus id */
struct gs_rec_gpu_dev {
    uint8_t  type;                /* GS_REC_GPU_DEV */
    uint8_t  nslots;              /* 1 */
    uint16_t cuda_ordinal;
    uint32_t nvml_index;          /* GS_GPU_DEV_NONE: not found */
    uint32_t pci;                 /* domain << 16 | bus << 8 | device (as GPU_INFO's pci_bus) */
    uint32_t busid;               /* string id (GS_STR_GPU): the bus id CUDA gave, 0: none */
    uint8_t  reserved[32];
};

/* oneDNN (type 21; byte 1 = nslots, byte 2 = what).  The first time a
 * process executes a primitive it writes a PRIM record (2 slots) naming it
 * by a per-process id, then one EXEC record (1 slot) per
 * dnnl_primitive_execute.  Kinds and propagations are greenshim's own
 * numbers (stable across oneDNN versions).  Dims as oneDNN gives them:
 * data {N, C, [[D,] H,] W}, weights {[G,] O, I, [[D,] H,] W}; for backward
 * primitives the diff_* descriptor stands in when the plain one is absent. */
enum gs_dnnl_what { GS_DNNL_EXEC = 1, GS_DNNL_PRIM = 2 };
enum gs_dnnl_kind {
    GS_DNNL_K_OTHER = 0, GS_DNNL_K_CONV = 1, GS_DNNL_K_DECONV = 2, GS_DNNL_K_IP = 3,
    GS_DNNL_K_MATMUL = 4, GS_DNNL_K_POOL = 5, GS_DNNL_K_BNORM = 6, GS_DNNL_K_LNORM = 7,
    GS_DNNL_K_ELTWISE = 8, GS_DNNL_K_SOFTMAX = 9, GS_DNNL_K_REORDER = 10, GS_DNNL_K_BINARY = 11,
    GS_DNNL_K_SUM = 12, GS_DNNL_K_CONCAT = 13, GS_DNNL_K_LRN = 14, GS_DNNL_K_RNN = 15,
    GS_DNNL_K_REDUCTION = 16, GS_DNNL_K_RESAMPLING = 17, GS_DNNL_K_PRELU = 18, GS_DNNL_K_SHUFFLE = 19,
    GS_DNNL_K_COUNT
};
enum gs_dnnl_prop {
    GS_DNNL_P_NONE = 0, GS_DNNL_P_FWD_TRAIN = 1, GS_DNNL_P_FWD_INFER = 2,
    GS_DNNL_P_BWD = 3, GS_DNNL_P_BWD_DATA = 4, GS_DNNL_P_BWD_WEIGHTS = 5,
};
#define GS_DNNL_MAXDIMS 6
struct gs_rec_dnnl_exec {
    uint8_t  type;                /* GS_REC_DNNL */
    uint8_t  nslots;              /* 1 */
    uint8_t  what;                /* GS_DNNL_EXEC */
    uint8_t  status;              /* 0: dnnl_success, else 1 */
    uint32_t prim;                /* id of a PRIM record written before */
    uint64_t t0, t1;              /* begin, end (header clock) */
    uint32_t region;              /* innermost region path id, 0 = none */
    uint8_t  reserved[20];
};
struct gs_rec_dnnl_prim {         /* two slots */
    uint8_t  type;                /* GS_REC_DNNL */
    uint8_t  nslots;              /* 2 */
    uint8_t  what;                /* GS_DNNL_PRIM */
    uint8_t  kind;                /* enum gs_dnnl_kind */
    uint32_t prim;                /* per-process id, from 1 */
    uint8_t  prop;                /* enum gs_dnnl_prop */
    uint8_t  ndims[3];            /* src, weights, dst (0: none) */
    uint32_t reserved0;
    uint32_t src[GS_DNNL_MAXDIMS], wei[GS_DNNL_MAXDIMS], dst[GS_DNNL_MAXDIMS];
    uint8_t  reserved[8];
};

/* ---- communication (type 28, byte 1 = nslots): one MPI, NCCL or gloo call ----
 * Recorded like a BLAS call (stamped around the real function).  bytes is
 * the call's message size: count x type size of the buffer the operation
 * is about (allreduce, reduce, bcast, send, recv: the buffer; allgather(v),
 * alltoall(v): the whole receive / send buffer of this rank; reduce_scatter:
 * the whole input), 0 for waits and barriers.  comm_key names the
 * communicator the same way on every rank (world: 0; others: a hash of
 * size and member world ranks), so that the n-th collective of a
 * communicator can be matched across ranks; seq is that n, per (comm_key)
 * on this process, from 1; 0 for point-to-point calls. */
enum gs_comm_lib { GS_COMM_MPI = 1, GS_COMM_NCCL = 2, GS_COMM_GLOO = 3 };
enum gs_comm_fn {
    GS_CF_NONE = 0,
    /* collectives (< GS_CF_P2P) */
    GS_CF_ALLREDUCE, GS_CF_REDUCE, GS_CF_BCAST, GS_CF_ALLGATHER, GS_CF_ALLGATHERV,
    GS_CF_REDUCE_SCATTER, GS_CF_REDUCE_SCATTER_BLOCK, GS_CF_ALLTOALL, GS_CF_ALLTOALLV,
    GS_CF_BARRIER, GS_CF_GATHER, GS_CF_SCATTER,
    /* point to point and completion */
    GS_CF_P2P = 32,
    GS_CF_SEND = 32, GS_CF_RECV, GS_CF_ISEND, GS_CF_IRECV, GS_CF_SENDRECV,
    GS_CF_WAIT, GS_CF_WAITALL, GS_CF_WAITANY, GS_CF_WAITSOME,
    GS_CF_COUNT
};
/* byte 3: the library in the low nibble, GS_COMM_F_* in the high one */
#define GS_COMM_F_ERROR  (1u << 0)    /* the call returned an error (passed through) */
#define GS_COMM_F_ASYNC  (1u << 1)    /* enqueued, not completed (NCCL: on a CUDA stream) */
#define GS_COMM_F_PLUGIN (1u << 2)    /* seen through NCCL's profiler plugin, not an interposer */
#define GS_COMM_LIBF(lib, f) ((uint8_t)((lib) | (f) << 4))
#define GS_COMM_LIB(b)   ((b) & 15u)
#define GS_COMM_FLAGS(b) ((b) >> 4)
struct gs_rec_comm {
    uint8_t  type;                /* GS_REC_COMM */
    uint8_t  nslots;              /* 1 */
    uint8_t  fn;                  /* enum gs_comm_fn */
    uint8_t  libf;                /* GS_COMM_LIBF(enum gs_comm_lib, GS_COMM_F_*) */
    uint32_t comm_size;           /* ranks in the communicator, 0: unknown */
    uint64_t t0, t1;              /* begin, end (header clock) */
    uint32_t region;              /* innermost region path id, 0 = none (at the offset of DNNL's) */
    int32_t  peer;                /* send/recv: peer rank; rooted collectives: root; waits: requests; else -1 */
    uint64_t bytes;
    uint32_t comm_key;
    uint32_t seq;                 /* collectives: n-th on comm_key in this process, from 1; else 0 */
};

#if defined(__STDC_VERSION__) && __STDC_VERSION__ >= 201112L
_Static_assert(sizeof(struct gs_rec_dnnl_exec) == GS_REC_SIZE, "dnnl exec record");
_Static_assert(sizeof(struct gs_rec_dnnl_prim) == 2 * GS_REC_SIZE, "dnnl prim record");
_Static_assert(sizeof(struct gs_file_header) == 256, "header size");
_Static_assert(sizeof(struct gs_chunk_header) == GS_REC_SIZE, "chunk header");
_Static_assert(sizeof(struct gs_rec_call) == GS_REC_SIZE, "call record");
_Static_assert(sizeof(struct gs_rec_shape) == GS_REC_SIZE, "shape record");
_Static_assert(sizeof(struct gs_rec_scall) == GS_SCALL_SIZE, "short call record");
_Static_assert(sizeof(struct gs_rec_counters) == GS_REC_SIZE, "counters record");
_Static_assert(sizeof(struct gs_rec_region) == GS_REC_SIZE, "region record");
_Static_assert(sizeof(struct gs_rec_string) == GS_REC_SIZE, "string record");
_Static_assert(sizeof(struct gs_rec_clock) == GS_REC_SIZE, "clock record");
_Static_assert(sizeof(struct gs_rec_sample) == GS_REC_SIZE, "sample record");
_Static_assert(sizeof(struct gs_rec_lost) == GS_REC_SIZE, "lost record");
_Static_assert(sizeof(struct gs_rec_api) == GS_REC_SIZE, "api record");
_Static_assert(sizeof(struct gs_rec_cublas) == 2 * GS_REC_SIZE, "cublas record");
_Static_assert(sizeof(struct gs_rec_kernel) == 2 * GS_REC_SIZE, "kernel record");
_Static_assert(sizeof(struct gs_rec_memcpy) == GS_REC_SIZE, "memcpy record");
_Static_assert(sizeof(struct gs_rec_nvtx_mark) == GS_REC_SIZE, "nvtx mark record");
_Static_assert(sizeof(struct gs_rec_gpu_info) == 2 * GS_REC_SIZE, "gpu info record");
_Static_assert(sizeof(struct gs_rec_nvml) == GS_REC_SIZE, "nvml record");
_Static_assert(sizeof(struct gs_rec_extcorr) == GS_REC_SIZE, "extcorr record");
_Static_assert(sizeof(struct gs_rec_gpu_clocks) == GS_REC_SIZE, "gpu clocks record");
_Static_assert(sizeof(struct gs_rec_gpu_lost) == GS_REC_SIZE, "gpu lost record");
_Static_assert(sizeof(struct gs_rec_gpu_dev) == GS_REC_SIZE, "gpu dev record");
_Static_assert(sizeof(struct gs_rec_comm) == GS_REC_SIZE, "comm record");
#endif

#endif
