/* SPDX-License-Identifier: MIT */
/*
 * fork() in a process with several threads: the child has only the thread
 * that forked, and a lock another thread held at that moment stays held in
 * the child for ever.  So that a child may go on using the library (its
 * heap and buffers above all, as it may use malloc), one pthread_atfork()
 * handler, registered on first use of the topology (which every path
 * passes first, so no library lock can be held before it exists), takes
 * every library lock before the fork and releases them after, in parent
 * and child.
 *
 * The order is the order in which the library nests its locks, outermost
 * first; a lock is never taken while one later in the list is held:
 *
 *   remote_lock (remote.c)      a whole remote operation (its call_lock,
 *                               held across the helper's fork, is not
 *                               taken here: the child gets it anew)
 *   bcast_lock (threads.c)      a whole process-wide binding
 *   arenas_lock, each arena's lock, chunkmap_lock (heap.c)
 *                               an arena's lock is held while a chunk is
 *                               mapped and bound (chunkmap, stripes, topology)
 *   stripe_lock (range.c)
 *   topo_lock, the snapshot's extras_lock (topology.c)
 *   tab_lock (pagemap.c)
 *   the buffer table's shard locks (alloc.c)
 *
 * A lock added to the library must be added here, at its place.
 */
#include <pthread.h>

#include "internal.h"

static void prepare(void)
{
	mb_remote_fork(MB_FORK_PREPARE);
	mb_threads_fork(MB_FORK_PREPARE);
	mb_heap_fork(MB_FORK_PREPARE);
	mb_range_fork(MB_FORK_PREPARE);
	mb_topo_fork(MB_FORK_PREPARE);
	mb_pagemap_fork(MB_FORK_PREPARE);
	mb_alloc_fork(MB_FORK_PREPARE);
}

static void after(enum mb_fork phase)
{
	mb_alloc_fork(phase);
	mb_pagemap_fork(phase);
	mb_topo_fork(phase);
	mb_range_fork(phase);
	mb_heap_fork(phase);
	mb_threads_fork(phase);
	mb_remote_fork(phase);
}

static void parent(void)
{
	after(MB_FORK_PARENT);
}

static void child(void)
{
	after(MB_FORK_CHILD);
}

static void do_register(void)
{
	pthread_atfork(prepare, parent, child);
}

void mb_fork_register(void)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;

	pthread_once(&once, do_register);
}
