/* SPDX-License-Identifier: MIT */
/*
 * Description: libFuzzer target for the text parsers: every input is fed
 * to mb_parse_list, mb_parse_u64, mb_parse_meminfo, mb_parse_distances,
 * (NUL-terminated) mb_maps_parse_line, mb_status_parse and
 * memblk_list_parse against a fixed tree, checking the
 * invariants each promises (counts within bounds, nothing written on
 * failure, format/parse round trips).
 */
#include <stdint.h>

#include "internal.h"
#include "testutil.h"

#define NB 300

static char root[4096];

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void cleanup(void)
{
	t_rmtree(root);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	t_tmpdir(root, sizeof(root));
	t_std_tree(root);
	setenv("MEMBIND_SYSFS_ROOT", root, 1);
	if (memblk_count() != 3)
		abort();
	atexit(cleanup);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *s = (const char *)data;
	unsigned long m[MB_LONGS(NB)], back[MB_LONGS(NB)];
	unsigned int maxbit = 0;
	uint64_t v = 7, t = 7, f = 7;
	int dist[16], ret, ret2;
	char buf[4096], *str;

	/* Kernel lists. */
	memset(m, 0xa5, sizeof(m));
	ret = mb_parse_list(s, size, m, NB, NULL);
	ret2 = mb_parse_list(s, size, NULL, NB, &maxbit);
	if (ret < 0) {
		if (ret != -EINVAL && ret != -ERANGE)
			abort();
		for (size_t i = 0; i < MB_LONGS(NB); i++)
			if (m[i] != (unsigned long)0xa5a5a5a5a5a5a5a5ULL)
				abort();
		if (ret2 >= 0)
			abort();
	} else {
		if (ret > NB || ret != (int)mb_weight(m, NB) || ret2 < ret ||
		    maxbit != mb_last(m, NB))
			abort();
		ret2 = mb_format_list(m, NB, buf, sizeof(buf));
		if (ret2 < 0 || (size_t)ret2 >= sizeof(buf))
			abort();
		if (mb_parse_list(buf, (size_t)ret2, back, NB, NULL) != ret ||
		    memcmp(m, back, sizeof(m)))
			abort();
	}

	/* Numbers. */
	ret = mb_parse_u64(s, size, 255, &v);
	if ((ret == 0 && v > 255) || (ret && v != 7) ||
	    (ret && ret != -EINVAL && ret != -ERANGE))
		abort();
	ret = mb_parse_u64(s, size, 5, &v);
	if ((ret == 0 && v > 5) || (ret && ret != -EINVAL && ret != -ERANGE))
		abort();
	ret = mb_parse_u64(s, size, UINT64_MAX, &v);
	if (ret && ret != -EINVAL && ret != -ERANGE)
		abort();

	/* meminfo. */
	ret = mb_parse_meminfo(s, size, &t, &f);
	if (ret == 0 ? f > t : (ret != -EINVAL || t != 7 || f != 7))
		abort();

	/* distances. */
	ret = mb_parse_distances(s, size, dist, 16);
	if (ret > 16 || (ret < 0 && ret != -EINVAL && ret != -E2BIG))
		abort();
	for (int i = 0; i < ret; i++)
		if (dist[i] < 0 || dist[i] > 255)
			abort();

	/* memblk lists against the tree (3 memblks). */
	str = malloc(size + 1);
	if (!str)
		return 0;
	memcpy(str, data, size);
	str[size] = '\0';
	memset(m, 0xa5, sizeof(m));
	ret = memblk_list_parse(str, NB, m);
	if (ret < 0) {
		if (ret != -EINVAL && ret != -ENOENT && ret != -ERANGE)
			abort();
		for (size_t i = 0; i < MB_LONGS(NB); i++)
			if (m[i] != (unsigned long)0xa5a5a5a5a5a5a5a5ULL)
				abort();
	} else {
		if (ret > 3 || (m[0] & ~7UL) || m[1] || m[2] || m[3] || m[4])
			abort();
		if (ret) {
			memblk_list_format(NB, m, buf, sizeof(buf));
			if (memblk_list_parse(buf, NB, back) != ret ||
			    back[0] != m[0])
				abort();
		}
	}

	/* A maps line (the input without its newlines) and a status text. */
	{
		struct mb_mapping mp;
		struct mb_status st;
		size_t n = 0;

		for (size_t i = 0; i < size; i++)
			if (data[i] != '\n')
				str[n++] = (char)data[i];
		str[n] = '\0';
		ret = mb_maps_parse_line(str, n, &mp);
		if (ret == 0 &&
		    (mp.lo >= mp.hi || mp.name < str || mp.name > str + n ||
		     strlen(mp.perms) != 4))
			abort();
		if (ret && ret != -EINVAL && ret != -ERANGE)
			abort();
		memcpy(str, data, size);
		str[size] = '\0';
		mb_status_parse(str, &st);
		if (!st.state)
			abort();
	}
	free(str);
	return 0;
}
