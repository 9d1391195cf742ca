/* SPDX-License-Identifier: MIT */
/*
 * The one reader of the files of /proc and /sys (or of a captured tree that
 * stands for /sys, MEMBIND_SYSFS_ROOT): whole files of any size, the maps
 * of a process or thread, status and stat fields, meminfo, the memory block
 * size, the page size and the clock.  The parsers of their text are in
 * sysfs.c.
 *
 * The remote engine's helper process calls some of these after fork() in
 * a caller that may have other threads: the maps walk, the stat reader and
 * the fixed-buffer reads never allocate; the status reader allocates only
 * for a status longer than its stack buffer.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "internal.h"

/* ---- whole files ---- */

int mb_open_regular(int dirfd, const char *path)
{
	struct stat st;
	int fd;

	/* O_NONBLOCK: opening a FIFO (a tree's file replaced by one) would
	 * otherwise wait for a writer for ever.  The files of sysfs and
	 * procfs are all regular files; anything else (a FIFO, a socket, a
	 * device, a directory) is not a file of the tree. */
	fd = openat(dirfd, path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st)) {
		int err = -errno;

		close(fd);
		return err;
	}
	if (!S_ISREG(st.st_mode)) {
		close(fd);
		return -EINVAL;
	}
	return fd;
}

enum { WHOLE, PREFIX };

/*
 * Read an open file (or -errno) to its end and close it.  The text goes to
 * buf (size bytes, terminator included) while it fits; past that, if max
 * is larger than size, to a malloc'ed buffer of up to max bytes, returned
 * in *heap.  A file that does not fit is -EFBIG, or with PREFIX, cut to
 * what fits in buf.  Returns the length (text NUL-terminated), -ENOMEM or
 * -errno.
 */
static int read_fd(int fd, char *buf, size_t size, size_t max, char **heap,
		   int how)
{
	char *p = buf;
	size_t n = 0, cap = buf ? size : 0;
	int ret;

	if (fd < 0)
		return fd;
	for (;;) {
		ssize_t r;

		if (n + 1 >= cap) {
			size_t ncap = cap ? 2 * cap : 4096;
			char extra, *np;

			if (how == PREFIX && cap)
				break;
			/* Full: is there more?  A file that exactly fills
			 * buf stays there. */
			do
				r = cap ? read(fd, &extra, 1) : 1;
			while (r < 0 && errno == EINTR);
			if (r == 0)
				break;
			ret = r < 0 ? -errno : -EFBIG;
			if (r < 0 || cap >= max)
				goto fail;
			if (ncap > max)
				ncap = max;
			np = realloc(p == buf ? NULL : p, ncap);
			if (!np) {
				ret = -ENOMEM;
				goto fail;
			}
			if (p == buf && n)
				memcpy(np, buf, n);
			p = np;
			if (cap)
				p[n++] = extra;
			cap = ncap;
			if (n + 1 >= cap)
				continue;
		}
		r = read(fd, p + n, cap - 1 - n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			ret = -errno;
			goto fail;
		}
		if (r == 0)
			break;
		n += (size_t)r;
	}
	close(fd);
	p[n] = '\0';
	if (p != buf)
		*heap = p;
	return (int)n;
fail:
	if (p != buf)
		free(p);
	close(fd);
	return ret;
}

/* The whole file [root/]fmt... (relative to dirfd) by read_fd(); a path
 * that does not fit is -ENAMETOOLONG. */
static int vread(int dirfd, const char *root, char *buf, size_t size,
		 size_t max, char **heap, const char *fmt, va_list ap)
{
	char path[4096];
	size_t n = 0;
	int len;

	if (root) {
		len = snprintf(path, sizeof(path), "%s/", root);
		if (len < 0 || (size_t)len >= sizeof(path))
			return -ENAMETOOLONG;
		n = (size_t)len;
	}
	len = vsnprintf(path + n, sizeof(path) - n, fmt, ap);
	if (len < 0 || (size_t)len >= sizeof(path) - n)
		return -ENAMETOOLONG;
	return read_fd(mb_open_regular(dirfd, path), buf, size, max, heap,
		       WHOLE);
}

int mb_read_path(int dirfd, const char *root, char *buf, size_t size,
		 const char *fmt, ...)
{
	va_list ap;
	int ret;

	if (size < 2)
		return -EINVAL;
	va_start(ap, fmt);
	ret = vread(dirfd, root, buf, size, size, NULL, fmt, ap);
	va_end(ap);
	return ret;
}

int mb_read_text(struct mb_text *t, char *buf, size_t size, size_t max,
		 const char *fmt, ...)
{
	va_list ap;
	int ret;

	t->s = NULL;
	t->len = 0;
	t->heap = NULL;
	if ((buf && size < 2) || max < 2 || max > INT_MAX)
		return -EINVAL;
	va_start(ap, fmt);
	ret = vread(AT_FDCWD, NULL, buf, size, max, &t->heap, fmt, ap);
	va_end(ap);
	if (ret < 0)
		return ret;
	t->s = t->heap ? t->heap : buf;
	t->len = (size_t)ret;
	return ret;
}

void mb_text_free(struct mb_text *t)
{
	free(t->heap);
	t->heap = NULL;
	t->s = NULL;
}

int mb_read_file_alloc(char **out, const char *fmt, ...)
{
	char *heap = NULL;
	va_list ap;
	int ret;

	va_start(ap, fmt);
	ret = vread(AT_FDCWD, NULL, NULL, 0, MB_FILE_ALLOC_MAX, &heap, fmt,
		    ap);
	va_end(ap);
	if (ret >= 0)
		*out = heap;
	return ret;
}

/* ---- /proc/PID/... ---- */

int mb_proc_path(char *path, size_t size, pid_t pid, pid_t tid,
		 const char *file)
{
	int n;

	if (pid && tid)
		n = snprintf(path, size, MB_PROC "/%d/task/%d/%s", (int)pid,
			     (int)tid, file);
	else if (tid)
		n = snprintf(path, size, MB_PROC "/self/task/%d/%s", (int)tid,
			     file);
	else if (pid)
		n = snprintf(path, size, MB_PROC "/%d/%s", (int)pid, file);
	else
		n = snprintf(path, size, MB_PROC "/self/%s", file);
	return n < 0 || (size_t)n >= size ? -ENAMETOOLONG : 0;
}

/* ---- status ---- */

/* The value after "Key:" at the start of a line of text, or NULL. */
static const char *status_field(const char *text, const char *key)
{
	size_t klen = strlen(key);
	const char *p = text;

	while (p && *p) {
		if (!strncmp(p, key, klen) && p[klen] == ':') {
			p += klen + 1;
			while (*p == ' ' || *p == '\t')
				p++;
			return p;
		}
		p = strchr(p, '\n');
		if (p)
			p++;
	}
	return NULL;
}

void mb_status_parse(const char *text, struct mb_status *st)
{
	static const struct {
		const char *key;
		size_t off;
	} masks[] = {
		{ "SigPnd", offsetof(struct mb_status, sigpnd) },
		{ "ShdPnd", offsetof(struct mb_status, shdpnd) },
		{ "SigBlk", offsetof(struct mb_status, sigblk) },
		{ "SigIgn", offsetof(struct mb_status, sigign) },
		{ "SigCgt", offsetof(struct mb_status, sigcgt) },
	};
	const char *v;

	memset(st, 0, sizeof(*st));
	v = status_field(text, "State");
	st->state = v && *v ? *v : '?';
	v = status_field(text, "Tgid");
	st->tgid = v ? (pid_t)strtol(v, NULL, 10) : 0;
	for (size_t i = 0; i < sizeof(masks) / sizeof(masks[0]); i++) {
		v = status_field(text, masks[i].key);
		*(uint64_t *)((char *)st + masks[i].off) =
			v ? strtoull(v, NULL, 16) : 0;
	}
	v = status_field(text, "TracerPid");
	st->has_tracer = v != NULL;
	st->tracer = v ? (pid_t)strtol(v, NULL, 10) : 0;
	v = status_field(text, "Seccomp");
	st->has_seccomp = v != NULL;
	st->seccomp = v ? (int)strtol(v, NULL, 10) : 0;
}

int mb_status_read_at(const char *path, struct mb_status *st)
{
	/* A status fits in this unless its Groups line lists many groups;
	 * then the heap takes the rest. */
	char small[4096];
	struct mb_text t;
	int r;

	r = mb_read_text(&t, small, sizeof(small), MB_FILE_ALLOC_MAX, "%s",
			 path);
	if (r < 0)
		return r;
	mb_status_parse(t.s, st);
	mb_text_free(&t);
	return 0;
}

int mb_status_read(pid_t pid, pid_t tid, struct mb_status *st)
{
	char path[96];
	int r = mb_proc_path(path, sizeof(path), pid, tid, "status");

	if (!r)
		r = mb_status_read_at(path, st);
	return r == -ENOENT ? -ESRCH : r;
}

/* ---- stat ---- */

int mb_stat_read(pid_t pid, pid_t tid, char *buf, size_t size,
		 const char **after_comm)
{
	char path[96];
	const char *p;
	int r;

	if (size < 2)
		return -EINVAL;
	r = mb_proc_path(path, sizeof(path), pid, tid, "stat");
	if (r)
		return r;
	/* The fields we read come first: a prefix is enough. */
	r = read_fd(mb_open_regular(AT_FDCWD, path), buf, size, size, NULL,
		    PREFIX);
	if (r < 0)
		return r;
	/* What follows the last ')' (the command name may hold one). */
	p = strrchr(buf, ')');
	if (!p || p[1] != ' ')
		return -EBADMSG;
	*after_comm = p + 2;
	return r;
}

int mb_thread_state(pid_t pid, pid_t tid)
{
	char buf[512];
	const char *p;
	int r = mb_stat_read(pid, tid, buf, sizeof(buf), &p);

	if (r == -ENOENT || r == -ESRCH)
		return 0;
	if (r < 0)
		return r;
	return *p ? (unsigned char)*p : -EBADMSG;
}

/* ---- maps ---- */

static int hex(const char **p, const char *end, uint64_t *out)
{
	const char *s = *p;
	uint64_t v = 0;

	if (s == end)
		return -EINVAL;
	for (; s < end; s++) {
		int d = *s >= '0' && *s <= '9' ? *s - '0' :
			*s >= 'a' && *s <= 'f' ? *s - 'a' + 10 :
			*s >= 'A' && *s <= 'F' ? *s - 'A' + 10 :
						 -1;

		if (d < 0)
			break;
		if (v >> 60)
			return -ERANGE;
		v = v << 4 | (uint64_t)d;
	}
	if (s == *p)
		return -EINVAL;
	*p = s;
	*out = v;
	return 0;
}

/* One field followed by one blank (the maps' separators). */
static int field_end(const char **p, const char *end)
{
	if (*p == end || **p != ' ')
		return -EINVAL;
	(*p)++;
	return 0;
}

/*
 * One line of maps (no newline; NUL at s[len]):
 *   lo-hi perm offset major:minor inode [blanks name]
 * The name is the rest of the line: it may hold blanks, and ends in
 * " (deleted)" for a file removed since it was mapped.
 */
int mb_maps_parse_line(char *s, size_t len, struct mb_mapping *m)
{
	const char *p = s, *end = s + len;
	uint64_t lo, hi, off, ino, dev;

	if (hex(&p, end, &lo) || p == end || *p++ != '-' ||
	    hex(&p, end, &hi) || field_end(&p, end) || end - p < 5 ||
	    (p[0] != 'r' && p[0] != '-') || (p[1] != 'w' && p[1] != '-') ||
	    (p[2] != 'x' && p[2] != '-') || (p[3] != 'p' && p[3] != 's') ||
	    p[4] != ' ')
		return -EINVAL;
	memcpy(m->perms, p, 4);
	m->perms[4] = '\0';
	p += 5;
	if (hex(&p, end, &off) || field_end(&p, end) || hex(&p, end, &dev) ||
	    p == end || *p++ != ':' || hex(&p, end, &dev) ||
	    field_end(&p, end))
		return -EINVAL;
	ino = 0;
	while (p < end && *p >= '0' && *p <= '9') {
		if (ino > (UINT64_MAX - 9) / 10)
			return -ERANGE;
		ino = ino * 10 + (uint64_t)(*p++ - '0');
	}
	if (p < end && *p != ' ')
		return -EINVAL;
	if (lo >= hi)
		return -EINVAL;
#if UINTPTR_MAX < UINT64_MAX
	if (hi > UINTPTR_MAX)
		return -EINVAL;
#endif
	while (p < end && *p == ' ')
		p++;
	m->lo = (uintptr_t)lo;
	m->hi = (uintptr_t)hi;
	m->offset = off;
	m->inode = ino;
	m->name = s + (p - s);
	m->deleted = end - p >= 10 && !memcmp(end - 10, " (deleted)", 10);
	return 0;
}

int mb_maps_walk_at(const char *path,
		    int (*fn)(void *arg, const struct mb_mapping *m),
		    void *arg)
{
	char buf[MB_MAPS_LINE];
	size_t have = 0;
	bool skip = false; /* in the rest of a line too long for buf */
	int fd = mb_open_regular(AT_FDCWD, path), ret = 0;

	if (fd < 0)
		return fd;
	while (!ret) {
		size_t start = 0;
		char *nl;
		ssize_t r = read(fd, buf + have, sizeof(buf) - 1 - have);

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			ret = -errno;
			break;
		}
		if (r == 0) {
			buf[have] = '\0'; /* a last line without newline */
			if (have && !skip) {
				struct mb_mapping m = { .truncated = false };

				if (!mb_maps_parse_line(buf, have, &m))
					ret = fn(arg, &m);
			}
			break;
		}
		have += (size_t)r;
		while (!ret && (nl = memchr(buf + start, '\n', have - start))) {
			struct mb_mapping m = { .truncated = false };

			*nl = '\0';
			if (!skip && !mb_maps_parse_line(buf + start,
							 (size_t)(nl - buf) -
								 start,
							 &m))
				ret = fn(arg, &m);
			skip = false;
			start = (size_t)(nl - buf) + 1;
		}
		memmove(buf, buf + start, have - start);
		have -= start;
		if (!ret && have == sizeof(buf) - 1) {
			/* A line longer than buf: its fields, its name cut. */
			struct mb_mapping m = { .truncated = true };

			buf[have] = '\0';
			if (!skip && !mb_maps_parse_line(buf, have, &m))
				ret = fn(arg, &m);
			skip = true;
			have = 0;
		}
	}
	close(fd);
	return ret;
}

int mb_maps_walk(pid_t pid, pid_t tid,
		 int (*fn)(void *arg, const struct mb_mapping *m), void *arg)
{
	char path[96];
	int r = mb_proc_path(path, sizeof(path), pid, tid, "maps");

	return r ? r : mb_maps_walk_at(path, fn, arg);
}

static int maps_add(void *arg, const struct mb_mapping *m)
{
	struct mb_maps *mm = arg;

	if (mm->n == mm->cap) {
		size_t cap = mm->cap ? 2 * mm->cap : 256;
		struct mb_range *r = realloc(mm->r, cap * sizeof(*r));

		if (!r)
			return -ENOMEM;
		mm->r = r;
		mm->cap = cap;
	}
	mm->r[mm->n].lo = m->lo;
	mm->r[mm->n].hi = m->hi;
	mm->r[mm->n].offset = m->offset;
	mm->r[mm->n].inode = m->inode;
	memcpy(mm->r[mm->n].perms, m->perms, sizeof(m->perms));
	mm->n++;
	return 0;
}

static int range_cmp(const void *a, const void *b)
{
	const struct mb_range *x = a, *y = b;

	return x->lo < y->lo ? -1 : x->lo > y->lo;
}

int mb_maps_load_at(const char *path, struct mb_maps *m)
{
	bool sorted = true;
	int r;

	memset(m, 0, sizeof(*m));
	r = mb_maps_walk_at(path, maps_add, m);
	if (r < 0) {
		mb_maps_free(m);
		return r;
	}
	/* The kernel lists mappings in address order; make sure. */
	for (size_t i = 1; i < m->n && sorted; i++)
		sorted = m->r[i - 1].lo <= m->r[i].lo;
	if (!sorted)
		qsort(m->r, m->n, sizeof(*m->r), range_cmp);
	return 0;
}

int mb_maps_load(pid_t pid, pid_t tid, struct mb_maps *m)
{
	char path[96];
	int r = mb_proc_path(path, sizeof(path), pid, tid, "maps");

	if (r) {
		memset(m, 0, sizeof(*m));
		return r;
	}
	return mb_maps_load_at(path, m);
}

const struct mb_range *mb_maps_find(struct mb_maps *m, uintptr_t a)
{
	size_t lo = 0, hi = m->n;

	if (m->hint < m->n && a >= m->r[m->hint].lo && a < m->r[m->hint].hi)
		return &m->r[m->hint];
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (a < m->r[mid].lo)
			hi = mid;
		else if (a >= m->r[mid].hi)
			lo = mid + 1;
		else {
			m->hint = mid;
			return &m->r[mid];
		}
	}
	return NULL;
}

void mb_maps_free(struct mb_maps *m)
{
	free(m->r);
	memset(m, 0, sizeof(*m));
}

/* ---- meminfo, memory blocks, page size, clock ---- */

int mb_meminfo(const char *key, uint64_t *bytes)
{
	char buf[MB_FILE_MAX];
	int len = mb_read_file(MB_PROC, buf, sizeof(buf), "meminfo");

	if (len < 0)
		return len;
	return mb_meminfo_field(buf, (size_t)len, key, bytes);
}

int mb_block_size(const char *sysroot, uint64_t *bytes)
{
	char buf[64];
	uint64_t bs = 0;
	int len = mb_read_file(sysroot, buf, sizeof(buf),
			       MB_MEMORY_DIR "/block_size_bytes");

	if (len < 0)
		return len;
	/* The kernel prints the block size in hex, without 0x.  A size
	 * whose page count or block address could overflow is refused. */
	for (int i = 0; i < len && buf[i] != '\n'; i++) {
		int d = buf[i] >= '0' && buf[i] <= '9' ? buf[i] - '0' :
			buf[i] >= 'a' && buf[i] <= 'f' ? buf[i] - 'a' + 10 :
							 -1;

		if (d < 0 || bs >> 58)
			return -EINVAL;
		bs = bs << 4 | (uint64_t)d;
	}
	if (!bs)
		return -EINVAL;
	*bytes = bs;
	return 0;
}

size_t mb_page_size(void)
{
	static size_t ps;
	size_t v = __atomic_load_n(&ps, __ATOMIC_RELAXED);

	if (!v) {
		v = (size_t)sysconf(_SC_PAGESIZE);
		__atomic_store_n(&ps, v, __ATOMIC_RELAXED);
	}
	return v;
}

uint64_t mb_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}
