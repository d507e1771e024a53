/* counters.c - per-call hardware counters: libpfm4 encodes the event
 * strings once at start-up, each thread opens them as one perf_event group
 * on its first BLAS call, and a call reads them with rdpmc where the kernel
 * allows user reads, read() otherwise.  When hardware events cannot be
 * opened (VMs, containers), software events take their place and the
 * header says so.  libpfm4 is loaded with dlopen: without it the shim still
 * records, with the software events encoded by hand. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <linux/perf_event.h>
#include <perfmon/pfmlib_perf_event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>
#include "../gs.h"

int gs_nevents;
/* The probe's group stays open for the start-up thread: in VMs the first
 * software event of a process costs ~10 ms to open (the kernel patches its
 * code to enable it), and closing it would make the next open pay again. */
static int gs_probe_fds[GS_MAX_EVENTS];
static uint32_t gs_probe_tid;
static uint64_t gs_probe_id;
uint64_t gs_ctr_long_ticks = UINT64_MAX;
uint32_t gs_ctr_sample_every = 512;  /* default of GREENSHIM_COUNTER_SAMPLE: at 1 in 256 counting added ~15 ns to a tiny call here, at 1 in 512 ~8 ns */

/* The program may have closed our descriptors and reused the numbers
 * (close-all daemons, dup2 onto high numbers): then they are its own and
 * we neither read nor close them. */
static int gs_ctr_still_ours(int fd, uint64_t id)
{
    uint64_t now = 0;
    return ioctl(fd, PERF_EVENT_IOC_ID, &now) == 0 && now == id;
}

static struct perf_event_attr gs_attr[GS_MAX_EVENTS];
static char gs_names[GS_MAX_EVENTS][128];

static const char *gs_default_hw[] = { "perf::CYCLES", "perf::INSTRUCTIONS", "perf::CACHE-MISSES" };
static const char *gs_default_sw[] = { "perf::TASK-CLOCK", "perf::CONTEXT-SWITCHES", "perf::PAGE-FAULTS" };
static const uint64_t gs_sw_config[] = { PERF_COUNT_SW_TASK_CLOCK, PERF_COUNT_SW_CONTEXT_SWITCHES,
                                         PERF_COUNT_SW_PAGE_FAULTS };

typedef pfm_err_t (*pfm_init_fn)(void);
typedef pfm_err_t (*pfm_enc_fn)(const char *, int, pfm_os_t, void *);
typedef const char *(*pfm_strerror_fn)(int);
static pfm_enc_fn gs_pfm_enc;
static pfm_strerror_fn gs_pfm_strerror;

static long gs_perf_open(struct perf_event_attr *a, int group)
{
    return syscall(SYS_perf_event_open, a, 0, -1, group, PERF_FLAG_FD_CLOEXEC);
}

static int gs_pfm_load(void)
{
    void *h = dlopen("libpfm.so.4", RTLD_NOW | RTLD_LOCAL);
    if (!h)
        return -1;
    pfm_init_fn init = (pfm_init_fn)dlsym(h, "pfm_initialize");
    gs_pfm_enc = (pfm_enc_fn)dlsym(h, "pfm_get_os_event_encoding");
    gs_pfm_strerror = (pfm_strerror_fn)dlsym(h, "pfm_strerror");
    if (!init || !gs_pfm_enc || init() != PFM_SUCCESS) {
        gs_pfm_enc = NULL;
        return -1;
    }
    return 0;
}

/* Encode one event string into gs_attr[i]. */
static int gs_encode(int i, const char *ev)
{
    struct perf_event_attr *a = &gs_attr[i];
    memset(a, 0, sizeof *a);
    snprintf(gs_names[i], sizeof gs_names[i], "%s", ev);
    if (gs_pfm_enc) {
        pfm_perf_encode_arg_t arg;
        memset(&arg, 0, sizeof arg);
        arg.attr = a;
        arg.size = sizeof arg;
        int r = gs_pfm_enc(ev, PFM_PLM3, PFM_OS_PERF_EVENT_EXT, &arg);
        if (r != PFM_SUCCESS) {
            gs_warn_once("bad-event", "counter event '%s' not understood by libpfm4 (%s): left out; list events with showevtinfo",
                   ev, gs_pfm_strerror ? gs_pfm_strerror(r) : "error");
            return -1;
        }
    } else {
        /* no libpfm4: only the software fallback events can be encoded */
        size_t j;
        for (j = 0; j < 3; j++)
            if (strcasecmp(ev, gs_default_sw[j]) == 0)
                break;
        if (j == 3)
            return -1;
        a->type = PERF_TYPE_SOFTWARE;
        a->config = gs_sw_config[j];
    }
    a->size = sizeof *a;
    a->exclude_kernel = 1;
    a->exclude_hv = 1;
    a->disabled = 0;
    a->read_format = PERF_FORMAT_GROUP;
    return 0;
}

/* Open the configured group on the calling thread; -1 (and errno) if any fails. */
static int gs_open_group(int *fds, int n)
{
    for (int i = 0; i < n; i++) {
        fds[i] = (int)gs_perf_open(&gs_attr[i], i ? fds[0] : -1);
        if (fds[i] < 0) {
            int e = errno;
            for (int j = 0; j < i; j++)
                close(fds[j]);
            errno = e;
            return -1;
        }
    }
    return 0;
}

static int gs_encode_list(const char **evs, int n)
{
    int k = 0;
    for (int i = 0; i < n && k < GS_MAX_EVENTS; i++)
        if (gs_encode(k, evs[i]) == 0)
            k++;
    return k;
}

static void gs_join_names(char *buf, size_t len, const char **evs, int n)
{
    buf[0] = 0;
    for (int i = 0; i < n; i++) {
        size_t l = strlen(buf);
        snprintf(buf + l, len - l, "%s%s", i ? "," : "", evs[i]);
    }
}

static void gs_counters_read_raw(struct gs_thread *t, uint64_t *vals);

/* The cost of counting one call, as a sampled call pays it: two reads
 * where rdpmc works (the probe cannot tell; reads are the upper bound),
 * else enable + disable + read of the gated group.  Best of 16. */
static uint64_t gs_cost_ticks(int *fds, int n, int gated)
{
    uint64_t vals[GS_MAX_EVENTS], best = UINT64_MAX;
    struct gs_thread tmp = { .ctr_state = 1, .ctr_fd = fds[0] };
    (void)n;
    for (int i = 0; i < 16; i++) {
        uint64_t a = gs_now();
        if (gated) {
            ioctl(fds[0], PERF_EVENT_IOC_ENABLE, PERF_IOC_FLAG_GROUP);
            ioctl(fds[0], PERF_EVENT_IOC_DISABLE, PERF_IOC_FLAG_GROUP);
            gs_counters_read_raw(&tmp, vals);
        } else {
            gs_counters_read_raw(&tmp, vals);
            gs_counters_read_raw(&tmp, vals);
        }
        uint64_t b = gs_now() - a;
        if (b < best)
            best = b;
    }
    return best;
}

void gs_counters_init(void)
{
    const char *env = gs_setting_str("GREENSHIM_EVENTS");
    gs_ctr_sample_every = (uint32_t)gs_setting_uint("GREENSHIM_COUNTER_SAMPLE");
    if (strcmp(env, "none") == 0 || strcmp(env, "0") == 0) {
        gs_header_add("events.configured", "none");
        gs_header_add("events.live", "none");
        gs_header_add("events.kind", "none");
        gs_header_add("counters.policy", "off (GREENSHIM_EVENTS=none)");
        return;
    }
    int have_pfm = gs_pfm_load() == 0;
    const char *cfg[GS_MAX_EVENTS];
    char cfgbuf[1024];
    int ncfg = 0;
    if (*env) {
        snprintf(cfgbuf, sizeof cfgbuf, "%s", env);
        for (char *s = strtok(cfgbuf, ","); s && ncfg < GS_MAX_EVENTS; s = strtok(NULL, ","))
            cfg[ncfg++] = s;
    } else {
        for (int i = 0; i < 3; i++)
            cfg[ncfg++] = gs_default_hw[i];
    }
    char names[1024];
    gs_join_names(names, sizeof names, cfg, ncfg);
    gs_header_add("events.configured", "%s", names);
    if (!have_pfm)
        gs_warn_once("no-libpfm", "libpfm4 (libpfm.so.4) not found: hardware events cannot be encoded; "
               "using software events; install libpfm4 for hardware counters");

    int fds[GS_MAX_EVENTS];
    int n = have_pfm ? gs_encode_list(cfg, ncfg) : 0;
    const char *kind = "hardware";
    int ok = n > 0 && gs_open_group(fds, n) == 0;
    if (!ok) {
        int e = errno;
        if (n > 0)
            gs_warn_once("no-hw-counters", "counter events %s cannot be opened (%s): falling back to software events "
                   "(task-clock, context-switches, page-faults); hardware counters need a PMU "
                   "visible to this machine and perf_event_paranoid <= 2", names, strerror(e));
        n = gs_encode_list(gs_default_sw, 3);
        kind = "software";
        ok = n > 0 && gs_open_group(fds, n) == 0;
        if (ok) {
            for (int i = 0; i < n; i++)
                gs_names[i][0] = 0, snprintf(gs_names[i], sizeof gs_names[i], "%s", gs_default_sw[i]);
        }
    }
    if (!ok) {
        gs_warn_once("no-counters", "no perf events can be opened (%s): per-call counters are off", strerror(errno));
        gs_header_add("events.live", "none");
        gs_header_add("events.kind", "none");
        gs_header_add("counters.policy", "off (perf_event_open failed)");
        return;
    }
    gs_nevents = n;
    gs_header_set_nevents((uint32_t)n);
    gs_sources |= strcmp(kind, "hardware") == 0 ? GS_SRC_COUNTERS_HW : GS_SRC_COUNTERS_SW;
    /* rdpmc needs user-readable hardware counters; without it the group
     * is gated (gs_counters_begin) */
    int gated = 1;
    struct perf_event_mmap_page *pg = mmap(NULL, sysconf(_SC_PAGESIZE), PROT_READ, MAP_SHARED, fds[0], 0);
    if (pg != MAP_FAILED) {
        gated = !(pg->cap_user_rdpmc && pg->index);
        munmap(pg, sysconf(_SC_PAGESIZE));
    }
    if (gated)
        ioctl(fds[0], PERF_EVENT_IOC_DISABLE, PERF_IOC_FLAG_GROUP);
    uint64_t cost = gs_cost_ticks(fds, n, gated);
    memcpy(gs_probe_fds, fds, sizeof(int) * n);
    gs_probe_tid = (uint32_t)syscall(SYS_gettid);
    ioctl(fds[0], PERF_EVENT_IOC_ID, &gs_probe_id);
    /* "long" calls, counted every time, are those where counting costs
     * at most 2% */
    gs_ctr_long_ticks = cost * 50;
    char live[1024] = "";
    for (int i = 0; i < n; i++) {
        size_t l = strlen(live);
        snprintf(live + l, sizeof live - l, "%s%s", i ? "," : "", gs_names[i]);
    }
    gs_header_add("events.live", "%s", live);
    gs_header_add("events.kind", "%s", kind);
    gs_header_add("counters.call_cost_ticks", "%llu", (unsigned long long)cost);
    gs_header_add("counters.policy",
                  "adaptive: every call of a routine whose previous call on the thread took >= %llu ticks "
                  "(50x the measured cost of counting one call); other calls 1 in %u; %s",
                  (unsigned long long)gs_ctr_long_ticks, gs_ctr_sample_every,
                  gated ? "counting is enabled only during sampled calls (no rdpmc)" : "read with rdpmc");
}

int gs_counters_open_thread(struct gs_thread *t)
{
    int fds[GS_MAX_EVENTS];
    if (gs_probe_tid && !gs_ctr_still_ours(gs_probe_fds[0], gs_probe_id))
        gs_probe_tid = 0;               /* closed by the program since: not ours any more */
    if (gs_probe_tid && gs_probe_tid == (uint32_t)syscall(SYS_gettid)) {
        /* the start-up thread keeps the group the probe opened */
        memcpy(fds, gs_probe_fds, sizeof fds);
        gs_probe_tid = 0;
    } else if (gs_open_group(fds, gs_nevents) != 0) {
        t->ctr_state = -1;
        return -1;
    }
    t->ctr_fd = fds[0];
    memcpy(t->ctr_fds, fds, sizeof(int) * gs_nevents);
    t->ctr_id = 0;
    ioctl(fds[0], PERF_EVENT_IOC_ID, &t->ctr_id);
    /* rdpmc where the kernel lets this thread read every event of the group
     * from user space (hardware events with cap_user_rdpmc); else read() */
    long pgsz = sysconf(_SC_PAGESIZE);
    int all = 1;
    memset(t->ctr_page, 0, sizeof t->ctr_page);
    for (int i = 0; i < gs_nevents && all; i++) {
        void *pg = mmap(NULL, pgsz, PROT_READ, MAP_SHARED, fds[i], 0);
        if (pg == MAP_FAILED) { all = 0; break; }
        t->ctr_page[i] = pg;
        struct perf_event_mmap_page *p = pg;
        all = p->cap_user_rdpmc && p->index;
    }
    if (!all)
        for (int i = 0; i < gs_nevents; i++)
            if (t->ctr_page[i]) {
                munmap(t->ctr_page[i], pgsz);
                t->ctr_page[i] = NULL;
            }
    /* without rdpmc, count only around sampled calls (see gs.h) */
    t->ctr_gated = t->ctr_page[0] == NULL;
    if (t->ctr_gated) {
        ioctl(fds[0], PERF_EVENT_IOC_DISABLE, PERF_IOC_FLAG_GROUP);
        gs_counters_read_raw(t, t->ctr_base);
    }
    t->ctr_countdown = 1;               /* the thread's first call is sampled */
    memset(t->ctr_always, 0, sizeof t->ctr_always);
    t->ctr_state = 1;
    return 0;
}

#if defined(__x86_64__)
static inline uint64_t gs_rdpmc(uint32_t c)
{
    uint32_t lo, hi;
    __asm__ volatile("rdpmc" : "=a"(lo), "=d"(hi) : "c"(c));
    return (uint64_t)hi << 32 | lo;
}

/* The kernel's documented seqlock read of a self-monitoring counter. */
static int gs_read_rdpmc(struct perf_event_mmap_page *pc, uint64_t *val)
{
    uint32_t seq, idx;
    uint64_t count;
    do {
        seq = pc->lock;
        __asm__ volatile("" ::: "memory");
        idx = pc->index;
        count = pc->offset;
        if (!pc->cap_user_rdpmc || !idx)
            return -1;
        uint64_t width = pc->pmc_width;
        int64_t pmc = (int64_t)gs_rdpmc(idx - 1);
        pmc <<= 64 - width;
        pmc >>= 64 - width;
        count += pmc;
        __asm__ volatile("" ::: "memory");
    } while (pc->lock != seq);
    *val = count;
    return 0;
}
#endif

static void gs_counters_read_raw(struct gs_thread *t, uint64_t *vals)
{
#if defined(__x86_64__)
    if (t->ctr_page[0]) {
        int i;
        for (i = 0; i < gs_nevents; i++)
            if (gs_read_rdpmc(t->ctr_page[i], &vals[i]) != 0)
                break;
        if (i == gs_nevents)
            return;
    }
#endif
    uint64_t buf[1 + GS_MAX_EVENTS];
    ssize_t r = read(t->ctr_fd, buf, sizeof buf);
    int n = r >= 8 ? (int)buf[0] : 0;
    for (int i = 0; i < gs_nevents; i++)
        vals[i] = i < n ? buf[1 + i] : 0;
}

static void gs_ctr_lost(struct gs_thread *t)
{
    t->ctr_state = -1;                  /* the numbers are the program's now */
    memset(t->ctr_page, 0, sizeof t->ctr_page);
}

void gs_counters_close_thread(struct gs_thread *t)
{
    if (t->ctr_state == 1 && !gs_ctr_still_ours(t->ctr_fd, t->ctr_id))
        t->ctr_state = -1;
    if (t->ctr_state == 1) {
        for (int i = 0; i < gs_nevents; i++)
            if (t->ctr_page[i])
                munmap(t->ctr_page[i], sysconf(_SC_PAGESIZE));
        for (int i = gs_nevents - 1; i >= 0; i--)
            close(t->ctr_fds[i]);
    }
    t->ctr_state = 0;
    memset(t->ctr_page, 0, sizeof t->ctr_page);
}

/* Gated groups: an ioctl that fails means the descriptor is no longer a
 * perf event (closed, or reused by the program): stop before any read. */
void gs_counters_begin(struct gs_thread *t, uint64_t *vals)
{
    if (t->ctr_gated) {
        memcpy(vals, t->ctr_base, sizeof(uint64_t) * gs_nevents);
        if (ioctl(t->ctr_fd, PERF_EVENT_IOC_ENABLE, PERF_IOC_FLAG_GROUP) != 0)
            gs_ctr_lost(t);
        return;
    }
    gs_counters_read_raw(t, vals);
}

void gs_counters_end(struct gs_thread *t, uint64_t *vals)
{
    if (t->ctr_gated) {
        if (t->ctr_state != 1 || ioctl(t->ctr_fd, PERF_EVENT_IOC_DISABLE, PERF_IOC_FLAG_GROUP) != 0) {
            gs_ctr_lost(t);
            memcpy(vals, t->ctr_base, sizeof(uint64_t) * gs_nevents);
            return;
        }
        gs_counters_read_raw(t, vals);
        memcpy(t->ctr_base, vals, sizeof(uint64_t) * gs_nevents);
        return;
    }
    gs_counters_read_raw(t, vals);
}

/* In a fork child: an unclaimed probe group counts the parent's thread. */
void gs_counters_atfork_child(void)
{
    if (gs_probe_tid && gs_ctr_still_ours(gs_probe_fds[0], gs_probe_id)) {
        for (int i = gs_nevents - 1; i >= 0; i--)
            close(gs_probe_fds[i]);
        gs_probe_tid = 0;
    }
}

static void gs_counters_fork_child(void)
{
    gs_counters_close_thread(&gs_tls);  /* those fds count the parent's thread */
    gs_counters_atfork_child();
}

GS_MODULE(counters, gs_counters_init, gs_counters_close_thread, gs_counters_fork_child, NULL);
