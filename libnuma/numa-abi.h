/* SPDX-License-Identifier: MIT */
/*
 * The binary interface of libnuma.so.1 (numactl 2.0.16, Debian 12's
 * libnuma1), written out from numa(3) and the layouts that programs built
 * against libnuma-dev already use.  Only the types and the names matter
 * here: struct bitmask and nodemask_t must have libnuma's layout, because
 * programs allocate, read and copy them (and nodemask_t by value, in the
 * version 1 calls).  tests/libnuma/test_abi.c checks the layouts against
 * the installed <numa.h> when there is one.
 */
#ifndef MEMBIND_NUMA_ABI_H
#define MEMBIND_NUMA_ABI_H

#include <stddef.h>
#include <sys/types.h>

/* Bits in the fixed-size nodemask_t of the version 1 interface. */
#if defined(__x86_64__) || defined(__i386__)
#define NUMA_ABI_NODEMASK_BITS 128
#else
#define NUMA_ABI_NODEMASK_BITS 2048
#endif

typedef struct {
	unsigned long n[NUMA_ABI_NODEMASK_BITS / (sizeof(unsigned long) * 8)];
} nodemask_t;

struct bitmask {
	unsigned long size;   /* bits */
	unsigned long *maskp; /* whole unsigned longs */
};

#endif
