/* gpu_profiler.c - the user's own profiler in the same process (what
 * torch.profiler's Kineto does with CUPTI): subscribe, register activity
 * buffers, enable kernel activity, use CUSTOM0 external correlation.
 * Linked against the CUPTI it finds (tests/fakes/fake_cupti.c where no
 * GPU driver is).  With PLAY_INJECTION=1 it first calls the CUDA driver's
 * injection entry point, as cuInit does under the recorder, so that the
 * recorder has taken CUPTI before the profiler asks.  Prints what the
 * profiler got: the same with and without the recorder. */
#define _GNU_SOURCE
#include <cupti.h>
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>

const char *fake_cupti_state(const void *my_cb, const void *my_req, const void *my_ts);

static void CUPTIAPI my_cb(void *u, CUpti_CallbackDomain d, CUpti_CallbackId id, const void *p)
{
    (void)u; (void)d; (void)id; (void)p;
}
static void CUPTIAPI my_req(uint8_t **b, size_t *sz, size_t *max)
{
    *b = malloc(1 << 16);
    *sz = 1 << 16;
    *max = 0;
}
static void CUPTIAPI my_done(CUcontext c, uint32_t s, uint8_t *b, size_t sz, size_t valid)
{
    (void)c; (void)s; (void)sz; (void)valid;
    free(b);
}

int main(void)
{
    int (*inj)(void) = (int (*)(void))dlsym(RTLD_DEFAULT, "InitializeInjection");
    if (getenv("PLAY_INJECTION") && inj)
        inj();
    CUpti_SubscriberHandle s;
    int r1 = cuptiSubscribe(&s, (CUpti_CallbackFunc)my_cb, NULL);
    int r2 = cuptiActivityRegisterCallbacks(my_req, my_done);
    int r3 = cuptiActivityEnable(CUPTI_ACTIVITY_KIND_CONCURRENT_KERNEL);
    uint64_t got = 0;
    int r4 = cuptiActivityPushExternalCorrelationId(CUPTI_EXTERNAL_CORRELATION_KIND_CUSTOM0, 42);
    int r5 = cuptiActivityPopExternalCorrelationId(CUPTI_EXTERNAL_CORRELATION_KIND_CUSTOM0, &got);
    printf("subscribe %d buffers %d enable %d ext %d/%d/%llu\n", r1, r2, r3, r4, r5, (unsigned long long)got);
    printf("%s\n", fake_cupti_state((const void *)my_cb, (const void *)my_req, NULL));
    return 0;
}
