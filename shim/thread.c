/* thread.c - the recorder's per-thread state (gs_tls) and the process
 * generation (gs_gen, bumped in a fork child): every file uses them, so they
 * live in a file that uses nobody. */
#include "gs.h"

__thread struct gs_thread gs_tls __attribute__((tls_model("initial-exec")));
int gs_gen = 1;
