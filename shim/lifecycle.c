/* lifecycle.c - start-up and teardown of the recorder, walking the table of
 * modules (GS_MODULE, a linker section: a new module is a new file).
 *
 * Lazy: the constructor reads the settings and names the run (run.c), no
 * more; a process that never makes an intercepted call (shell helpers,
 * pyenv shims) gets no file, no thread, no counters.  The first intercepted
 * call of a process opens its trace (writer), then runs every module's init.
 * A fork child starts again the same way at its own first call.  A process
 * that execs closes its trace (END) first: the new image gets a new file.
 * The start and the end run on the writer's helper thread (gs_writer_call):
 * every descriptor they open (the trace, /proc files, the run's files, the
 * sampler's sources) is in its table, never in the program's. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/syscall.h>
#include <unistd.h>
#include "gs.h"
#include "run.h"

GS_HIDDEN uint64_t gs_clock_init(const char *mode);

extern const struct gs_module __start_gs_modules[] __attribute__((weak, visibility("hidden")));
extern const struct gs_module __stop_gs_modules[] __attribute__((weak, visibility("hidden")));

int gs_enabled;
int gs_armed;

static pthread_mutex_t gs_start_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_key_t gs_lc_key;
static pid_t gs_started_pid;           /* the process whose recorder runs */
static pid_t gs_self_pid;              /* the process the constructor (or fork) ran in */
static void gs_resolve_next(void);

/* Threads that recorded, so the exit summary counts every call. */
#define GS_MAX_THREADS 4096
static pthread_mutex_t gs_thr_mu = PTHREAD_MUTEX_INITIALIZER;
static struct gs_thread *gs_thr[GS_MAX_THREADS];
static unsigned gs_nthr;
static uint64_t gs_calls_gone;          /* calls of threads that ended */

#define GS_FOR_MODULES(m) \
    for (const struct gs_module *m = __start_gs_modules; m && m < __stop_gs_modules; m++)

static uint64_t gs_calls_total(void)
{
    pthread_mutex_lock(&gs_thr_mu);
    uint64_t n = gs_calls_gone;
    for (unsigned i = 0; i < gs_nthr; i++)
        n += gs_thr[i]->ncalls;
    pthread_mutex_unlock(&gs_thr_mu);
    return n;
}

static void gs_thread_gone(void *arg)
{
    struct gs_thread *t = arg;
    if (t->attached != gs_gen)
        return;
    pthread_mutex_lock(&gs_thr_mu);
    for (unsigned i = 0; i < gs_nthr; i++)
        if (gs_thr[i] == t) {
            gs_thr[i] = gs_thr[--gs_nthr];
            break;
        }
    gs_calls_gone += t->ncalls;
    pthread_mutex_unlock(&gs_thr_mu);
    GS_FOR_MODULES(m)
        if (m->thread_exit)
            m->thread_exit(t);
    t->attached = 0;
}

static void gs_describe_process(void)
{
    char host[256] = "";
    gethostname(host, sizeof host - 1);
    gs_header_add("recorder", "greenshim %s", GS_VERSION);   /* VERSION, through the Makefile */
    gs_header_add("host", "%s", host);
    char cmd[2048];
    FILE *f = fopen("/proc/self/cmdline", "re");
    size_t n = f ? fread(cmd, 1, sizeof cmd - 1, f) : 0;
    if (f)
        fclose(f);
    cmd[n] = 0;
    for (size_t i = 0; i + 1 < n; i++)
        if (cmd[i] == 0)
            cmd[i] = ' ';
    gs_header_add("cmdline", "%s", cmd);
    char model[256] = "unknown", line[512];
    if ((f = fopen("/proc/cpuinfo", "re"))) {
        while (fgets(line, sizeof line, f))
            if (strncmp(line, "model name", 10) == 0 && strchr(line, ':')) {
                char *m = strchr(line, ':') + 1;
                m += strspn(m, " \t");
                m[strcspn(m, "\n")] = 0;
                snprintf(model, sizeof model, "%s", m);
                break;
            }
        fclose(f);
    }
    gs_header_add("cpu_model", "%s", model);
    gs_header_add("ncpu", "%ld", sysconf(_SC_NPROCESSORS_ONLN));
    gs_header_add("rank", "%s", gs_run_rank());
    gs_header_add("clock", "%s", gs_clock_is_tsc ? "tsc" : "mono");
    gs_header_add("interposers", "cblas fortran");
}

/* The header (core.c) through the writer. */
static void gs_header_put(void)
{
    uint8_t buf[GS_HEADER_SIZE];
    gs_header_image(buf);
    if (gs_writer_put_header(buf, sizeof buf) != 0)
        gs_log("cannot write the header of %s: the trace will be unreadable", gs_writer_path());
}

/* A settings line, once per run (run.c's markers). */
static void gs_say_once(const char *name, const char *line)
{
    gs_warn_once(name, "%s", line);
}

/* The process's first intercepted call: the writer, then every module. */
static void gs_start_locked(void)
{
    uint64_t tsc_hz = gs_clock_init(gs_setting_str("GREENSHIM_CLOCK"));
    if (gs_writer_create() != 0) {
        gs_armed = 0;                   /* said why; stays off */
        return;
    }
    gs_started_pid = getpid();
    gs_header_begin(tsc_hz, gs_writer_chunk_size(), gs_writer_path());
    gs_describe_process();
    gs_run_start();                     /* run.id, run.role; the run directory's own files */
    gs_settings_report(gs_say_once);    /* bad values: once per run */
    gs_sources |= GS_SRC_CBLAS | GS_SRC_FORTRAN | GS_SRC_REGIONS;
    gs_header_put();                  /* readable even if killed during start-up */
    gs_writer_begin();
    GS_FOR_MODULES(m)
        if (m->init)
            m->init();
    gs_header_put();
    __atomic_store_n(&gs_enabled, 1, __ATOMIC_RELEASE);
    gs_armed = 0;                       /* threads that saw it wait on gs_start_mu */
}

int gs_start_slow(struct gs_thread *t)
{
    if (t->busy)
        return 0;
    if (!__atomic_load_n(&gs_enabled, __ATOMIC_ACQUIRE)) {
        t->busy = 1;                    /* calls made while starting are not the program's */
        pthread_mutex_lock(&gs_start_mu);
        if (!gs_enabled && gs_armed && gs_writer_call(gs_start_locked) != 0)
            gs_armed = 0;               /* said why; stays off */
        pthread_mutex_unlock(&gs_start_mu);
        t->busy = 0;
        if (!gs_enabled)
            return 0;
    }
    /* a thread's first recorded call in this process generation */
    t->attached = gs_gen;
    t->ncalls = 0;
    pthread_mutex_lock(&gs_thr_mu);
    if (gs_nthr < GS_MAX_THREADS)
        gs_thr[gs_nthr++] = t;
    pthread_mutex_unlock(&gs_thr_mu);
    pthread_setspecific(gs_lc_key, t);
    return 1;
}

/* Every module's fini in reverse order, then the writer's END; the exit
 * record for the run (run.c).  On the helper thread (gs_stop). */
static void gs_stop_on_helper(void)
{
    if (__start_gs_modules)
        for (const struct gs_module *m = __stop_gs_modules; m-- > __start_gs_modules;)
            if (m->fini)
                m->fini();
    uint64_t calls = gs_calls_total();
    gs_writer_end();
    struct gs_energy_tally e;
    memset(&e, 0, sizeof e);
    gs_sampler_tally(&e);               /* the sampler module's, after its fini */
    gs_run_stop(calls, gs_writer_lost_calls(), &e);
}

/* Called at exit, and before an exec. */
static void gs_stop(void)
{
    if (!gs_enabled || getpid() != gs_started_pid)   /* a vfork child execs: not ours */
        return;
    struct gs_thread *t = &gs_tls;
    int busy = t->busy;
    t->busy = 1;
    __atomic_store_n(&gs_enabled, 0, __ATOMIC_RELEASE);
    gs_writer_call(gs_stop_on_helper);
    gs_gen++;                           /* after a failed exec: chunks of a new file */
    t->busy = busy;
}

/* The run's summary (the leader's), on the helper: it reads the run's files */
static void gs_exit_on_helper(void)
{
    if (gs_run_is_leader())
        gs_settings_report(gs_say_once); /* if no process of the run said it */
    gs_run_exit();                      /* the run's first process: the summary line */
}

static void gs_atfork_prepare(void)
{
    pthread_mutex_lock(&gs_start_mu);
    gs_writer_fork_prepare();
}

static void gs_atfork_parent(void)
{
    gs_writer_fork_parent();
    pthread_mutex_unlock(&gs_start_mu);
}

/* The child starts afresh at its own first call, with its own file and
 * a full header (energy domains, live events). */
static void gs_atfork_child(void)
{
    gs_writer_fork_child();
    gs_self_pid = getpid();
    gs_gen++;                           /* the inherited chunks are the parent's */
    pthread_mutex_init(&gs_start_mu, NULL);
    pthread_mutex_init(&gs_thr_mu, NULL);
    int was = gs_enabled;
    gs_enabled = 0;
    gs_nthr = 0;
    gs_calls_gone = 0;
    gs_run_fork_child();                /* a member of the run, whatever the parent was */
    if (was) {
        GS_FOR_MODULES(m)
            if (m->fork_child)
                m->fork_child();
        gs_armed = 1;
    }
}

__attribute__((constructor(101)))
static void gs_init(void)
{
    gs_resolve_next();
    gs_settings_load();
    if (!gs_setting_bool("GREENSHIM"))
        return;
    if (getauxval(AT_SECURE))           /* setuid/setgid/capabilities: stay out */
        return;
    if (gs_run_setup() != 0)
        return;
    pthread_key_create(&gs_lc_key, gs_thread_gone);
    pthread_atfork(gs_atfork_prepare, gs_atfork_parent, gs_atfork_child);
    gs_self_pid = getpid();
    gs_armed = 1;
}

__attribute__((destructor(101)))
static void gs_fini(void)
{
    if (!gs_armed && !gs_enabled)
        return;
    if (getpid() != gs_self_pid)        /* a vfork child: the parent's state */
        return;
    int was = gs_enabled;
    if (gs_armed && !gs_enabled)        /* never started: no intercepted call */
        GS_FOR_MODULES(m)
            if (m->idle_exit)
                m->idle_exit();
    gs_stop();
    gs_armed = 0;
    if (was)
        gs_writer_call(gs_exit_on_helper);
    else
        gs_exit_on_helper();            /* never started: no helper, no file of its own */
    gs_writer_close();
}

/* _exit skips the destructors: shells (dash) and Python's os._exit (fork
 * workers) leave with it.  Their trace ends cleanly all the same. */
static void (*real__exit)(int);

GS_API __attribute__((noreturn)) void _exit(int status)
{
    if (!real__exit)
        real__exit = (void (*)(int))dlsym(RTLD_NEXT, "_exit");
    gs_fini();
    if (real__exit)
        real__exit(status);
    syscall(SYS_exit_group, status);
    __builtin_unreachable();
}

GS_API __attribute__((noreturn)) void _Exit(int status)
{
    _exit(status);
}

/* ---- exec: the image that is replaced ends its trace cleanly ---- */

static void *gs_next(const char *name)
{
    return dlsym(RTLD_NEXT, name);
}

static void gs_before_exec(void)
{
    if (gs_enabled && getpid() == gs_started_pid) {
        gs_stop();
        gs_writer_close();
        gs_armed = 1;                   /* if the exec fails, a new file at the next call */
    }
}

/* The real functions are found in the constructor: a vfork child (Python's
 * subprocess) must not be the first to call dlsym. */
#define GS_EXEC_FWD(name, proto, args)                                         \
    static int (*real_##name) proto;                                           \
    GS_API int name proto                                                      \
    {                                                                          \
        if (!real_##name)                                                      \
            real_##name = (int (*) proto)gs_next(#name);                       \
        gs_before_exec();                                                      \
        return real_##name args;                                               \
    }

GS_EXEC_FWD(execve, (const char *p, char *const a[], char *const e[]), (p, a, e))
GS_EXEC_FWD(execv, (const char *p, char *const a[]), (p, a))
GS_EXEC_FWD(execvp, (const char *p, char *const a[]), (p, a))
GS_EXEC_FWD(execvpe, (const char *p, char *const a[], char *const e[]), (p, a, e))
GS_EXEC_FWD(fexecve, (int fd, char *const a[], char *const e[]), (fd, a, e))

static void gs_resolve_next(void)
{
    real_execve = (__typeof__(real_execve))gs_next("execve");
    real_execv = (__typeof__(real_execv))gs_next("execv");
    real_execvp = (__typeof__(real_execvp))gs_next("execvp");
    real_execvpe = (__typeof__(real_execvpe))gs_next("execvpe");
    real_fexecve = (__typeof__(real_fexecve))gs_next("fexecve");
    real__exit = (void (*)(int))gs_next("_exit");
}

/* execl, execlp, execle: the list into an array, then the v form above */
#define GS_EXECL_ARGV(first, ap, argv)                                         \
    size_t n_ = 1;                                                             \
    va_start(ap, first);                                                       \
    while (va_arg(ap, char *))                                                 \
        n_++;                                                                  \
    va_end(ap);                                                                \
    char *argv[n_ + 1];                                                        \
    argv[0] = (char *)first;                                                   \
    va_start(ap, first);                                                       \
    for (size_t i_ = 1; i_ <= n_; i_++)                                        \
        argv[i_] = va_arg(ap, char *);

GS_API int execl(const char *path, const char *arg, ...)
{
    va_list ap;
    GS_EXECL_ARGV(arg, ap, argv)
    va_end(ap);
    return execv(path, argv);
}

GS_API int execlp(const char *file, const char *arg, ...)
{
    va_list ap;
    GS_EXECL_ARGV(arg, ap, argv)
    va_end(ap);
    return execvp(file, argv);
}

GS_API int execle(const char *path, const char *arg, ...)
{
    va_list ap;
    GS_EXECL_ARGV(arg, ap, argv)
    char *const *envp = va_arg(ap, char *const *);
    va_end(ap);
    return execve(path, argv, envp);
}
