/* SPDX-License-Identifier: MIT */
/* memblk lists as people write them ("0-2,5", "all", "!3", "n0,n2-3"), and
 * the names of the schemes; shared by the library and the tool. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

static const char *const scheme_names[] = {
	[MEMBIND_DEFAULT] = "default",
	[MEMBIND_HARD] = "hard",
	[MEMBIND_SOFT] = "soft",
	[MEMBIND_ROUND_ROBIN] = "round-robin",
	[MEMBIND_STRIPE] = "stripe",
	[MEMBIND_FIRST_TOUCH] = "first-touch",
	[MEMBIND_WEIGHTED] = "weighted",
};

MB_EXPORT const char *membind_scheme_name(unsigned long behavior)
{
	unsigned long s = behavior & MEMBIND_SCHEME_MASK;

	return s < sizeof(scheme_names) / sizeof(scheme_names[0]) ?
		       scheme_names[s] :
		       NULL;
}

MB_EXPORT int membind_scheme_parse(const char *name, unsigned long *behavior)
{
	if (!name || !behavior)
		return -EINVAL;
	for (unsigned long s = 0;
	     s < sizeof(scheme_names) / sizeof(scheme_names[0]); s++)
		if (!strcmp(name, scheme_names[s])) {
			*behavior = s;
			return 0;
		}
	return -EINVAL;
}

/* Parse one comma-separated item list where every item is either memblk ids
 * or (with an 'n' prefix) node ids, into memblks. */
static int parse_items(const struct mb_topo *t, const char *s,
		       unsigned long *memblks)
{
	while (*s) {
		const char *comma = strchr(s, ',');
		size_t len = comma ? (size_t)(comma - s) : strlen(s);
		bool node = len && s[0] == 'n';
		unsigned int limit = node ? (unsigned)t->node_limit :
					    (unsigned)t->nmemblks;
		unsigned long one[MB_LONGS(MB_MAX_NODES)];
		int ret;

		if (node) {
			s++;
			len--;
		}
		if (!len)
			return -EINVAL;
		/* One item: "a" or "a-b", no blanks and no further commas. */
		for (size_t i = 0; i < len; i++)
			if (!(s[i] == '-' || (s[i] >= '0' && s[i] <= '9')))
				return -EINVAL;
		ret = mb_parse_list(s, len, one, MB_MAX_NODES, NULL);
		if (ret < 0)
			return ret == -ERANGE ? -ENOENT : ret;
		for (unsigned int b = mb_next(one, MB_MAX_NODES, 0);
		     b < MB_MAX_NODES; b = mb_next(one, MB_MAX_NODES, b + 1)) {
			if (b >= limit)
				return -ENOENT;
			if (node) {
				int m = t->nodes[b].memblk;

				if (!t->nodes[b].online || m < 0)
					return -ENOENT;
				mb_set(memblks, (unsigned)m);
			} else {
				mb_set(memblks, b);
			}
		}
		s += len;
		if (*s == ',') {
			s++;
			if (!*s)
				return -EINVAL;
		}
	}
	return 0;
}

MB_EXPORT int memblk_list_parse(const char *text, unsigned int len,
				unsigned long *mask)
{
	unsigned long tmp[MB_LONGS(MB_MAX_NODES)] = {0};
	bool invert = false;
	int ret, err = 0;
	const struct mb_topo *t = mb_topo_get(&err);

	if (!t)
		return err;
	if (!text || !mask || len == 0 || len > MEMBIND_MAX_BITS)
		return -EINVAL;
	if (*text == '!') {
		invert = true;
		text++;
	}
	if (!*text)
		return -EINVAL;
	if (!strcmp(text, "all")) {
		for (int m = 0; m < t->nmemblks; m++)
			mb_set(tmp, (unsigned)m);
	} else {
		ret = parse_items(t, text, tmp);
		if (ret)
			return ret;
	}
	if (invert)
		for (int m = 0; m < t->nmemblks; m++)
			tmp[m / MB_BPL] ^= 1UL << (m % MB_BPL);
	if (mb_last(tmp, MB_MAX_NODES) > len)
		return -ERANGE;
	memset(mask, 0, MB_LONGS(len) * sizeof(*mask));
	memcpy(mask, tmp, MB_LONGS(len) * sizeof(*mask));
	return (int)mb_weight(mask, len);
}

MB_EXPORT int memblk_list_format(unsigned int len, const unsigned long *mask,
				 char *buf, size_t size)
{
	if (!mask || (!buf && size) || len > MEMBIND_MAX_BITS)
		return -EINVAL;
	return mb_format_list(mask, len, buf, size);
}

MB_EXPORT const char *membind_version(void)
{
	return MEMBIND_VERSION_STRING;
}
