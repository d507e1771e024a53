/* greenshim.h - the public marker API for C and C++ trainers.
 *
 * Name the parts of a training step so that greenshim's report groups calls
 * and energy by them:
 *
 *     greenshim_region_push("encoder.3");
 *     ... forward of the layer ...
 *     greenshim_region_pop();
 *
 * The functions are declared weak: a program built with this header runs
 * unchanged without the shim (the symbols are then NULL and the
 * GREENSHIM_REGION_* macros do nothing).  Under
 * LD_PRELOAD=libgreenshim.so they resolve to the recorder.  Names nest;
 * the report shows the innermost region of each call with its whole path
 * ("model/encoder.3").  Regions are per thread.
 */
#ifndef GREENSHIM_H
#define GREENSHIM_H

#ifdef __cplusplus
extern "C" {
#endif

void greenshim_region_push(const char *name) __attribute__((weak));
void greenshim_region_pop(void) __attribute__((weak));
/* the same, saying who named it (0 the program, 1 NVTX, 2 greenshim.annotate) */
void greenshim_region_push_from(const char *name, int origin) __attribute__((weak));
/* 1 when the recorder is loaded and recording, else 0 */
int greenshim_active(void) __attribute__((weak));

#define GREENSHIM_REGION_PUSH(name) \
    do { if (greenshim_region_push) greenshim_region_push(name); } while (0)
#define GREENSHIM_REGION_POP() \
    do { if (greenshim_region_pop) greenshim_region_pop(); } while (0)

#ifdef __cplusplus
}
#endif
#endif
