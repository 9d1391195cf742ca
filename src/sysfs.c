/* SPDX-License-Identifier: MIT */
/* Readers of the files below /sys (or a captured copy of it).  Each parser
 * takes a buffer and its length, never trusts a terminator, and answers
 * malformed text with -EINVAL rather than a guess. */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "internal.h"

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

/* Read an open file (or -errno) into buf, NUL-terminated; closes fd. */
static int read_fd(int fd, char *buf, size_t size)
{
	size_t n = 0;

	if (fd < 0)
		return fd;
	for (;;) {
		ssize_t r = read(fd, buf + n, size - 1 - n);

		if (r < 0) {
			if (errno == EINTR)
				continue;
			r = -errno;
			close(fd);
			return (int)r;
		}
		if (r == 0)
			break;
		n += (size_t)r;
		if (n == size - 1) {
			char extra;

			/* Full buffer: anything more means truncation. */
			r = read(fd, &extra, 1);
			close(fd);
			return r == 0 ? (buf[n] = '\0', (int)n) : -EFBIG;
		}
	}
	close(fd);
	buf[n] = '\0';
	return (int)n;
}

int mb_read_file(const char *root, char *buf, size_t size, const char *fmt,
		 ...)
{
	char path[4096];
	va_list ap;
	size_t n;
	int len;

	if (size < 2)
		return -EINVAL;
	len = snprintf(path, sizeof(path), "%s/", root);
	if (len < 0 || (size_t)len >= sizeof(path))
		return -ENAMETOOLONG;
	va_start(ap, fmt);
	n = (size_t)vsnprintf(path + len, sizeof(path) - (size_t)len, fmt, ap);
	va_end(ap);
	if (n >= sizeof(path) - (size_t)len)
		return -ENAMETOOLONG;
	return read_fd(mb_open_regular(AT_FDCWD, path), buf, size);
}

int mb_read_fileat(int dirfd, char *buf, size_t size, const char *fmt, ...)
{
	char path[1024];
	va_list ap;
	size_t n;

	if (size < 2)
		return -EINVAL;
	va_start(ap, fmt);
	n = (size_t)vsnprintf(path, sizeof(path), fmt, ap);
	va_end(ap);
	if (n >= sizeof(path))
		return -ENAMETOOLONG;
	return read_fd(mb_open_regular(dirfd, path), buf, size);
}

int mb_read_file_alloc(char **out, const char *fmt, ...)
{
	size_t n = 0, cap = 4096;
	char path[4096], *buf;
	va_list ap;
	size_t len;
	int fd, ret;

	va_start(ap, fmt);
	len = (size_t)vsnprintf(path, sizeof(path), fmt, ap);
	va_end(ap);
	if (len >= sizeof(path))
		return -ENAMETOOLONG;
	fd = mb_open_regular(AT_FDCWD, path);
	if (fd < 0)
		return fd;
	buf = malloc(cap);
	if (!buf) {
		close(fd);
		return -ENOMEM;
	}
	for (;;) {
		ssize_t r;

		if (n == cap - 1) {
			char *nb;

			ret = -EFBIG;
			if (cap >= MB_FILE_ALLOC_MAX)
				goto fail;
			ret = -ENOMEM;
			nb = realloc(buf, 2 * cap);
			if (!nb)
				goto fail;
			buf = nb;
			cap *= 2;
		}
		r = read(fd, buf + n, cap - 1 - n);
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
	buf[n] = '\0';
	*out = buf;
	return (int)n;
fail:
	free(buf);
	close(fd);
	return ret;
}

static bool blank(char c)
{
	return c == ' ' || c == '\t' || c == '\n';
}

static int parse_num(const char **p, const char *end, uint64_t max,
		     uint64_t *out)
{
	const char *s = *p;
	uint64_t v = 0;

	if (s == end || *s < '0' || *s > '9')
		return -EINVAL;
	while (s < end && *s >= '0' && *s <= '9') {
		unsigned d = (unsigned)(*s - '0');

		if (d > max || v > (max - d) / 10)
			return -ERANGE;
		v = v * 10 + d;
		s++;
	}
	*p = s;
	*out = v;
	return 0;
}

int mb_parse_u64(const char *s, size_t len, uint64_t max, uint64_t *out)
{
	const char *p = s, *end = s + len;
	uint64_t v;
	int ret;

	while (p < end && blank(*p))
		p++;
	ret = parse_num(&p, end, max, &v);
	if (ret)
		return ret;
	while (p < end && blank(*p))
		p++;
	if (p != end)
		return -EINVAL;
	*out = v;
	return 0;
}

/* The value of "Node N <key>: X kB" in a meminfo text. */
static int meminfo_field(const char *s, size_t len, const char *key,
			 uint64_t *bytes)
{
	const char *end = s + len, *line = s;
	size_t klen = strlen(key);

	while (line < end) {
		const char *eol = memchr(line, '\n', (size_t)(end - line));
		const char *p = line;
		uint64_t node, kb;

		if (!eol)
			eol = end;
		if ((size_t)(eol - p) > 5 && !memcmp(p, "Node ", 5)) {
			p += 5;
			if (parse_num(&p, eol, UINT64_MAX, &node))
				return -EINVAL;
			while (p < eol && blank(*p))
				p++;
			if ((size_t)(eol - p) > klen && !memcmp(p, key, klen) &&
			    p[klen] == ':') {
				p += klen + 1;
				while (p < eol && blank(*p))
					p++;
				if (parse_num(&p, eol, UINT64_MAX / 1024, &kb))
					return -EINVAL;
				while (p < eol && blank(*p))
					p++;
				if (eol - p != 2 || memcmp(p, "kB", 2))
					return -EINVAL;
				*bytes = kb * 1024;
				return 0;
			}
		}
		line = eol + 1;
	}
	return -EINVAL;
}

int mb_parse_meminfo(const char *s, size_t len, uint64_t *total,
		     uint64_t *free)
{
	uint64_t t, f;
	int ret;

	ret = meminfo_field(s, len, "MemTotal", &t);
	if (!ret)
		ret = meminfo_field(s, len, "MemFree", &f);
	if (ret)
		return ret;
	if (f > t)
		return -EINVAL;
	*total = t;
	*free = f;
	return 0;
}

int mb_parse_distances(const char *s, size_t len, int *out, int max)
{
	const char *p = s, *end = s + len;
	int n = 0;

	for (;;) {
		uint64_t v;
		int ret;

		while (p < end && blank(*p))
			p++;
		if (p == end)
			break;
		ret = parse_num(&p, end, 255, &v);
		if (ret)
			return -EINVAL;
		if (p < end && !blank(*p))
			return -EINVAL;
		if (n == max)
			return -E2BIG;
		out[n++] = (int)v;
	}
	return n;
}
