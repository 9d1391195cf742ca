/* SPDX-License-Identifier: MIT */
/* Parsers of the files below /sys (or a captured copy of it) and of /proc
 * (procfs.c reads them).  Each parser takes a buffer and its length, never
 * trusts a terminator, and answers malformed text with -EINVAL rather than
 * a guess. */
#include <errno.h>
#include <string.h>

#include "internal.h"

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

int mb_meminfo_field(const char *s, size_t len, const char *key,
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
		}
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
		line = eol + 1;
	}
	return -EINVAL;
}

int mb_parse_meminfo(const char *s, size_t len, uint64_t *total,
		     uint64_t *free)
{
	uint64_t t, f;
	int ret;

	ret = mb_meminfo_field(s, len, "MemTotal", &t);
	if (!ret)
		ret = mb_meminfo_field(s, len, "MemFree", &f);
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
