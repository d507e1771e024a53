/* strings.c - a process's string table (ids to names), as the reader
 * filled it (read/trace_read.c): the lookup every decoder and stage uses. */
#include <stddef.h>
#include "ana.h"

const char *ana_string(const struct ana_proc *p, uint32_t id)
{
    if (!p->shcap)
        return NULL;
    for (size_t j = (id * 2654435761u) & (p->shcap - 1); p->shash[j]; j = (j + 1) & (p->shcap - 1))
        if (p->strs[p->shash[j] - 1].id == id)
            return p->strs[p->shash[j] - 1].text;
    return NULL;
}
