/* sources/rapl.c - measured CPU energy: RAPL through libpowercap, loaded with
 * dlopen so that a host without it still gets a working shim (modelled).
 * Every top-level intel-rapl instance (Intel, and AMD kernels that expose
 * intel-rapl) and its zones: package, core, uncore, dram, psys.
 *
 * libpowercap 0.6 opens every zone file at powercap_rapl_init() and prints
 * its own "[ERROR] [powercap]" lines on stderr when one fails (even with
 * read_only=1 an energy_uj that is not readable fails the whole init), and
 * also when no zone exists or a zone name is unknown.  So the tree is probed
 * here first, with plain open(), and libpowercap is only asked about
 * instances it will accept: the user sees one greenshim line, not its noise. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <powercap/powercap-rapl.h>
#include "../gs.h"
#include "source.h"

#define GS_RAPL_DIR      "/sys/class/powercap/intel-rapl"
#define GS_RAPL_MAX_PKG  32
#define GS_RAPL_MAX_DOM  (GS_RAPL_MAX_PKG * 5)
#define GS_RAPL_LIB      "libpowercap.so.0"

/* function-pointer types taken from libpowercap's own prototypes */
static __typeof__(powercap_rapl_init)                   *gs_pc_init;
static __typeof__(powercap_rapl_destroy)                *gs_pc_destroy;
static __typeof__(powercap_rapl_is_zone_file_supported) *gs_pc_file_supported;
static __typeof__(powercap_rapl_get_energy_uj)          *gs_pc_energy;
static __typeof__(powercap_rapl_get_max_energy_range_uj)*gs_pc_max_range;

struct gs_rapl_dom {
    int pkg;                      /* index into gs_rapl_pkgs */
    powercap_rapl_zone zone;
};

static powercap_rapl_pkg gs_rapl_pkgs[GS_RAPL_MAX_PKG];
static int gs_rapl_npkg;
static struct gs_rapl_dom gs_rapl_doms[GS_RAPL_MAX_DOM];
static int gs_rapl_ndom;

static const char *const gs_rapl_zone_names[] = { "package", "core", "uncore", "dram", "psys" };

/* The zone type libpowercap derives from a zone's name, or -1 when it would
 * reject the name. */
static int gs_rapl_zone_of(const char *dir)
{
    char path[512], name[64];
    snprintf(path, sizeof path, "%s/name", dir);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    ssize_t n = pread(fd, name, sizeof name - 1, 0);
    close(fd);
    if (n <= 0)
        return -1;
    name[n] = '\0';
    name[strcspn(name, "\n")] = '\0';
    if (strncmp(name, "package", 7) == 0)
        return POWERCAP_RAPL_ZONE_PACKAGE;
    for (int z = POWERCAP_RAPL_ZONE_CORE; z <= POWERCAP_RAPL_ZONE_PSYS; z++)
        if (strcmp(name, gs_rapl_zone_names[z]) == 0)
            return z;
    return -1;
}

static int gs_is_dir(const char *p)
{
    struct stat st;
    return stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

/* 0: energy_uj readable or absent; else the errno of opening it */
static int gs_rapl_probe_energy(const char *dir)
{
    char path[512];
    snprintf(path, sizeof path, "%s/energy_uj", dir);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd >= 0) {
        close(fd);
        return 0;
    }
    return errno == ENOENT ? 0 : errno;
}

/* Probe instance id: 1 usable, 0 skip; *err gets an open() errno of energy_uj. */
static int gs_rapl_probe(unsigned id, int *err)
{
    char dir[256], sub[512];
    snprintf(dir, sizeof dir, GS_RAPL_DIR "/intel-rapl:%x", id);
    if (gs_rapl_zone_of(dir) < 0) {
        gs_dbg("RAPL zone %s has an unknown name: skipped", dir);
        return 0;
    }
    int e = gs_rapl_probe_energy(dir);
    unsigned seen = 0;
    for (unsigned j = 0;; j++) {
        snprintf(sub, sizeof sub, "%s/intel-rapl:%x:%x", dir, id, j);
        if (!gs_is_dir(sub))
            break;
        int z = gs_rapl_zone_of(sub);
        if (z < 0 || (seen & (1u << z))) {   /* libpowercap fails the instance */
            gs_dbg("RAPL zone %s unknown or duplicate: instance skipped", sub);
            return 0;
        }
        seen |= 1u << z;
        if (!e)
            e = gs_rapl_probe_energy(sub);
    }
    if (e) {
        *err = e;
        return 0;
    }
    return 1;
}

static int gs_rapl_load(void)
{
    void *h = dlopen(GS_RAPL_LIB, RTLD_NOW | RTLD_LOCAL);
    if (!h) {
        const char *why = dlerror();
        gs_warn_once("no-libpowercap", "%s not loadable (%s): RAPL energy will be modelled; install it "
               "(Debian/Ubuntu: apt-get install libpowercap0)", GS_RAPL_LIB, why ? why : "?");
        return -1;
    }
    gs_pc_init = (__typeof__(gs_pc_init))dlsym(h, "powercap_rapl_init");
    gs_pc_destroy = (__typeof__(gs_pc_destroy))dlsym(h, "powercap_rapl_destroy");
    gs_pc_file_supported = (__typeof__(gs_pc_file_supported))dlsym(h, "powercap_rapl_is_zone_file_supported");
    gs_pc_energy = (__typeof__(gs_pc_energy))dlsym(h, "powercap_rapl_get_energy_uj");
    gs_pc_max_range = (__typeof__(gs_pc_max_range))dlsym(h, "powercap_rapl_get_max_energy_range_uj");
    if (!gs_pc_init || !gs_pc_destroy || !gs_pc_file_supported || !gs_pc_energy || !gs_pc_max_range) {
        gs_warn_once("old-libpowercap", "%s lacks the RAPL functions greenshim needs (version older than 0.1?): "
               "RAPL energy will be modelled; install libpowercap 0.6 or later", GS_RAPL_LIB);
        dlclose(h);
        return -1;
    }
    return 0;
}

/* libpowercap opens its files without O_CLOEXEC; keep them out of exec'd
 * programs (powercap_rapl_pkg is nothing but file descriptors). */
static void gs_rapl_cloexec(powercap_rapl_pkg *p)
{
    int *fd = (int *)p;
    for (size_t i = 0; i < sizeof *p / sizeof(int); i++)
        if (fd[i] > 0)
            fcntl(fd[i], F_SETFD, FD_CLOEXEC);
}

static int gs_rapl_probe_all(struct gs_domain *doms, int max)
{
    gs_rapl_npkg = 0;
    gs_rapl_ndom = 0;
    char dir[256];
    snprintf(dir, sizeof dir, GS_RAPL_DIR "/intel-rapl:0");
    if (!gs_is_dir(dir)) {
        gs_warn_once("no-rapl", "no RAPL energy counters (" GS_RAPL_DIR " absent: a VM, or the intel_rapl "
               "module not loaded): energy will be modelled from CPU time; on bare metal run "
               "'modprobe intel_rapl_common' for measured energy");
        return 0;
    }
    unsigned ids[GS_RAPL_MAX_PKG];
    int nids = 0, err = 0;
    for (unsigned id = 0; id < GS_RAPL_MAX_PKG; id++) {
        snprintf(dir, sizeof dir, GS_RAPL_DIR "/intel-rapl:%x", id);
        if (!gs_is_dir(dir))
            break;
        if (gs_rapl_probe(id, &err))
            ids[nids++] = id;
    }
    if (err) {
        /* a partial set of zones would give a partial total: all or nothing */
        if (err == EACCES || err == EPERM)
            gs_warn_once("rapl-perm", "RAPL energy_uj not readable (permission denied): energy will be modelled; "
                   "run as root or 'sudo chmod o+r /sys/class/powercap/intel-rapl:*/energy_uj'");
        else
            gs_warn_once("rapl-read", "RAPL energy_uj not readable (%s): energy will be modelled; check "
                   GS_RAPL_DIR "/intel-rapl:*/energy_uj", strerror(err));
        return 0;
    }
    if (nids == 0) {
        gs_warn_once("rapl-zones", "no usable RAPL zone under " GS_RAPL_DIR " (unknown zone names): energy will "
               "be modelled; GREENSHIM_DEBUG=1 names the zones");
        return 0;
    }
    if (gs_rapl_load() != 0)
        return 0;

    int count[5] = { 0, 0, 0, 0, 0 };
    int nsum = 0;
    for (int k = 0; k < nids; k++) {
        powercap_rapl_pkg *p = &gs_rapl_pkgs[gs_rapl_npkg];
        memset(p, 0, sizeof *p);
        if (gs_pc_init(ids[k], p, 1) != 0) {
            gs_warn_once("rapl-zone", "RAPL zone intel-rapl:%x not usable through libpowercap (%s): its energy "
                   "is left out; check " GS_RAPL_DIR "/intel-rapl:%x", ids[k], strerror(errno), ids[k]);
            continue;
        }
        gs_rapl_cloexec(p);
        int live = 0;
        for (int z = POWERCAP_RAPL_ZONE_PACKAGE; z <= POWERCAP_RAPL_ZONE_PSYS; z++) {
            if (gs_pc_file_supported(p, z, POWERCAP_ZONE_FILE_ENERGY_UJ) != 1)
                continue;
            uint64_t v, range = 0;
            if (gs_pc_energy(p, z, &v) != 0) {
                gs_dbg("RAPL %s zone of intel-rapl:%x: energy_uj read failed (%s): skipped",
                       gs_rapl_zone_names[z], ids[k], strerror(errno));
                continue;
            }
            if (gs_pc_max_range(p, z, &range) != 0)
                range = 0;              /* the analyzer then treats a drop as a wrap of unknown range */
            if (gs_rapl_ndom >= max || gs_rapl_ndom >= GS_RAPL_MAX_DOM)
                break;
            struct gs_rapl_dom *d = &gs_rapl_doms[gs_rapl_ndom];
            struct gs_domain *o = &doms[gs_rapl_ndom++];
            memset(o, 0, sizeof *o);
            d->pkg = gs_rapl_npkg;
            d->zone = z;
            snprintf(o->name, sizeof o->name, "%s-%d", gs_rapl_zone_names[z], count[z]++);
            snprintf(o->key, sizeof o->key, "rapl:%x:%s", ids[k], gs_rapl_zone_names[z]);
            o->kind = GS_SAMPLE_ENERGY_UJ;
            o->component = z == POWERCAP_RAPL_ZONE_DRAM ? GS_COMP_DRAM
                           : z == POWERCAP_RAPL_ZONE_PSYS ? GS_COMP_OTHER : GS_COMP_CPU;
            o->scope = GS_SCOPE_MACHINE;
            o->joules_per_unit = 1e-6;
            /* core/uncore lie inside package, psys contains it: only package
             * and dram add into the total */
            o->sum = z == POWERCAP_RAPL_ZONE_PACKAGE || z == POWERCAP_RAPL_ZONE_DRAM;
            o->max_range = range;
            nsum += o->sum;
            live++;
        }
        if (live)
            gs_rapl_npkg++;
        else
            gs_pc_destroy(p);
    }
    if (nsum == 0)                      /* psys alone: it is then the total */
        for (int i = 0; i < gs_rapl_ndom; i++)
            if (gs_rapl_doms[i].zone == POWERCAP_RAPL_ZONE_PSYS)
                doms[i].sum = 1;
    if (gs_rapl_ndom == 0)
        gs_warn_once("rapl-none", "RAPL zones found but none has a readable energy_uj: energy will be modelled; "
               "check " GS_RAPL_DIR "/intel-rapl:*/energy_uj");
    return gs_rapl_ndom;
}

static int gs_rapl_read(int i, uint64_t *val)
{
    const struct gs_rapl_dom *d = &gs_rapl_doms[i];
    return gs_pc_energy(&gs_rapl_pkgs[d->pkg], d->zone, val);
}

static void gs_rapl_close(void)
{
    for (int k = 0; k < gs_rapl_npkg; k++)
        gs_pc_destroy(&gs_rapl_pkgs[k]);
    gs_rapl_npkg = 0;
    gs_rapl_ndom = 0;
}

static const struct gs_esource gs_src_rapl = {
    .name = "rapl", .component = "cpu dram", .provenance = "measured", .period_ms = 0,
    .probe = gs_rapl_probe_all, .sample = gs_rapl_read, .fini = gs_rapl_close,
};
GS_SOURCE(gs_src_rapl);
