/* run.h - a run as one unit (run.c): the processes of one traced command
 * share a run id and directory; the first of them (the leader) prints the
 * one summary line at its exit; machine-wide energy is sampled by one
 * process at a time (the holder of the run's lock). */
#ifndef GS_RUN_H
#define GS_RUN_H

#include <stdint.h>
#include "gs.h"

/* in the constructor: run id, role and directory name, exported to children */
GS_HIDDEN int gs_run_setup(void);
GS_HIDDEN int gs_run_is_leader(void);
GS_HIDDEN const char *gs_run_rank(void);      /* "" when none; safe for file names */
/* job.c: the launcher's identity (RANK, OMPI_COMM_WORLD_*, PMI*, SLURM_*), read once */
GS_HIDDEN void gs_job_load(void);
GS_HIDDEN const char *gs_job_rank(void);     /* digits, "" when no launcher numbered this process */
/* at the process's first call */
GS_HIDDEN const char *gs_run_dir(void);
GS_HIDDEN void gs_run_start(void);            /* header lines, this process's entry */
struct gs_energy_tally;
GS_HIDDEN void gs_run_stop(uint64_t calls, uint64_t lost, const struct gs_energy_tally *e);  /* this process's exit entry */
GS_HIDDEN void gs_run_fork_child(void);
GS_HIDDEN void gs_run_exit(void);             /* the leader: one summary line */

/* Machine-scope energy: only the holder of the run's lock samples it.
 * try: 1 when held (now or before).  The holder hands its last values to
 * the next one through the lock file: "key value mono_ns" lines. */
GS_HIDDEN int  gs_run_machine_try(char *handover, size_t n);
GS_HIDDEN void gs_run_machine_release(const char *handover);

/* What this process measured, for its exit entry (the sampler's tally). */
struct gs_energy_tally {
    double   j_machine;               /* scope=machine domains that add into the total */
    double   j_process;               /* scope=process domains (the CPU-time model) */
    uint64_t t0_ns, t1_ns;            /* CLOCK_MONOTONIC span of the machine series */
    char     provenance[16];          /* measured, modelled, or "" */
    char     sources[48];             /* "rapl", "model", ... */
};
GS_HIDDEN void gs_sampler_tally(struct gs_energy_tally *t);

#endif
