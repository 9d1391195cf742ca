/* SPDX-License-Identifier: MIT */
/*
 * Description: every file the library opens is opened close-on-exec, so
 * that a thread of the application that forks and execs while a library
 * call runs in another leaks no descriptor into the new program.  The test
 * defines open(), openat(), fopen() and their variants itself (the library
 * is linked in statically, so its calls come here), records the flags of
 * each call made during a library call, and opens the file with the real
 * system call.  It then makes calls that open files: the topology and its
 * extras (sysfs), a striped range (/proc/self/maps, twice, and
 * /proc/sys/vm/max_map_count), mem_where() over many pages (pagemap) and
 * over untouched ones (maps again), the heap.  Every recorded open must
 * have O_CLOEXEC (fopen: "e"), and the striped range must have been seen
 * to open /proc/self/maps with open() or openat() (range.c did not, once).
 */
/* The interposers below must define open, not open64 under another name. */
#undef _FILE_OFFSET_BITS
#include <dlfcn.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "membind.h"
#include "testutil.h"

static bool armed; /* record only during library calls */
static int opens, bad, maps_opens;
static pthread_mutex_t rec_lock = PTHREAD_MUTEX_INITIALIZER;

static void record(const char *how, const char *path, bool cloexec)
{
	if (!__atomic_load_n(&armed, __ATOMIC_RELAXED))
		return;
	pthread_mutex_lock(&rec_lock);
	opens++;
	if (!cloexec) {
		bad++;
		fprintf(stderr, "%s(\"%s\") without close-on-exec\n", how,
			path);
	}
	if (strcmp(how, "fopen") && !strcmp(path, "/proc/self/maps"))
		maps_opens++;
	pthread_mutex_unlock(&rec_lock);
}

static int real_openat(int dirfd, const char *path, int flags, mode_t mode)
{
	return (int)syscall(SYS_openat, dirfd, path, flags | O_LARGEFILE,
			    mode);
}

static mode_t mode_arg(int flags, va_list ap)
{
	return (flags & (O_CREAT | O_TMPFILE)) ? (mode_t)va_arg(ap, int) : 0;
}

int open(const char *path, int flags, ...)
{
	va_list ap;
	mode_t mode;

	va_start(ap, flags);
	mode = mode_arg(flags, ap);
	va_end(ap);
	record("open", path, flags & O_CLOEXEC);
	return real_openat(AT_FDCWD, path, flags, mode);
}

int open64(const char *path, int flags, ...)
{
	va_list ap;
	mode_t mode;

	va_start(ap, flags);
	mode = mode_arg(flags, ap);
	va_end(ap);
	record("open", path, flags & O_CLOEXEC);
	return real_openat(AT_FDCWD, path, flags, mode);
}

int openat(int dirfd, const char *path, int flags, ...)
{
	va_list ap;
	mode_t mode;

	va_start(ap, flags);
	mode = mode_arg(flags, ap);
	va_end(ap);
	record("openat", path, flags & O_CLOEXEC);
	return real_openat(dirfd, path, flags, mode);
}

int openat64(int dirfd, const char *path, int flags, ...)
{
	va_list ap;
	mode_t mode;

	va_start(ap, flags);
	mode = mode_arg(flags, ap);
	va_end(ap);
	record("openat", path, flags & O_CLOEXEC);
	return real_openat(dirfd, path, flags, mode);
}

/* What _FORTIFY_SOURCE turns open() calls into. */
int __open_2(const char *path, int flags);
int __open64_2(const char *path, int flags);
int __openat_2(int dirfd, const char *path, int flags);
int __openat64_2(int dirfd, const char *path, int flags);

int __open_2(const char *path, int flags)
{
	record("open", path, flags & O_CLOEXEC);
	return real_openat(AT_FDCWD, path, flags, 0);
}

int __open64_2(const char *path, int flags)
{
	record("open", path, flags & O_CLOEXEC);
	return real_openat(AT_FDCWD, path, flags, 0);
}

int __openat_2(int dirfd, const char *path, int flags)
{
	record("openat", path, flags & O_CLOEXEC);
	return real_openat(dirfd, path, flags, 0);
}

int __openat64_2(int dirfd, const char *path, int flags)
{
	record("openat", path, flags & O_CLOEXEC);
	return real_openat(dirfd, path, flags, 0);
}

static FILE *real_fopen(const char *path, const char *mode)
{
	static FILE *(*fn)(const char *, const char *);

	if (!fn)
		fn = (FILE * (*)(const char *, const char *))
			dlsym(RTLD_NEXT, "fopen");
	if (!fn) {
		errno = ENOSYS;
		return NULL;
	}
	return fn(path, mode);
}

FILE *fopen(const char *path, const char *mode)
{
	record("fopen", path, strchr(mode, 'e') != NULL);
	return real_fopen(path, mode);
}

FILE *fopen64(const char *path, const char *mode)
{
	record("fopen", path, strchr(mode, 'e') != NULL);
	return real_fopen(path, mode);
}

static void arm(bool on)
{
	__atomic_store_n(&armed, on, __ATOMIC_RELAXED);
}

int main(void)
{
	unsigned long mask[MEMBIND_MASK_LONGS(MEMBIND_MAX_BITS)] = {0};
	struct memblk_info info = MEMBLK_INFO_INIT;
	struct memblk_extent ext[4];
	size_t len = 8UL << 20, np = len / 4096;
	void **pages;
	int *st, n, ret;
	char *p, *q;

	arm(true);
	n = memblk_count();
	arm(false);
	if (n < 1) {
		printf("SKIP: no usable topology (%d)\n", n);
		return T_SKIP;
	}
	pages = calloc(np, sizeof(*pages));
	st = calloc(np, sizeof(*st));
	p = mmap(NULL, len, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (!pages || !st || p == MAP_FAILED) {
		perror("mmap/calloc");
		return T_FAIL;
	}
	for (size_t i = 0; i < np; i++)
		pages[i] = p + i * 4096;

	arm(true);
	CHECK_EQ(memblk_info(0, &info), 0);
	memblk_extents(0, ext, 4);
	/* Four stripes of 2 MiB on memblk 0: a mapping count first. */
	mask[0] = 1;
	ret = mem_setbinding_range(p, len, MEMBIND_MAX_BITS, mask,
				   MEMBIND_STRIPE);
	/* Untouched pages: maps is read to tell holes from absent pages. */
	CHECK_EQ(mem_where(0, pages, np, st), 0);
	arm(false);
	CHECK_EQ(ret, 0);
	memset(p, 1, len);
	arm(true);
	/* Present pages, many of them: the pagemap path. */
	CHECK_EQ(mem_where(0, pages, np, st), 0);
	q = memblk_malloc(100, 0);
	CHECK(q != NULL);
	CHECK_EQ(memblk_free(q), 0);
	CHECK_EQ(mem_getbinding(0, MEMBIND_MAX_BITS, mask, &(unsigned long){0}),
		 n);
	arm(false);

	fprintf(stderr, "%d opens recorded, %d without close-on-exec, "
		"/proc/self/maps by open()/openat(): %d\n", opens, bad,
		maps_opens);
	CHECK(opens > 0);
	CHECK_EQ(bad, 0);
	/* The test reached range.c's count of mappings. */
	CHECK(maps_opens > 0);
	munmap(p, len);
	free(pages);
	free(st);
	return t_finish("test_cloexec");
}
