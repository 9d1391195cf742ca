/* SPDX-License-Identifier: MIT */
/* membind show: the memory topology, for a person or (--json) a script. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "membind.h"
#include "tool.h"

struct topo_view {
	int nmemblks, node_limit, cpu_limit;
	struct memblk_info *info; /* nmemblks */
	char **memblk_cpus;       /* nmemblks */
	char **node_cpus;         /* node_limit; NULL: node offline */
	int *dist;                /* nmemblks^2 */
	unsigned long *cpumask;
};

static char *cpus_text(const unsigned long *mask, unsigned int bits)
{
	int n = memblk_list_format(bits, mask, NULL, 0);
	char *s = n >= 0 ? malloc((size_t)n + 1) : NULL;

	if (s)
		memblk_list_format(bits, mask, s, (size_t)n + 1);
	return s;
}

static void view_free(struct topo_view *v)
{
	for (int m = 0; v->memblk_cpus && m < v->nmemblks; m++)
		free(v->memblk_cpus[m]);
	for (int n = 0; v->node_cpus && n < v->node_limit; n++)
		free(v->node_cpus[n]);
	free(v->memblk_cpus);
	free(v->node_cpus);
	free(v->info);
	free(v->dist);
	free(v->cpumask);
}

static int view_load(struct topo_view *v)
{
	int ret;

	memset(v, 0, sizeof(*v));
	if ((ret = memblk_count()) < 0)
		return ret;
	v->nmemblks = ret;
	if ((ret = membind_node_limit()) < 0)
		return ret;
	v->node_limit = ret;
	if ((ret = membind_cpu_limit()) < 0)
		return ret;
	v->cpu_limit = ret;
	v->info = calloc((size_t)v->nmemblks + 1, sizeof(*v->info));
	v->memblk_cpus = calloc((size_t)v->nmemblks + 1, sizeof(char *));
	v->node_cpus = calloc((size_t)v->node_limit, sizeof(char *));
	v->dist = calloc((size_t)v->nmemblks * (size_t)v->nmemblks + 1,
			 sizeof(int));
	v->cpumask = calloc(MEMBIND_MASK_LONGS((unsigned)v->cpu_limit),
			    sizeof(unsigned long));
	if (!v->info || !v->memblk_cpus || !v->node_cpus || !v->dist ||
	    !v->cpumask)
		return -ENOMEM;
	for (int m = 0; m < v->nmemblks; m++) {
		v->info[m].sz = sizeof(v->info[m]);
		if ((ret = memblk_info(m, &v->info[m])) < 0)
			return ret;
		if ((ret = memblk_cpus(m, (unsigned)v->cpu_limit,
				       v->cpumask)) < 0)
			return ret;
		v->memblk_cpus[m] = cpus_text(v->cpumask,
					      (unsigned)v->cpu_limit);
		if (!v->memblk_cpus[m])
			return -ENOMEM;
		for (int o = 0; o < v->nmemblks; o++)
			v->dist[m * v->nmemblks + o] = memblk_distance(m, o);
	}
	for (int n = 0; n < v->node_limit; n++) {
		ret = node_cpus(n, (unsigned)v->cpu_limit, v->cpumask);
		if (ret == -ENOENT)
			continue;
		if (ret < 0)
			return ret;
		v->node_cpus[n] = cpus_text(v->cpumask, (unsigned)v->cpu_limit);
		if (!v->node_cpus[n])
			return -ENOMEM;
	}
	return 0;
}

static void json_access(FILE *f, const struct memblk_info *in, int a)
{
	const struct memblk_access *x = &in->access[a];

	if (!in->has_access[a]) {
		fprintf(f, "null");
		return;
	}
	fprintf(f,
		"{\"read_bandwidth_mbps\":%llu,\"write_bandwidth_mbps\":%llu,"
		"\"read_latency_ns\":%llu,\"write_latency_ns\":%llu}",
		(unsigned long long)x->read_bandwidth,
		(unsigned long long)x->write_bandwidth,
		(unsigned long long)x->read_latency,
		(unsigned long long)x->write_latency);
}

/* Physical extents, where the system reports memory blocks. */
static void json_extents(FILE *f, int m)
{
	struct memblk_extent e[64];
	int n = memblk_extents(m, e, 64);

	fprintf(f, ",\"extents\":");
	if (n < 0) {
		fprintf(f, "null");
		return;
	}
	fputc('[', f);
	for (int i = 0; i < n && i < 64; i++)
		fprintf(f, "%s{\"start\":%llu,\"length\":%llu}", i ? "," : "",
			(unsigned long long)e[i].start,
			(unsigned long long)e[i].length);
	fputc(']', f);
}

static void show_json(const struct topo_view *v, FILE *f)
{
	fprintf(f, "{\"memblks\":[");
	for (int m = 0; m < v->nmemblks; m++) {
		const struct memblk_info *in = &v->info[m];

		fprintf(f, "%s{\"id\":%d,\"node\":%d,\"size_bytes\":%llu,"
			   "\"free_bytes\":%llu,\"cpus\":",
			m ? "," : "", m, in->node,
			(unsigned long long)in->size_bytes,
			(unsigned long long)in->free_bytes);
		json_str(f, v->memblk_cpus[m]);
		if (in->tier >= 0)
			fprintf(f, ",\"tier\":%d", in->tier);
		else
			fprintf(f, ",\"tier\":null");
		fprintf(f, ",\"allowed\":%s,\"weight\":", in->allowed ? "true" : "false");
		if (in->weight)
			fprintf(f, "%d", in->weight);
		else
			fprintf(f, "null");
		fprintf(f, ",\"access0\":");
		json_access(f, in, 0);
		fprintf(f, ",\"access1\":");
		json_access(f, in, 1);
		json_extents(f, m);
		fprintf(f, ",\"distance\":[");
		for (int o = 0; o < v->nmemblks; o++)
			fprintf(f, "%s%d", o ? "," : "",
				v->dist[m * v->nmemblks + o]);
		fprintf(f, "]}");
	}
	fprintf(f, "],\"nodes\":[");
	for (int n = 0, first = 1; n < v->node_limit; n++) {
		int m;

		if (!v->node_cpus[n])
			continue;
		m = node_to_memblk(n);
		fprintf(f, "%s{\"node\":%d,\"memblk\":", first ? "" : ",", n);
		if (m >= 0)
			fprintf(f, "%d", m);
		else
			fprintf(f, "null");
		fprintf(f, ",\"cpus\":");
		json_str(f, v->node_cpus[n]);
		fprintf(f, "}");
		first = 0;
	}
	fprintf(f, "]}\n");
}

static void show_table(const struct topo_view *v, FILE *f)
{
	bool hmat = false;
	char a[16], b[16];

	for (int m = 0; m < v->nmemblks; m++)
		hmat |= v->info[m].has_access[0];

	fprintf(f, "%-7s %4s %9s %9s %5s %-16s", "MEMBLK", "NODE", "SIZE",
		"FREE", "TIER", "CPUS");
	if (hmat)
		fprintf(f, " %11s %11s", "READ MB/s", "READ LAT ns");
	fputc('\n', f);
	for (int m = 0; m < v->nmemblks; m++) {
		const struct memblk_info *in = &v->info[m];
		char tier[16];

		if (in->tier >= 0)
			snprintf(tier, sizeof(tier), "%d", in->tier);
		else
			snprintf(tier, sizeof(tier), "-");
		fprintf(f, "%-7d %4d %9s %9s %5s %-16s", m, in->node,
			human_size(in->size_bytes, a, sizeof(a)),
			human_size(in->free_bytes, b, sizeof(b)), tier,
			*v->memblk_cpus[m] ? v->memblk_cpus[m] :
					     "(none: memory only)");
		if (hmat && in->has_access[0])
			fprintf(f, " %11llu %11llu",
				(unsigned long long)in->access[0].read_bandwidth,
				(unsigned long long)in->access[0].read_latency);
		else if (hmat)
			fprintf(f, " %11s %11s", "-", "-");
		if (!in->allowed)
			fprintf(f, "  (not allowed)");
		fputc('\n', f);
	}
	for (int n = 0; n < v->node_limit; n++)
		if (v->node_cpus[n] && node_to_memblk(n) < 0)
			fprintf(f, "node %d: CPUs %s, no memory (nearest memblk %d)\n",
				n, *v->node_cpus[n] ? v->node_cpus[n] : "none",
				*v->node_cpus[n] ?
					cpu_to_memblk(atoi(v->node_cpus[n])) :
					-1);

	fprintf(f, "\ndistance");
	for (int o = 0; o < v->nmemblks; o++)
		fprintf(f, " %4d", o);
	fputc('\n', f);
	for (int m = 0; m < v->nmemblks; m++) {
		fprintf(f, "%8d", m);
		for (int o = 0; o < v->nmemblks; o++)
			fprintf(f, " %4d", v->dist[m * v->nmemblks + o]);
		fputc('\n', f);
	}
}

static const char show_usage[] =
	"Usage: membind show [--json | --svg [FILE]]\n"
	"Show memblks (the memory of each NUMA node with memory), their\n"
	"nodes, sizes, free memory, CPUs, tiers, HMAT bandwidth and latency,\n"
	"and the distance matrix.  MEMBIND_SYSFS_ROOT selects a captured tree.\n"
	"  --json        one JSON document\n"
	"  --svg [FILE]  a picture of it, in SVG, into FILE (default: stdout)\n";

struct show_opts {
	bool json;
	const char *svg; /* FILE, "-" for stdout, or NULL */
};

static const struct option show_longopts[] = {
	{ "help", no_argument, NULL, OPT_HELP },
	{ "json", no_argument, NULL, OPT_JSON },
	{ "svg", optional_argument, NULL, OPT_SVG },
	{ NULL, 0, NULL, 0 },
};

static int show_opt(struct opt_state *st, int c, void *opts)
{
	struct show_opts *o = opts;

	if (c == OPT_JSON)
		o->json = true;
	else /* OPT_SVG */
		o->svg = svg_file(st, false);
	return 0;
}

static int show_parse(int argc, char **argv, void *opts)
{
	struct show_opts *o = opts;
	struct opt_state st;
	int ret;

	opt_init(&st, "show", argc, argv, show_longopts, OPT_ARGS_NONE, false);
	ret = opt_parse(&st, show_opt, o);
	if (ret)
		return ret;
	if (o->svg && o->json) {
		print_error("show: --json and --svg exclude each other");
		return EXIT_USAGE;
	}
	return 0;
}

static int show_run(void *opts)
{
	const struct show_opts *o = opts;
	struct topo_view v;
	int ret;

	if (o->svg)
		return svg_write("show", o->svg, NULL);
	ret = view_load(&v);
	if (ret < 0) {
		print_error("cannot read the memory topology: %s", strerror(-ret));
		view_free(&v);
		return EXIT_RUNTIME;
	}
	if (o->json)
		show_json(&v, stdout);
	else
		show_table(&v, stdout);
	view_free(&v);
	return fflush(stdout) ? EXIT_RUNTIME : 0;
}

const struct command cmd_show = {
	"show", show_usage, sizeof(struct show_opts), show_parse, show_run,
	NULL,
};
