/* SPDX-License-Identifier: MIT */
/* Bit masks and the kernel's list syntax ("0-3,8"), shared by the sysfs
 * readers, the memblk list parser and the tool. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "internal.h"

unsigned int mb_weight(const unsigned long *m, unsigned int nbits)
{
	unsigned int n = 0;

	for (unsigned int i = 0; i < nbits / MB_BPL; i++)
		n += (unsigned int)__builtin_popcountl(m[i]);
	if (nbits % MB_BPL)
		n += (unsigned int)__builtin_popcountl(
			m[nbits / MB_BPL] & ((1UL << (nbits % MB_BPL)) - 1));
	return n;
}

unsigned int mb_next(const unsigned long *m, unsigned int nbits,
		     unsigned int from)
{
	while (from < nbits) {
		unsigned long w = m[from / MB_BPL] >> (from % MB_BPL);

		if (w) {
			from += (unsigned int)__builtin_ctzl(w);
			return from < nbits ? from : nbits;
		}
		from = (from / MB_BPL + 1) * MB_BPL;
	}
	return nbits;
}

unsigned int mb_last(const unsigned long *m, unsigned int nbits)
{
	unsigned int last = 0;

	for (unsigned int i = mb_next(m, nbits, 0); i < nbits;
	     i = mb_next(m, nbits, i + 1))
		last = i + 1;
	return last;
}

static bool is_blank(char c)
{
	return c == ' ' || c == '\t' || c == '\n';
}

/* One decimal number below limit; advances *p. */
static int parse_index(const char **p, const char *end, unsigned long limit,
		       unsigned long *out)
{
	const char *s = *p;
	unsigned long v = 0;

	if (s == end || *s < '0' || *s > '9')
		return -EINVAL;
	while (s < end && *s >= '0' && *s <= '9') {
		v = v * 10 + (unsigned long)(*s - '0');
		if (v > limit)
			return -ERANGE;
		s++;
	}
	*p = s;
	*out = v;
	return 0;
}

int mb_parse_list(const char *s, size_t len, unsigned long *mask,
		  unsigned int nbits, unsigned int *maxbit)
{
	const char *p = s, *end = s + len;
	unsigned int count = 0, top = 0;
	int ret;

	/* Validate everything before touching the mask. */
	for (int pass = 0; pass < 2; pass++) {
		p = s;
		count = 0;
		while (p < end && is_blank(*p))
			p++;
		while (p < end && !is_blank(*p)) {
			unsigned long a, b;

			ret = parse_index(&p, end, MB_MAX_CPUS, &a);
			if (ret)
				return ret;
			b = a;
			if (p < end && *p == '-') {
				p++;
				ret = parse_index(&p, end, MB_MAX_CPUS, &b);
				if (ret)
					return ret;
				if (b < a)
					return -EINVAL;
			}
			if (b >= nbits)
				return -ERANGE;
			if (pass == 1 && mask) {
				for (unsigned long i = a; i <= b; i++)
					mb_set(mask, (unsigned int)i);
			}
			count += (unsigned int)(b - a + 1);
			if (b + 1 > top)
				top = (unsigned int)b + 1;
			if (p < end && *p == ',') {
				p++;
				if (p == end || is_blank(*p))
					return -EINVAL;
			} else if (p < end && !is_blank(*p)) {
				return -EINVAL;
			}
		}
		while (p < end && is_blank(*p))
			p++;
		if (p != end)
			return -EINVAL;
		if (!mask)
			break;
		if (pass == 0)
			memset(mask, 0, MB_LONGS(nbits) * sizeof(*mask));
	}
	if (maxbit)
		*maxbit = top;
	/* Overlapping ranges count once. */
	return mask ? (int)mb_weight(mask, nbits) : (int)count;
}

unsigned int mb_stripe_start(struct mb_stripe_iter *it,
			     const unsigned long *mask, unsigned int len,
			     unsigned long idx)
{
	it->mask = mask;
	it->len = len;
	it->n = mb_weight(mask, len);
	it->pos = 0;
	it->m = mb_next(mask, len, 0);
	if (!it->n)
		return it->m;
	for (unsigned long i = idx % it->n; i; i--)
		mb_stripe_next(it);
	return it->m;
}

unsigned int mb_stripe_next(struct mb_stripe_iter *it)
{
	if (!it->n)
		return it->m;
	if (++it->pos == it->n) {
		it->pos = 0;
		it->m = mb_next(it->mask, it->len, 0);
	} else {
		it->m = mb_next(it->mask, it->len, it->m + 1);
	}
	return it->m;
}

int mb_format_list(const unsigned long *mask, unsigned int nbits, char *buf,
		   size_t size)
{
	size_t n = 0;
	unsigned int i = mb_next(mask, nbits, 0);

	if (size)
		buf[0] = '\0';
	while (i < nbits) {
		unsigned int j = i;
		char tmp[32];
		int w;

		while (j + 1 < nbits && mb_test(mask, j + 1))
			j++;
		if (j == i)
			w = snprintf(tmp, sizeof(tmp), "%s%u", n ? "," : "", i);
		else
			w = snprintf(tmp, sizeof(tmp), "%s%u-%u", n ? "," : "",
				     i, j);
		if (n + (size_t)w < size)
			memcpy(buf + n, tmp, (size_t)w + 1);
		else if (n < size)
			buf[n] = '\0';
		n += (size_t)w;
		i = mb_next(mask, nbits, j + 1);
	}
	return (int)n;
}
