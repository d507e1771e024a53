/* map.c - open-addressing hash maps for the analyzer's rows and ids, so
 * that every lookup costs O(1) whatever the number of regions, layers or
 * shapes (a linear search per call made 40k regions take minutes). */
#include <stdlib.h>
#include <string.h>
#include "ana.h"

static uint64_t mix(uint64_t x)
{
    x ^= x >> 33; x *= 0xff51afd7ed558ccdull;
    x ^= x >> 33; x *= 0xc4ceb9fe1a85ec53ull;
    return x ^ (x >> 33);
}

uint64_t ana_hash_bytes(const void *p, size_t n)
{
    const unsigned char *s = p;
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < n; i++)
        h = (h ^ s[i]) * 1099511628211ull;
    return mix(h);
}

static void grow(struct ana_map *m)
{
    size_t ncap = m->cap ? m->cap * 2 : 64;
    struct ana_map n = { ana_xmalloc(ncap, sizeof *n.key), ana_xmalloc(ncap, sizeof *n.val),
                         ana_xmalloc(ncap, sizeof *n.used), ncap, 0 };
    memset(n.used, 0, ncap);
    for (size_t i = 0; i < m->cap; i++)
        if (m->used[i]) {
            size_t j = mix(m->key[i]) & (ncap - 1);
            while (n.used[j])
                j = (j + 1) & (ncap - 1);
            n.used[j] = 1; n.key[j] = m->key[i]; n.val[j] = m->val[i];
            n.n++;
        }
    free(m->key); free(m->val); free(m->used);
    *m = n;
}

/* the value of key, or dflt */
uint32_t ana_map_get(const struct ana_map *m, uint64_t key, uint32_t dflt)
{
    if (!m->cap)
        return dflt;
    for (size_t j = mix(key) & (m->cap - 1); m->used[j]; j = (j + 1) & (m->cap - 1))
        if (m->key[j] == key)
            return m->val[j];
    return dflt;
}

void ana_map_put(struct ana_map *m, uint64_t key, uint32_t val)
{
    if ((m->n + 1) * 2 > m->cap)
        grow(m);
    size_t j = mix(key) & (m->cap - 1);
    for (; m->used[j]; j = (j + 1) & (m->cap - 1))
        if (m->key[j] == key) {
            m->val[j] = val;
            return;
        }
    m->used[j] = 1; m->key[j] = key; m->val[j] = val;
    m->n++;
}

void ana_map_free(struct ana_map *m)
{
    free(m->key); free(m->val); free(m->used);
    memset(m, 0, sizeof *m);
}

/* names -> index: the map holds hash -> index + 1 chains by probing on the
 * full hash; names are compared, so colliding hashes stay apart */
int ana_names_find(const struct ana_names *nm, const char *name)
{
    if (!nm->cap)
        return -1;
    uint64_t h = ana_hash_bytes(name, strlen(name));
    for (size_t j = h & (nm->cap - 1); nm->idx[j]; j = (j + 1) & (nm->cap - 1))
        if (nm->hash[j] == h && strcmp(nm->name_of(nm->ctx, nm->idx[j] - 1), name) == 0)
            return (int)(nm->idx[j] - 1);
    return -1;
}

void ana_names_add(struct ana_names *nm, const char *name, uint32_t index)
{
    if ((nm->n + 1) * 2 > nm->cap) {
        size_t ncap = nm->cap ? nm->cap * 2 : 64;
        uint64_t *hash = ana_xmalloc(ncap, sizeof *hash);
        uint32_t *idx = ana_xmalloc(ncap, sizeof *idx);
        memset(idx, 0, ncap * sizeof *idx);
        for (size_t i = 0; i < nm->cap; i++)
            if (nm->idx[i]) {
                size_t j = nm->hash[i] & (ncap - 1);
                while (idx[j])
                    j = (j + 1) & (ncap - 1);
                idx[j] = nm->idx[i];
                hash[j] = nm->hash[i];
            }
        free(nm->hash); free(nm->idx);
        nm->hash = hash; nm->idx = idx; nm->cap = ncap;
    }
    uint64_t h = ana_hash_bytes(name, strlen(name));
    size_t j = h & (nm->cap - 1);
    while (nm->idx[j])
        j = (j + 1) & (nm->cap - 1);
    nm->idx[j] = index + 1;
    nm->hash[j] = h;
    nm->n++;
}

void ana_names_free(struct ana_names *nm)
{
    free(nm->hash); free(nm->idx);
    nm->hash = NULL; nm->idx = NULL; nm->cap = nm->n = 0;
}
