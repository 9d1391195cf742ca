/* SPDX-License-Identifier: MIT */
/* Where a process's memory lives: /proc/PID/numa_maps (pages per node and
 * the page size of each mapping) joined with /proc/PID/maps (the end of each
 * mapping), nodes turned into memblks. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "membind.h"
#include "tool.h"

const char *const vma_kind_name[VMA_KINDS] = {
	[VMA_HEAP] = "heap", [VMA_STACK] = "stack", [VMA_ANON] = "anon",
	[VMA_FILE] = "file", [VMA_HUGE] = "huge",
};

struct range {
	uintptr_t start, end;
};

static FILE *open_proc(pid_t pid, const char *what, int *err)
{
	char path[64];
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/%s", (int)pid, what);
	f = fopen(path, "re");
	if (!f)
		*err = errno == ENOENT ? -ESRCH :
		       errno == EACCES ? -EPERM : -errno;
	return f;
}

static int read_ranges(pid_t pid, struct range **out, size_t *n)
{
	size_t cap = 0, len = 0;
	struct range *r = NULL;
	char *line = NULL;
	size_t lsz = 0;
	int err = 0;
	FILE *f = open_proc(pid, "maps", &err);

	if (!f)
		return err;
	while (getline(&line, &lsz, f) > 0) {
		unsigned long s, e;

		if (sscanf(line, "%lx-%lx", &s, &e) != 2)
			continue;
		if (len == cap) {
			struct range *r2;

			cap = cap ? 2 * cap : 64;
			r2 = realloc(r, cap * sizeof(*r));
			if (!r2) {
				err = -ENOMEM;
				break;
			}
			r = r2;
		}
		r[len].start = s;
		r[len++].end = e;
	}
	free(line);
	fclose(f);
	if (err) {
		free(r);
		return err;
	}
	*out = r;
	*n = len;
	return 0;
}

/* numa_maps escapes "\n\t= \\" in file names as octal. */
static char *unescape(const char *s)
{
	char *out = malloc(strlen(s) + 1), *o = out;

	if (!out)
		return NULL;
	while (*s) {
		if (s[0] == '\\' && s[1] >= '0' && s[1] <= '7' && s[2] >= '0' &&
		    s[2] <= '7' && s[3] >= '0' && s[3] <= '7') {
			*o++ = (char)((s[1] - '0') << 6 | (s[2] - '0') << 3 |
				      (s[3] - '0'));
			s += 4;
		} else {
			*o++ = *s++;
		}
	}
	*o = '\0';
	return out;
}

static int parse_line(char *line, struct vma *v, int nmemblks,
		      const struct range *rg, size_t nrg)
{
	char *tok, *save = NULL;
	uint64_t kb = 4;
	bool heap = false, stack = false, huge = false;

	line[strcspn(line, "\n")] = '\0';
	tok = strtok_r(line, " ", &save);
	if (!tok)
		return -EINVAL;
	v->start = (uintptr_t)strtoull(tok, NULL, 16);
	while ((tok = strtok_r(NULL, " ", &save))) {
		if (!strncmp(tok, "file=", 5)) {
			free(v->path);
			v->path = unescape(tok + 5);
			if (!v->path)
				return -ENOMEM;
		} else if (!strcmp(tok, "heap")) {
			heap = true;
		} else if (!strcmp(tok, "stack")) {
			stack = true;
		} else if (!strcmp(tok, "huge")) {
			huge = true;
		} else if (!strncmp(tok, "kernelpagesize_kB=", 18)) {
			kb = strtoull(tok + 18, NULL, 10);
		} else if (tok[0] == 'N' && tok[1] >= '0' && tok[1] <= '9') {
			char *eq;
			long node = strtol(tok + 1, &eq, 10);
			int m;

			if (*eq != '=')
				continue;
			m = node_to_memblk((int)node);
			if (m >= 0 && m < nmemblks)
				v->pages[m] += strtoull(eq + 1, NULL, 10);
		}
		/* the policy (which may hold blanks) and the other counters
		 * are not needed here */
	}
	v->page_size = kb * 1024;
	v->kind = huge ? VMA_HUGE : heap ? VMA_HEAP : stack ? VMA_STACK :
		  v->path ? VMA_FILE : VMA_ANON;
	v->bytes = 0;
	for (int m = 0; m < nmemblks; m++)
		v->bytes += v->pages[m] * v->page_size;
	/* The same mapping in maps, to know its end. */
	for (size_t lo = 0, hi = nrg; lo < hi;) {
		size_t mid = (lo + hi) / 2;

		if (rg[mid].start == v->start) {
			v->end = rg[mid].end;
			break;
		}
		if (rg[mid].start < v->start)
			lo = mid + 1;
		else
			hi = mid;
	}
	return 0;
}

void residency_free(struct residency *r)
{
	for (size_t i = 0; i < r->nvmas; i++) {
		free(r->vmas[i].path);
		free(r->vmas[i].pages);
	}
	free(r->vmas);
	free(r->kind_bytes);
	free(r->memblk_bytes);
	memset(r, 0, sizeof(*r));
}

int residency_read(pid_t pid, struct residency *r)
{
	struct range *rg = NULL;
	size_t nrg = 0, cap = 0, lsz = 0;
	char *line = NULL;
	FILE *f;
	int ret, n;

	memset(r, 0, sizeof(*r));
	n = memblk_count();
	if (n < 0)
		return n;
	r->nmemblks = n;
	ret = read_ranges(pid, &rg, &nrg);
	if (ret)
		return ret;
	f = open_proc(pid, "numa_maps", &ret);
	if (!f) {
		free(rg);
		return ret;
	}
	r->kind_bytes = calloc((size_t)VMA_KINDS * (size_t)n + 1,
			       sizeof(uint64_t));
	r->memblk_bytes = calloc((size_t)n + 1, sizeof(uint64_t));
	if (!r->kind_bytes || !r->memblk_bytes)
		ret = -ENOMEM;
	while (!ret && getline(&line, &lsz, f) > 0) {
		struct vma *v;

		if (r->nvmas == cap) {
			struct vma *v2;

			cap = cap ? 2 * cap : 64;
			v2 = realloc(r->vmas, cap * sizeof(*v2));
			if (!v2) {
				ret = -ENOMEM;
				break;
			}
			r->vmas = v2;
		}
		v = &r->vmas[r->nvmas];
		memset(v, 0, sizeof(*v));
		v->pages = calloc((size_t)n + 1, sizeof(uint64_t));
		if (!v->pages) {
			ret = -ENOMEM;
			break;
		}
		r->nvmas++;
		ret = parse_line(line, v, n, rg, nrg);
		if (ret == -EINVAL) {
			ret = 0;
			continue;
		}
		for (int m = 0; !ret && m < n; m++) {
			uint64_t b = v->pages[m] * v->page_size;

			r->kind_bytes[(size_t)v->kind * (size_t)n + (size_t)m] += b;
			r->memblk_bytes[m] += b;
			r->total += b;
		}
	}
	/* Reading numa_maps of a process that exited meanwhile fails. */
	if (!ret && ferror(f))
		ret = errno == ESRCH || errno == ENOENT ? -ESRCH : -EIO;
	free(line);
	free(rg);
	fclose(f);
	if (ret)
		residency_free(r);
	return ret;
}
