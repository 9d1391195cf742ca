/* SPDX-License-Identifier: MIT */
/* Shared by alloc.c (buffers) and heap.c (the per-memblk heap, whose large
 * objects are buffers); nothing here is public. */
#ifndef MEMBIND_ALLOC_H
#define MEMBIND_ALLOC_H

#include <stdbool.h>
#include <stddef.h>

#include "internal.h"

/* Record a failure of an allocation call for mem_alloc_error() and errno. */
void mb_alloc_fail(int err);

/* A buffer of the heap rather than of mem_alloc(): mem_free() refuses it,
 * memblk_free() takes only these.  The low bits hold the memblk. */
#define MB_BUF_HEAP (1UL << 31)
#define MB_BUF_MEMBLK_MASK 0xffffUL

/* mem_alloc() with an owner tag (0 or MB_BUF_HEAP | memblk).  Returns the
 * buffer or NULL with *err set. */
void *mb_buf_alloc(size_t size, unsigned int len, const unsigned long *mask,
		   unsigned long behavior, const struct mem_alloc_opts *opts,
		   unsigned long tag, int *err);
/* Free a buffer whose tag matches (MB_BUF_HEAP: any heap buffer).  Stores
 * its usable size and tag; -EINVAL if there is no such buffer. */
int mb_buf_free(void *p, unsigned long tag, size_t *usable,
		unsigned long *tagp);
/* Usable size and tag of a buffer; false if p is not one. */
bool mb_buf_lookup(const void *p, size_t *usable, unsigned long *tag);

/* Put [p, p + len) on memblks: bind it and allocate every page now; a
 * memblk that cannot hold them all gives -ENOMEM (never the OOM killer).
 * t and k as for mb_bind_range() (both may be NULL when mask is: then the
 * pages are only allocated). */
int mb_populate_bound(const struct mb_topo *t, void *p, size_t len,
		      unsigned int mlen, const unsigned long *mask,
		      unsigned long behavior, const struct mb_kpol *k);

#endif
