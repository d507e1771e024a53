/* job.c - which rank of which job this process is, as its launcher says
 * (torchrun / torch.distributed, Open MPI, PMIx, MPICH's PMI, Slurm).
 *
 * The launcher's variables are read once, when the library loads (with
 * the GREENSHIM_* settings: gs_run_setup calls gs_job_load), from one table;
 * the module's init writes them into the trace header as job.* lines, so
 * that the analyzer joins the processes of one job into one run whichever
 * directory or node wrote them (docs/distributed.md).  A process that no
 * launcher numbered (mpirun itself, a shell) has no job.rank line. */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "gs.h"
#include "run.h"

/* what a variable tells */
enum { V_RANK, V_LOCAL, V_SIZE, V_JOB, V_STEP, V_NODE, V_NODEID, V_ADDR, V_PORT, V_NF };

struct gs_job_var {
    const char *name;
    const char *launcher;         /* the launcher it names */
    int what;
};

/* In order of precedence within each kind: torch's own numbering first
 * (torchrun under srun still numbers its ranks itself), then MPI's, then
 * the resource manager's. */
static const struct gs_job_var gs_job_vars[] = {
    { "RANK", "torchrun", V_RANK },
    { "OMPI_COMM_WORLD_RANK", "openmpi", V_RANK },
    { "PMIX_RANK", "pmix", V_RANK },
    { "PMI_RANK", "pmi", V_RANK },
    { "SLURM_PROCID", "slurm", V_RANK },
    { "LOCAL_RANK", "torchrun", V_LOCAL },
    { "OMPI_COMM_WORLD_LOCAL_RANK", "openmpi", V_LOCAL },
    { "MPI_LOCALRANKID", "pmi", V_LOCAL },
    { "SLURM_LOCALID", "slurm", V_LOCAL },
    { "WORLD_SIZE", "torchrun", V_SIZE },
    { "OMPI_COMM_WORLD_SIZE", "openmpi", V_SIZE },
    { "PMI_SIZE", "pmi", V_SIZE },
    { "SLURM_NTASKS", "slurm", V_SIZE },
    { "TORCHELASTIC_RUN_ID", "torchrun", V_JOB },
    { "OMPI_MCA_ess_base_jobid", "openmpi", V_JOB },
    { "PMIX_NAMESPACE", "pmix", V_JOB },
    { "SLURM_JOB_ID", "slurm", V_JOB },
    { "SLURM_JOBID", "slurm", V_JOB },
    { "SLURM_STEP_ID", "slurm", V_STEP },
    { "SLURMD_NODENAME", "slurm", V_NODE },
    { "SLURM_NODEID", "slurm", V_NODEID },
    { "MASTER_ADDR", "torchrun", V_ADDR },
    { "MASTER_PORT", "torchrun", V_PORT },
};
#define GS_JOB_NVARS (sizeof gs_job_vars / sizeof gs_job_vars[0])

static struct {
    char val[V_NF][128];
    const char *from[V_NF];       /* the launcher whose variable gave it */
    char rank_file[24];           /* the rank, safe in a file name */
} gs_job;

/* printable, one line, bounded: the header is key: value text */
static void gs_job_copy(char *out, size_t n, const char *v)
{
    size_t o = 0;
    for (; *v && o + 1 < n; v++)
        out[o++] = (unsigned char)*v < 0x20 || *v == 0x7f ? '_' : *v;
    out[o] = 0;
}

static int gs_is_uint(const char *s)
{
    if (!*s)
        return 0;
    for (; *s; s++)
        if (*s < '0' || *s > '9')
            return 0;
    return 1;
}

void gs_job_load(void)
{
    memset(&gs_job, 0, sizeof gs_job);
    for (size_t i = 0; i < GS_JOB_NVARS; i++) {
        const struct gs_job_var *r = &gs_job_vars[i];
        if (gs_job.from[r->what])
            continue;                   /* an earlier row of the same kind won */
        const char *v = getenv(r->name);
        if (!v || !*v)
            continue;
        /* numbers must be numbers: RANK=abc is not a rank */
        if ((r->what == V_RANK || r->what == V_LOCAL || r->what == V_SIZE || r->what == V_NODEID) &&
            !gs_is_uint(v))
            continue;
        gs_job_copy(gs_job.val[r->what], sizeof gs_job.val[0], v);
        gs_job.from[r->what] = r->launcher;
    }
    const char *rk = gs_job.val[V_RANK];
    size_t o = 0;
    for (; *rk && o + 1 < sizeof gs_job.rank_file; rk++)
        gs_job.rank_file[o++] = *rk;
    gs_job.rank_file[o] = 0;
}

const char *gs_job_rank(void) { return gs_job.rank_file; }

static void gs_job_init(void)
{
    if (!gs_job.from[V_RANK] && !gs_job.from[V_JOB])
        return;                         /* not started by a launcher we know */
    /* the launcher is the one that numbered this rank; without a rank (mpirun
     * itself under Slurm), the one that named the job */
    const char *launcher = gs_job.from[V_RANK] ? gs_job.from[V_RANK] : gs_job.from[V_JOB];
    gs_header_add("job.launcher", "%s", launcher);
    char id[300] = "";
    if (gs_job.from[V_JOB]) {
        if (strcmp(gs_job.from[V_JOB], "slurm") == 0 && gs_job.val[V_STEP][0])
            snprintf(id, sizeof id, "slurm:%s.%s", gs_job.val[V_JOB], gs_job.val[V_STEP]);
        else
            snprintf(id, sizeof id, "%s:%s", gs_job.from[V_JOB], gs_job.val[V_JOB]);
    } else if (gs_job.val[V_ADDR][0] && gs_job.val[V_PORT][0]) {
        /* torch.distributed started by hand: the rendezvous names the job */
        snprintf(id, sizeof id, "tcp:%s:%s", gs_job.val[V_ADDR], gs_job.val[V_PORT]);
    }
    if (id[0])
        gs_header_add("job.id", "%s", id);
    if (gs_job.from[V_RANK])
        gs_header_add("job.rank", "%s", gs_job.val[V_RANK]);
    if (gs_job.from[V_LOCAL])
        gs_header_add("job.local_rank", "%s", gs_job.val[V_LOCAL]);
    if (gs_job.from[V_SIZE])
        gs_header_add("job.world_size", "%s", gs_job.val[V_SIZE]);
    if (gs_job.from[V_NODE])
        gs_header_add("job.node", "%s", gs_job.val[V_NODE]);
    if (gs_job.from[V_NODEID])
        gs_header_add("job.node_id", "%s", gs_job.val[V_NODEID]);
    if (gs_job.val[V_ADDR][0])
        gs_header_add("job.master", "%s:%s", gs_job.val[V_ADDR], gs_job.val[V_PORT][0] ? gs_job.val[V_PORT] : "-");
}

GS_MODULE(job, gs_job_init, NULL, NULL, NULL);
