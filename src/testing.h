/* SPDX-License-Identifier: MIT */
/*
 * Entry points for the project's own tests and benchmarks only: internal to
 * the library (libmembind.so does not export them; they are reached through
 * the internal static archive), never installed, no promise of stability.
 */
#ifndef MEMBIND_TESTING_H
#define MEMBIND_TESTING_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* Figures of the last mb_remote_*() call: the threads worked on, how many
 * were held over 1 ms, and the longest hold (tests/remote/bench-remote). */
void mb_remote_last_stats(unsigned long *threads, unsigned long *over_1ms,
			  uint64_t *max_pause_ns);
/* The same call's injection window (the time a thread's registers or stack
 * were ours): the longest one thread had, and the sum over its threads. */
void mb_remote_last_window(uint64_t *max_ns, uint64_t *total_ns);
/* Make the nth successful set_mempolicy() of the following remote calls
 * count as failed afterwards, to drive the rollback (0: off). */
void mb_remote_test_fault_after_set(int n);
/* The engine's search for an instruction: the first occurrence of the
 * len bytes insn at an address aligned to align in pid's vdso or
 * executable mappings. */
int mb_remote_test_find_bytes(pid_t pid, const unsigned char *insn,
			      size_t len, size_t align, unsigned long *addr);

#endif
