/* fake_cupti.c - a stand-in for libcupti.so.13 where no GPU driver is (the
 * real CUPTI answers CUPTI_ERROR_UNKNOWN to everything without one): just
 * the bookkeeping that two CUPTI clients in one process contend for.
 *   - one subscriber at a time: a second cuptiSubscribe(_v2) gets
 *     CUPTI_ERROR_MULTIPLE_SUBSCRIBERS_NOT_SUPPORTED (39), as the real one;
 *   - one set of activity buffer callbacks, one timestamp callback, the
 *     enabled activity kinds, per-kind external-correlation stacks;
 *   - fake_cupti_state() says who holds what, for the test to print.
 * Built as build/fakes/cupti/libcupti.so.13 (test_cupti_yield.sh). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef int CUptiResult;
typedef void *CUpti_SubscriberHandle;
typedef void (*CUpti_CallbackFunc)(void *, int, unsigned, const void *);
typedef void (*req_fn)(uint8_t **, size_t *, size_t *);
typedef void (*done_fn)(void *, uint32_t, uint8_t *, size_t, size_t);
typedef uint64_t (*ts_fn)(void);
enum { OK = 0, INVALID = 1, MULTIPLE = 39, MAX_END = 2 };

static CUpti_CallbackFunc sub_cb;
static int subscribed;
static req_fn breq;
static done_fn bdone;
static ts_fn tscb;
static int enabled[64];
static int nsub_calls, nsub_refused;

CUptiResult cuptiSubscribe(CUpti_SubscriberHandle *s, CUpti_CallbackFunc cb, void *ud)
{
    (void)ud;
    nsub_calls++;
    if (!s)
        return INVALID;
    if (subscribed) {
        nsub_refused++;
        return MULTIPLE;
    }
    subscribed = 1;
    sub_cb = cb;
    *s = (void *)&subscribed;
    return OK;
}
CUptiResult cuptiSubscribe_v2(CUpti_SubscriberHandle *s, CUpti_CallbackFunc cb, void *ud, void *params)
{
    (void)params;
    return cuptiSubscribe(s, cb, ud);
}
CUptiResult cuptiUnsubscribe(CUpti_SubscriberHandle s)
{
    if (!subscribed || s != (void *)&subscribed)
        return INVALID;
    subscribed = 0;
    sub_cb = NULL;
    return OK;
}
CUptiResult cuptiEnableCallback(uint32_t en, CUpti_SubscriberHandle s, int dom, unsigned cbid)
{
    (void)en; (void)dom; (void)cbid;
    return subscribed && s == (void *)&subscribed ? OK : INVALID;
}
CUptiResult cuptiActivityEnable(int kind)
{
    if (kind < 0 || kind >= 64)
        return INVALID;
    enabled[kind] = 1;
    return OK;
}
CUptiResult cuptiActivityDisable(int kind)
{
    if (kind < 0 || kind >= 64)
        return INVALID;
    enabled[kind] = 0;
    return OK;
}
CUptiResult cuptiActivityRegisterCallbacks(req_fn r, done_fn d)
{
    if (!r || !d)
        return INVALID;
    breq = r;
    bdone = d;
    return OK;
}
CUptiResult cuptiActivityRegisterTimestampCallback(ts_fn f)
{
    tscb = f;
    return OK;
}
CUptiResult cuptiActivityFlushAll(uint32_t flag)
{
    (void)flag;
    return OK;
}
CUptiResult cuptiActivityGetNextRecord(uint8_t *buf, size_t valid, void **rec)
{
    (void)buf; (void)valid; (void)rec;
    return MAX_END;
}
CUptiResult cuptiActivityGetNumDroppedRecords(void *ctx, uint32_t stream, size_t *n)
{
    (void)ctx; (void)stream;
    if (n)
        *n = 0;
    return OK;
}
static uint64_t ext_stack[8][64];
static int ext_n[8];
CUptiResult cuptiActivityPushExternalCorrelationId(int kind, uint64_t id)
{
    if (kind < 0 || kind >= 8 || ext_n[kind] >= 64)
        return INVALID;
    ext_stack[kind][ext_n[kind]++] = id;
    return OK;
}
CUptiResult cuptiActivityPopExternalCorrelationId(int kind, uint64_t *id)
{
    if (kind < 0 || kind >= 8 || !ext_n[kind])
        return INVALID;
    uint64_t v = ext_stack[kind][--ext_n[kind]];
    if (id)
        *id = v;
    return OK;
}
CUptiResult cuptiGetResultString(CUptiResult r, const char **s)
{
    if (!s)
        return INVALID;
    *s = r == MULTIPLE ? "CUPTI_ERROR_MULTIPLE_SUBSCRIBERS_NOT_SUPPORTED" : r == OK ? "CUPTI_SUCCESS"
                                                                               : "CUPTI_ERROR (fake)";
    return OK;
}
CUptiResult cuptiGetTimestamp(uint64_t *t)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    if (t)
        *t = (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec + 12345;
    return OK;
}

/* For the test: who holds the subscription, the buffers and the clock.
 * 'mine' are the calling program's own callbacks. */
const char *fake_cupti_state(const void *my_cb, const void *my_req, const void *my_ts)
{
    static char b[256];
    snprintf(b, sizeof b, "subscriber=%s buffers=%s timestamps=%s kernel_activity=%d refused=%d",
             !subscribed ? "none" : (const void *)sub_cb == my_cb ? "program" : "other",
             !breq ? "none" : (const void *)breq == my_req ? "program" : "other",
             !tscb ? "cupti" : (const void *)tscb == my_ts ? "program" : "other", enabled[10], nsub_refused);
    return b;
}
