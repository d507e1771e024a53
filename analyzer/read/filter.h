/* filter.h - read/filter.c's helpers beside ana.h's filter API */
#ifndef GS_ANA_FILTER_H
#define GS_ANA_FILTER_H

/* --opt VALUE or --opt=VALUE: the value, NULL when argv[*i] is not --opt
 * (*missing set when --opt comes without its value) */
const char *ana_optval(int argc, char **argv, int *i, const char *opt, int *missing);
/* a region path matches a prefix at a path boundary ("train" matches
 * "train/fc1", not "training") */
int ana_region_match(const char *path, const char *want);

#endif
