/* rows.h - the row helpers of stages/rows.c beside ana.h's row API */
#ifndef GS_ANA_ROWS_H
#define GS_ANA_ROWS_H
#include "ana.h"

/* rows grow by doubling: call before writing row n */
void *ana_row_grow(void *rows, size_t n, size_t size);
/* a row's first appearance before anything was seen */
extern const struct ana_first ana_first_none;

#endif
