/* run.c - a run is one unit.  The first traced process (no GREENSHIM_RUN_ID
 * in its environment) is the run's leader: it picks the run id and the
 * directory and exports them (GREENSHIM_RUN_ID, GREENSHIM_RUN_LEADER,
 * GREENSHIM_OUT), so every process it starts, directly or not, joins the
 * same run as a member.  Nothing here touches the disk before a process's
 * first intercepted call.
 *
 * The run's own files sit in DIR/.greenshim-run/:
 *   procs.ID     one "start PID" and one "end PID ..." line per recording
 *                process of run ID (O_APPEND, one write each): the leader's
 *                summary (runs appended to one directory keep apart)
 *   machine.ID.lock  flock()ed by the one process of run ID that samples machine-scope
 *                energy domains; others retry at 10 Hz and take over when it
 *                exits.  Its text hands the last values to the next holder.
 *   warn.ID.KEY  O_EXCL markers: a warning about the machine once per run */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include "gs.h"
#include "run.h"

#define GS_RUN_SUB "/.greenshim-run"

static char gs_dir[PATH_MAX];
static char gs_id[40];
static int  gs_leader;
static int  gs_fresh;                   /* this process began the run (picked its id) */
static int  gs_started;                 /* this process wrote its "start" line */
static int  gs_lock_fd = -1;
static int  gs_lock_held;
static int  gs_lock_fd_ok(void);

int gs_run_is_leader(void) { return gs_leader; }
const char *gs_run_dir(void) { return gs_dir; }
/* the launcher's rank (job.c: digits only, safe in a file name) */
const char *gs_run_rank(void) { return gs_job_rank(); }

int gs_run_setup(void)
{
    const char *id = gs_setting_str("GREENSHIM_RUN_ID");
    pid_t pid = getpid();
    if (!*id) {
        /* the run's first process */
        uint64_t r = 0;
        if (getrandom(&r, sizeof r, GRND_NONBLOCK) != (ssize_t)sizeof r)
            r = gs_real_ns() ^ ((uint64_t)pid << 32);
        snprintf(gs_id, sizeof gs_id, "%016llx", (unsigned long long)r);
        char b[24];
        snprintf(b, sizeof b, "%d", (int)pid);
        setenv("GREENSHIM_RUN_ID", gs_id, 1);
        setenv("GREENSHIM_RUN_LEADER", b, 1);
        gs_leader = 1;
        gs_fresh = 1;
    } else {
        snprintf(gs_id, sizeof gs_id, "%s", id);
        /* the leader keeps its role through exec (same pid) */
        gs_leader = gs_setting_uint("GREENSHIM_RUN_LEADER") == (uint64_t)pid;
    }
    const char *out = gs_setting_str("GREENSHIM_OUT");
    char dir[PATH_MAX];
    if (*out) {
        snprintf(dir, sizeof dir, "%s", out);
    } else if (gs_setting_is_set("GREENSHIM_RUN_ID")) {
        /* a member without a directory: GREENSHIM_OUT was taken away */
        return -1;
    } else {
        time_t now = time(NULL);
        struct tm tm;
        localtime_r(&now, &tm);
        char name[64];
        strftime(name, sizeof name, "greenshim-%Y%m%d-%H%M%S", &tm);
        snprintf(dir, sizeof dir, "%s-%d", name, (int)pid);
        /* a new directory, never one that is there already (a planted
         * symlink included); the writer checks it is ours when it makes it */
        struct stat st;
        for (int i = 1; i < 100 && lstat(dir, &st) == 0; i++)
            snprintf(dir, sizeof dir, "%s-%d.%d", name, (int)pid, i);
    }
    /* absolute, so that children that chdir before exec still share it */
    if (dir[0] != '/') {
        char cwd[PATH_MAX];
        if (!getcwd(cwd, sizeof cwd) ||
            snprintf(gs_dir, sizeof gs_dir, "%s/%s", cwd, dir) >= (int)sizeof gs_dir - 64) {
            gs_log("the trace directory %s is too long a path from here: recording is off; "
                   "set GREENSHIM_OUT to a shorter absolute path", dir);
            return -1;
        }
    } else {
        snprintf(gs_dir, sizeof gs_dir, "%s", dir);
    }
    if (strcmp(gs_dir, out) != 0)
        setenv("GREENSHIM_OUT", gs_dir, 1);
    gs_job_load();                      /* the launcher's variables, once */
    return 0;
}

/* DIR/.greenshim-run made if needed; 0 when it is a directory of ours
 * (not a planted symlink or someone else's) */
static int gs_sub_ready(void)
{
    char p[PATH_MAX];
    snprintf(p, sizeof p, "%s" GS_RUN_SUB, gs_dir);
    if (mkdir(p, 0700) != 0 && errno != EEXIST)
        return -1;
    struct stat st;
    if (lstat(p, &st) != 0 || !S_ISDIR(st.st_mode) || st.st_uid != geteuid())
        return -1;
    return 0;
}

static void gs_sub(char *out, size_t n, const char *file)
{
    snprintf(out, n, "%s" GS_RUN_SUB "%s%s", gs_dir, file ? "/" : "", file ? file : "");
}

static void gs_append(const char *line)
{
    char p[PATH_MAX];
    char name[64];
    snprintf(name, sizeof name, "procs.%s", gs_id);
    gs_sub(p, sizeof p, name);
    int fd = open(p, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0)
        return;
    ssize_t w = write(fd, line, strlen(line));
    (void)w;
    close(fd);
}

/* A new run in a directory that holds another (LD_PRELOAD by hand, the same
 * GREENSHIM_OUT twice): perf moves an old perf.data aside; the recorder
 * never moves files it did not make, and the other run may still be
 * writing, so it records next to it, keeps it apart (its own run id: the
 * analyzer reports one run at a time) and says so once, unless asked to
 * add (GREENSHIM_APPEND=1, greenshim record --append). */
static void gs_check_other_runs(void)
{
    if (!gs_fresh || gs_setting_bool("GREENSHIM_APPEND"))
        return;
    char p[PATH_MAX];
    gs_sub(p, sizeof p, NULL);
    DIR *d = opendir(p);
    if (!d)
        return;
    unsigned others = 0;
    char mine[64];
    snprintf(mine, sizeof mine, "procs.%s", gs_id);
    for (struct dirent *e; (e = readdir(d));)
        if (strncmp(e->d_name, "procs.", 6) == 0 && strcmp(e->d_name, mine) != 0)
            others++;
    closedir(d);
    if (others)
        gs_warn_once("other-runs", "%s already holds %u other run%s: this run (id %s) is added next to %s, "
                     "kept apart (the analyzer reports one run at a time; --merge-runs joins them); for a "
                     "directory of its own set GREENSHIM_OUT to a new one (greenshim record refuses such a "
                     "directory unless --append)", gs_dir, others, others == 1 ? "" : "s", gs_id,
                     others == 1 ? "it" : "them");
}

void gs_run_start(void)
{
    gs_header_add("run.id", "%s", gs_id);
    gs_header_add("run.role", "%s", gs_leader ? "leader" : "member");
    if (gs_sub_ready() != 0) {
        gs_log("%s" GS_RUN_SUB " is not a directory of ours: this process is left out of the "
               "run's summary and samples no machine-wide energy", gs_dir);
        return;
    }
    gs_check_other_runs();
    char line[64];
    snprintf(line, sizeof line, "start %d\n", (int)getpid());
    gs_append(line);
    gs_started = 1;
}

void gs_run_stop(uint64_t calls, uint64_t lost, const struct gs_energy_tally *tally)
{
    if (!gs_started)
        return;
    gs_started = 0;
    struct gs_energy_tally e = *tally;
    char line[512];
    snprintf(line, sizeof line,
             "end %d calls=%llu lost=%llu j_machine=%.6f j_process=%.6f t0=%llu t1=%llu prov=%s src=%s\n",
             (int)getpid(), (unsigned long long)calls, (unsigned long long)lost, e.j_machine,
             e.j_process, (unsigned long long)e.t0_ns, (unsigned long long)e.t1_ns,
             e.provenance[0] ? e.provenance : "-", e.sources[0] ? e.sources : "-");
    gs_append(line);
}

void gs_run_fork_child(void)
{
    /* the parent's lock stays the parent's: only drop our copy */
    if (gs_lock_fd_ok())
        close(gs_lock_fd);
    gs_lock_fd = -1;
    gs_lock_held = 0;
    gs_started = 0;
    gs_leader = 0;
}

void gs_warn_once(const char *key, const char *fmt, ...)
{
    if (gs_setting_bool("GREENSHIM_QUIET"))
        return;
    char p[PATH_MAX];
    int ok = gs_sub_ready() == 0;
    char k[96];
    snprintf(k, sizeof k, "warn.%s.%s", gs_id, key);
    gs_sub(p, sizeof p, k);
    int fd = ok ? open(p, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600) : -1;
    if (fd < 0 && ok && errno == EEXIST)
        return;                         /* another process of the run said it */
    if (fd >= 0)
        close(fd);
    char msg[900];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    gs_log("%s", msg);
}

/* ---- machine-scope energy: one sampling process per run ---- */

/* The lock's descriptor is still ours: a program that closes every
 * descriptor (daemons) may have reused the number for a file of its own,
 * which must never be written, truncated or unlocked through it. */
static dev_t gs_lock_dev;
static ino_t gs_lock_ino;

static int gs_lock_fd_ok(void)
{
    struct stat st;
    return gs_lock_fd >= 0 && fstat(gs_lock_fd, &st) == 0 && st.st_dev == gs_lock_dev &&
           st.st_ino == gs_lock_ino;
}

/* 1 when this process holds the machine lock (taken now or before); the
 * hand-over text of the previous holder in handover when taken now. */
int gs_run_machine_try(char *handover, size_t n)
{
    if (handover && n)
        handover[0] = 0;
    if (gs_lock_fd >= 0 && !gs_lock_fd_ok()) {
        gs_dbg("the machine-energy lock's descriptor was closed by the program: reopened");
        gs_lock_fd = -1;                /* not ours any more: never touched again */
        gs_lock_held = 0;
    }
    if (gs_lock_held)
        return 1;
    if (gs_lock_fd < 0) {
        if (!gs_started)
            return 0;                   /* no run directory of ours */
        char p[PATH_MAX], name[64];
        snprintf(name, sizeof name, "machine.%s.lock", gs_id);
        gs_sub(p, sizeof p, name);
        int fd = open(p, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
        if (fd < 0)
            return 0;
        int hi = fcntl(fd, F_DUPFD_CLOEXEC, 200);
        if (hi >= 0) {
            close(fd);
            fd = hi;
        }
        struct stat st;
        if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
            close(fd);
            return 0;
        }
        gs_lock_fd = fd;
        gs_lock_dev = st.st_dev;
        gs_lock_ino = st.st_ino;
    }
    if (flock(gs_lock_fd, LOCK_EX | LOCK_NB) != 0)
        return 0;
    gs_lock_held = 1;
    if (handover && n) {
        ssize_t r = pread(gs_lock_fd, handover, n - 1, 0);
        handover[r > 0 ? r : 0] = 0;
    }
    return 1;
}

void gs_run_machine_release(const char *handover)
{
    if (!gs_lock_held || !gs_lock_fd_ok()) {
        gs_lock_held = 0;
        return;
    }
    if (handover) {
        size_t l = strlen(handover);
        if (ftruncate(gs_lock_fd, 0) != 0 || pwrite(gs_lock_fd, handover, l, 0) != (ssize_t)l)
            gs_dbg("cannot hand the energy series over: the next holder starts afresh");
    }
    flock(gs_lock_fd, LOCK_UN);
    gs_lock_held = 0;
}

/* ---- the leader's summary ---- */

#define GS_SUM_PIDS 4096

struct gs_sum {
    unsigned started, ended;
    unsigned running, gone;             /* started, no end line: alive / not */
    int pids[GS_SUM_PIDS];              /* started; -1 once ended */
    unsigned npids;
    uint64_t calls, lost;
    double j_machine, j_process;
    uint64_t t0, t1;
    int measured, modelled;
    char src[48];
};

static void gs_read_procs(struct gs_sum *s)
{
    char p[PATH_MAX];
    char name[64];
    snprintf(name, sizeof name, "procs.%s", gs_id);
    gs_sub(p, sizeof p, name);
    FILE *f = fopen(p, "re");
    if (!f)
        return;
    char line[600];
    while (fgets(line, sizeof line, f)) {
        int pid;
        unsigned long long calls, lost, t0, t1;
        double jm, jp;
        char prov[20], src[48];
        if (strncmp(line, "start ", 6) == 0) {
            s->started++;
            if (s->npids < GS_SUM_PIDS)
                s->pids[s->npids++] = atoi(line + 6);
            continue;
        }
        if (sscanf(line, "end %d calls=%llu lost=%llu j_machine=%lf j_process=%lf t0=%llu t1=%llu "
                         "prov=%19s src=%47s", &pid, &calls, &lost, &jm, &jp, &t0, &t1, prov, src) != 9)
            continue;
        s->ended++;
        for (unsigned i = 0; i < s->npids; i++)
            if (s->pids[i] == pid) {
                s->pids[i] = -1;
                break;
            }
        s->calls += calls;
        s->lost += lost;
        s->j_machine += jm;
        s->j_process += jp;
        if (t0 && (!s->t0 || t0 < s->t0))
            s->t0 = t0;
        if (t1 > s->t1)
            s->t1 = t1;
        if (strcmp(prov, "measured") == 0)
            s->measured = 1;
        else if (strcmp(prov, "modelled") == 0)
            s->modelled = 1;
        if (strcmp(src, "-") != 0 && !strstr(s->src, src))
            snprintf(s->src + strlen(s->src), sizeof s->src - strlen(s->src), "%s%s",
                     s->src[0] ? "," : "", src);
    }
    fclose(f);
    for (unsigned i = 0; i < s->npids; i++)
        if (s->pids[i] > 0) {
            if (kill(s->pids[i], 0) == 0 || errno == EPERM)
                s->running++;
            else
                s->gone++;
        }
}

void gs_run_exit(void)
{
    if (!gs_leader || gs_setting_bool("GREENSHIM_QUIET"))
        return;
    static struct gs_sum s;            /* 16 KiB: not on a small stack */
    memset(&s, 0, sizeof s);
    gs_read_procs(&s);
    if (s.started == 0) {
        struct stat st;
        gs_log("no intercepted call in this run: nothing recorded (greenshim traces BLAS calls%s)",
               stat(gs_dir, &st) != 0 ? "; no trace directory made" : "");
        return;
    }
    char energy[200];
    snprintf(energy, sizeof energy, "%s", s.ended ? "energy not sampled" : "energy in the report");
    double j = s.j_machine + s.j_process;
    if (s.measured || s.modelled) {
        int n = snprintf(energy, sizeof energy, "energy %.3f J %s (%s)", j,
                         s.measured && s.modelled ? "measured and modelled"
                         : s.measured ? "measured" : "modelled", s.src);
        if (s.t1 > s.t0 && s.j_machine > 0)
            snprintf(energy + n, sizeof energy - n, ", %.3f W over %.3f s",
                     s.j_machine / ((double)(s.t1 - s.t0) * 1e-9), (double)(s.t1 - s.t0) * 1e-9);
    }
    char lost[64] = "", running[160] = "";
    if (s.lost)
        snprintf(lost, sizeof lost, " (%llu of them not recorded)", (unsigned long long)s.lost);
    if (s.running || s.gone) {
        int n = snprintf(running, sizeof running, " (");
        if (s.running)
            n += snprintf(running + n, sizeof running - n, "%u still running%s", s.running, s.gone ? ", " : "");
        if (s.gone)
            n += snprintf(running + n, sizeof running - n, "%u ended without a clean exit: killed?", s.gone);
        snprintf(running + n, sizeof running - n, "; their calls are in the report, not here)");
    }
    gs_log("traces in %s: %u process%s%s, %llu calls%s, %s; greenshim report %s",
           gs_dir, s.started, s.started == 1 ? "" : "es", running,
           (unsigned long long)s.calls, lost, energy, gs_dir);
}
