/* SPDX-License-Identifier: MIT */
/*
 * spank_membind: a Slurm SPANK plugin that binds the memory of every task of
 * a job step with membind, before the task execs its program.
 *
 *   srun --membind=soft:all ./app          every task: soft binding, all memblks
 *   srun --membind-map=local ./app         each task: hard, memblks near its CPUs
 *   srun --membind=soft --membind-map=0,1  local rank i: soft on entry i mod 2
 *
 * plugstack.conf:
 *   optional /usr/lib/x86_64-linux-gnu/slurm-wlm/spank_membind.so \
 *            [default=SCHEME[:LIST]] [default-map=MAP] [allow=SCHEME,...]
 *            [verbose]
 *
 * Where each part runs:
 *   - srun, sbatch, salloc (local and allocator contexts): the option
 *     callbacks check the syntax of what the user wrote and
 *     slurm_spank_init_post_opt() checks the combination against the site's
 *     allow= list.  Anything wrong refuses the job with one line.  Whether a
 *     memblk exists can only be known on the compute node.
 *   - slurmstepd (remote context): slurm_spank_task_init() runs in each task
 *     after fork, after task/affinity has set its CPUs, as the user, before
 *     execve().  The task is single-threaded there, so mem_setbinding(0, ...)
 *     binds the whole process, and whatever it starts inherits the binding.
 *     One mem_setbinding() call: the binding is applied whole or not at all;
 *     a binding that cannot be applied fails the task with one line.
 */
#include <errno.h>
#include <limits.h>
#include <sched.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <slurm/spank.h>

#include "membind.h"
#include "../../src/list_syntax.h"

SPANK_PLUGIN(membind, 1);

#define TEXT_MAX 1024
#define MAP_MAX 4096 /* entries of an explicit map, after N*count */
#define NMASK MEMBIND_MASK_LONGS(MEMBIND_MAX_BITS)

enum map_kind { MAP_NONE, MAP_LOCAL, MAP_RANK, MAP_LIST };

/* One request: --membind and --membind-map together, or the site default. */
struct request {
	bool given;            /* anything at all */
	bool has_scheme;       /* --membind given */
	unsigned long scheme;  /* MEMBIND_* */
	char list[TEXT_MAX];   /* "" if none */
	enum map_kind map;
	char maptext[TEXT_MAX];
};

/* The user's options (filled by the callbacks) and the site's settings
 * (plugin arguments). */
static struct request user;
static bool user_verbose;
static struct request site_default;
static unsigned int site_allow = ~0u; /* bit per scheme */
static bool site_verbose;

/* ---- syntax, checked everywhere (no topology needed) -------------------- */

static int set_error(char *err, size_t size, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static int set_error(char *err, size_t size, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, size, fmt, ap);
	va_end(ap);
	return -1;
}

static const char scheme_help[] =
	"hard, soft, round-robin, weighted, first-touch or default";

/* SCHEME[:LIST] into r (scheme and list only). */
static int parse_binding(const char *text, struct request *r, char *err,
			 size_t size)
{
	const char *colon = strchr(text, ':');
	size_t n = colon ? (size_t)(colon - text) : strlen(text);
	char name[32];
	unsigned long scheme;

	snprintf(name, sizeof(name), "%.*s", (int)(n < 31 ? n : 31), text);
	if (n == 0 || n >= sizeof(name) ||
	    membind_scheme_parse(name, &scheme) < 0)
		return set_error(err, size,
				 "unknown scheme '%s' (expected %s)", name,
				 scheme_help);
	if (scheme == MEMBIND_STRIPE)
		return set_error(err, size,
				 "stripe binds ranges of memory, not processes (expected %s)",
				 scheme_help);
	if (colon) {
		if (!colon[1])
			return set_error(err, size, "empty list after '%s:'",
					 name);
		if (strlen(colon + 1) >= sizeof(r->list))
			return set_error(err, size, "list too long");
		if (!mb_list_syntax_ok(colon + 1))
			return set_error(err, size,
					 "malformed list '%s' (expected memblk ids like 0-2,5, nodes like n0,n2-3, all, or !LIST)",
					 colon + 1);
		if (scheme == MEMBIND_DEFAULT)
			return set_error(err, size, "default takes no list");
	}
	r->has_scheme = true;
	r->scheme = scheme;
	snprintf(r->list, sizeof(r->list), "%s", colon ? colon + 1 : "");
	return 0;
}

/* One entry of an explicit map: memblk "ID" or node "nNODE", with an optional
 * "*COUNT" (it stands for COUNT local ranks in a row). */
struct map_entry {
	bool node;
	unsigned long id;
	unsigned long count;
};

static const char *parse_map_entry(const char *s, struct map_entry *e)
{
	e->node = *s == 'n';
	if (e->node)
		s++;
	s = mb_parse_uint(s, MEMBIND_MAX_BITS - 1, &e->id);
	if (!s)
		return NULL;
	e->count = 1;
	if (*s == '*') {
		s = mb_parse_uint(s + 1, MAP_MAX, &e->count);
		if (!s || e->count == 0)
			return NULL;
	}
	if (*s && *s != ',')
		return NULL;
	return s;
}

/* The map entry for local rank i (repeating the map as needed). */
static bool map_entry_for(const char *s, unsigned long i, struct map_entry *e)
{
	unsigned long total = 0;
	const char *p;

	for (p = s; *p;) {
		p = parse_map_entry(p, e);
		if (!p)
			return false;
		total += e->count;
		if (*p)
			p++;
	}
	if (!total)
		return false;
	i %= total;
	for (p = s; *p;) {
		p = parse_map_entry(p, e);
		if (i < e->count)
			return true;
		i -= e->count;
		if (*p)
			p++;
	}
	return false;
}

static int parse_map(const char *text, struct request *r, char *err,
		     size_t size)
{
	if (!strcmp(text, "local")) {
		r->map = MAP_LOCAL;
	} else if (!strcmp(text, "rank")) {
		r->map = MAP_RANK;
	} else {
		unsigned long total = 0;
		struct map_entry e;
		const char *p = text;

		if (strlen(text) >= sizeof(r->maptext))
			return set_error(err, size, "map too long");
		while (*p) {
			p = parse_map_entry(p, &e);
			if (!p)
				break;
			total += e.count;
			if (*p && !*++p)
				p = NULL; /* trailing comma */
			if (!p)
				break;
		}
		if (!*text || !p || total > MAP_MAX)
			return set_error(err, size,
					 "malformed map '%s' (expected local, rank, or one memblk per local rank like 0,1,1,0, nodes as n1, repeats as 0*4,1*4)",
					 text);
		r->map = MAP_LIST;
	}
	snprintf(r->maptext, sizeof(r->maptext), "%s", text);
	return 0;
}

/* Does the combination make sense?  (--membind and --membind-map are seen by
 * separate callbacks, in either order.) */
static int check_request(const struct request *r, char *err, size_t size)
{
	const char *name = membind_scheme_name(r->scheme);

	if (r->map != MAP_NONE) {
		if (r->has_scheme && r->list[0])
			return set_error(err, size,
					 "--membind=%s:%s and --membind-map=%s both give memblks; give the list in one of them (--membind=%s --membind-map=%s)",
					 name, r->list, r->maptext, name,
					 r->maptext);
		if (r->has_scheme && r->scheme == MEMBIND_DEFAULT)
			return set_error(err, size,
					 "--membind=default cannot take a map");
		return 0;
	}
	if (r->has_scheme && !r->list[0] && r->scheme != MEMBIND_DEFAULT &&
	    r->scheme != MEMBIND_FIRST_TOUCH)
		return set_error(err, size,
				 "%s needs a list of memblks (--membind=%s:LIST, e.g. %s:all) or a map (--membind-map)",
				 name, name, name);
	return 0;
}

/* The scheme a request applies: a map without --membind binds hard, as
 * Slurm's --mem-bind=map_mem does. */
static unsigned long request_scheme(const struct request *r)
{
	return r->has_scheme ? r->scheme : MEMBIND_HARD;
}

/* ---- options ------------------------------------------------------------ */

static int opt_membind(int val, const char *optarg, int remote);
static int opt_map(int val, const char *optarg, int remote);
static int opt_verbose(int val, const char *optarg, int remote);

static struct spank_option options[] = {
	{ "membind", "SCHEME[:LIST]",
	  "Bind each task's memory with membind: SCHEME is hard, soft, "
	  "round-robin, weighted, first-touch or default; LIST is memblks "
	  "(0-1,3), nodes (n0,n2) or all.",
	  1, 0, opt_membind },
	{ "membind-map", "local|rank|LIST",
	  "Bind each task to its own memblk: local (nearest its CPUs), rank "
	  "(local rank mod memblks), or one memblk per local rank (0,1,n2,0*4).",
	  1, 0, opt_map },
	{ "membind-verbose", NULL,
	  "Print each task's memory binding (membind).", 0, 0, opt_verbose },
	SPANK_OPTIONS_TABLE_END
};

/* Parse one option's value into a copy of the request, so that a refused
 * value leaves the options given before it as they were. */
static int take_option(const char *name, const char *optarg,
		       int (*parse)(const char *, struct request *, char *,
				    size_t))
{
	char err[512];
	struct request r = user;

	if (!optarg)
		optarg = "";
	if (parse(optarg, &r, err, sizeof(err)) < 0) {
		slurm_error("membind: --%s=%s: %s", name, optarg, err);
		return -1;
	}
	r.given = true;
	user = r;
	return 0;
}

static int opt_membind(int val, const char *optarg, int remote)
{
	(void)val;
	(void)remote;
	return take_option("membind", optarg, parse_binding);
}

static int opt_map(int val, const char *optarg, int remote)
{
	(void)val;
	(void)remote;
	return take_option("membind-map", optarg, parse_map);
}

static int opt_verbose(int val, const char *optarg, int remote)
{
	(void)val;
	(void)optarg;
	(void)remote;
	user_verbose = true;
	return 0;
}

/* ---- plugin arguments (plugstack.conf) ------------------------------------ */

static int parse_allow(const char *text)
{
	char buf[TEXT_MAX], *save = NULL;
	unsigned int allow = 0;

	if (strlen(text) >= sizeof(buf)) {
		slurm_error("membind: plugstack.conf: allow= is too long");
		return -1;
	}
	strcpy(buf, text);
	for (char *t = strtok_r(buf, ",", &save); t;
	     t = strtok_r(NULL, ",", &save)) {
		unsigned long s;

		if (membind_scheme_parse(t, &s) < 0 || s == MEMBIND_STRIPE) {
			slurm_error("membind: plugstack.conf: allow=%s: unknown scheme '%s' (expected %s)",
				    text, t, scheme_help);
			return -1;
		}
		allow |= 1u << s;
	}
	if (!allow) {
		slurm_error("membind: plugstack.conf: allow= names no scheme");
		return -1;
	}
	site_allow = allow;
	return 0;
}

static int parse_args(int ac, char **av)
{
	char err[512];

	for (int i = 0; i < ac; i++) {
		const char *a = av[i];

		if (!strncmp(a, "default=", 8) ||
		    !strncmp(a, "default-map=", 12)) {
			struct request r = site_default;

			if (a[7] == '=' ?
				    parse_binding(a + 8, &r, err, sizeof(err)) :
				    parse_map(a + 12, &r, err, sizeof(err))) {
				slurm_error("membind: plugstack.conf: %s: %s",
					    a, err);
				return -1;
			}
			r.given = true;
			site_default = r;
		} else if (!strncmp(a, "allow=", 6)) {
			if (parse_allow(a + 6) < 0)
				return -1;
		} else if (!strcmp(a, "verbose")) {
			site_verbose = true;
		} else {
			slurm_error("membind: plugstack.conf: unknown argument '%s' (expected default=SCHEME[:LIST], default-map=MAP, allow=SCHEME,... or verbose)",
				    a);
			return -1;
		}
	}
	return 0;
}

/* ---- hooks -------------------------------------------------------------- */

int slurm_spank_init(spank_t sp, int ac, char **av)
{
	spank_context_t ctx = spank_context();
	char err[512];

	if (ctx != S_CTX_LOCAL && ctx != S_CTX_ALLOCATOR && ctx != S_CTX_REMOTE)
		return 0;
	for (struct spank_option *o = options; o->name; o++) {
		spank_err_t e = spank_option_register(sp, o);

		if (e != ESPANK_SUCCESS) {
			slurm_error("membind: cannot register --%s: %s",
				    o->name, spank_strerror(e));
			return -1;
		}
	}
	if (parse_args(ac, av) < 0)
		return -1;
	if (site_default.given &&
	    check_request(&site_default, err, sizeof(err)) < 0) {
		slurm_error("membind: plugstack.conf: default: %s", err);
		return -1;
	}
	return 0;
}

/* All options are in: check the combination and the site's allow list. */
int slurm_spank_init_post_opt(spank_t sp, int ac, char **av)
{
	spank_context_t ctx = spank_context();
	char err[512];

	(void)sp;
	(void)ac;
	(void)av;
	if (ctx != S_CTX_LOCAL && ctx != S_CTX_ALLOCATOR && ctx != S_CTX_REMOTE)
		return 0;
	if (!user.given)
		return 0;
	if (check_request(&user, err, sizeof(err)) < 0) {
		slurm_error("membind: %s", err);
		return -1;
	}
	if (!(site_allow & (1u << request_scheme(&user)))) {
		char allowed[256] = "";

		for (unsigned long s = 0; s <= MEMBIND_WEIGHTED; s++)
			if (site_allow & (1u << s)) {
				if (allowed[0])
					strcat(allowed, ",");
				strcat(allowed, membind_scheme_name(s));
			}
		slurm_error("membind: scheme '%s' is not allowed on this cluster (allowed: %s)",
			    membind_scheme_name(request_scheme(&user)),
			    allowed);
		return -1;
	}
	return 0;
}

/* In the task: one line on the task's stderr (the job's output), also in the
 * slurmd log. */
static void task_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void task_error(const char *fmt, ...)
{
	char line[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	slurm_error("%s", line);
}

/* Memblks nearest the CPUs this task may run on. */
static int local_memblks(unsigned int nbits, unsigned long *mask)
{
	int ncpu = membind_cpu_limit();
	size_t setsize;
	cpu_set_t *set;
	int n = 0;

	if (ncpu <= 0)
		return ncpu ? ncpu : -ENOENT;
	if (ncpu > 8192)
		ncpu = 8192;
	set = CPU_ALLOC((size_t)ncpu);
	if (!set)
		return -ENOMEM;
	setsize = CPU_ALLOC_SIZE((size_t)ncpu);
	if (sched_getaffinity(0, setsize, set)) {
		int e = -errno;

		CPU_FREE(set);
		return e;
	}
	for (int c = 0; c < ncpu; c++) {
		int m;

		if (!CPU_ISSET_S((size_t)c, setsize, set))
			continue;
		m = cpu_to_memblk(c);
		if (!memblk_mask_test(nbits, mask, m) &&
		    memblk_mask_set(nbits, mask, m) == 0)
			n++;
	}
	CPU_FREE(set);
	return n ? n : -ENOENT;
}

/* Nodes of the memblks in mask, as text ("0,2"). */
static void format_nodes(unsigned int nbits, const unsigned long *mask,
			 char *buf, size_t size)
{
	unsigned long nodes[NMASK] = {0};

	for (unsigned int m = 0; m < nbits; m++) {
		int node;

		if (!memblk_mask_test(nbits, mask, (int)m))
			continue;
		node = memblk_to_node((int)m);
		memblk_mask_set(MEMBIND_MAX_BITS, nodes, node);
	}
	memblk_list_format(MEMBIND_MAX_BITS, nodes, buf, size);
}

/* The memblks of request r for local task id: 0, or -1 with the reason
 * printed. */
static int task_mask(const struct request *r, unsigned int taskid,
		     const char *where, unsigned int nbits, unsigned long *mask)
{
	unsigned long allowed[NMASK] = {0}, all[NMASK] = {0};
	char text[256];
	struct map_entry e;
	int ret, n;

	for (unsigned int m = 0; m < nbits; m++)
		memblk_mask_set(nbits, all, (int)m);

	switch (r->map) {
	case MAP_NONE:
		if (!r->list[0])
			return 0; /* default, or first-touch without a list */
		ret = memblk_list_parse(r->list, nbits, mask);
		if (ret == -ENOENT) {
			memblk_list_format(nbits, all, text, sizeof(text));
			task_error("membind: task %u on %s: no memblk or node '%s' here (memblks here: %s)",
				   taskid, where, r->list, text);
			return -1;
		}
		if (ret < 0) {
			task_error("membind: task %u on %s: list '%s': %s",
				   taskid, where, r->list, strerror(-ret));
			return -1;
		}
		/* "all" and "!LIST" mean the memblks this job may use (its
		 * cgroup's cpuset.mems), not every memblk of the node. */
		if (r->list[0] == '!' || !strcmp(r->list, "all")) {
			n = memblk_allowed(nbits, allowed);
			ret = 0;
			for (unsigned int m = 0; m < nbits; m++) {
				if (!memblk_mask_test(nbits, allowed, (int)m))
					memblk_mask_clear(nbits, mask, (int)m);
				ret += memblk_mask_test(nbits, mask, (int)m);
			}
		}
		if (ret == 0) {
			task_error("membind: task %u on %s: list '%s' names no memblk this job may use",
				   taskid, where, r->list);
			return -1;
		}
		return 0;
	case MAP_LOCAL:
		ret = local_memblks(nbits, mask);
		if (ret < 0) {
			task_error("membind: task %u on %s: no memblk near this task's CPUs: %s",
				   taskid, where, strerror(-ret));
			return -1;
		}
		return 0;
	case MAP_RANK:
		n = memblk_allowed(nbits, allowed);
		if (n <= 0) {
			task_error("membind: task %u on %s: this job may use no memblk: %s",
				   taskid, where,
				   strerror(n < 0 ? -n : ENOENT));
			return -1;
		}
		n = (int)(taskid % (unsigned int)n);
		for (unsigned int m = 0; m < nbits; m++)
			if (memblk_mask_test(nbits, allowed, (int)m) && n-- == 0) {
				memblk_mask_set(nbits, mask, (int)m);
				break;
			}
		return 0;
	case MAP_LIST:
		if (!map_entry_for(r->maptext, taskid, &e))
			break;
		ret = e.node ? node_to_memblk((int)e.id) :
			       (e.id < nbits ? (int)e.id : -ENOENT);
		if (ret < 0) {
			memblk_list_format(nbits, all, text, sizeof(text));
			task_error("membind: task %u on %s: --membind-map=%s: no %s %lu here (memblks here: %s)",
				   taskid, where, r->maptext,
				   e.node ? "node with memory" : "memblk",
				   e.id, text);
			return -1;
		}
		memblk_mask_set(nbits, mask, ret);
		return 0;
	}
	task_error("membind: task %u on %s: bad map '%s'", taskid, where,
		   r->maptext);
	return -1;
}

/* Is the user's own --mem-bind in force for this step? */
static bool slurm_mem_bind_given(spank_t sp)
{
	char buf[64];

	if (spank_getenv(sp, "SLURM_MEM_BIND_TYPE", buf, sizeof(buf)) !=
	    ESPANK_SUCCESS)
		return false;
	return buf[0] && strcmp(buf, "none") && strncmp(buf, "none,", 5) &&
	       strcmp(buf, "verbose,none");
}

/* --membind-verbose: the binding the task now has, as the kernel reports it
 * (so a --mem-bind of task/affinity shows too), with its CPUs. */
static void report(const char *where, int taskid, uint32_t jobid,
		   uint32_t stepid, uint32_t gtid, const char *note)
{
	unsigned long mask[NMASK] = {0}, scheme = 0;
	char list[256] = "", nodes[256] = "", cpus[256] = "?";
	unsigned long cpumask[MEMBIND_MASK_LONGS(1024)] = {0};
	cpu_set_t set;
	int n;

	n = mem_getbinding(0, MEMBIND_MAX_BITS, mask, &scheme);
	if (n > 0) {
		memblk_list_format((unsigned int)n, mask, list, sizeof(list));
		format_nodes((unsigned int)n, mask, nodes, sizeof(nodes));
	}
	if (!sched_getaffinity(0, sizeof(set), &set)) {
		for (int c = 0; c < CPU_SETSIZE && c < 1024; c++)
			if (CPU_ISSET(c, &set))
				memblk_mask_set(1024, cpumask, c);
		memblk_list_format(1024, cpumask, cpus, sizeof(cpus));
	}
	fprintf(stderr,
		"membind: job %u.%u task %d (rank %u) pid %ld on %s: %s %s (nodes %s), cpus %s%s\n",
		jobid, stepid, taskid, gtid, (long)getpid(), where,
		n < 0 ? "unknown" : membind_scheme_name(scheme),
		list[0] ? list : "-", nodes[0] ? nodes : "-", cpus, note);
	fflush(stderr);
}

int slurm_spank_task_init(spank_t sp, int ac, char **av)
{
	const struct request *r = &user;
	unsigned long mask[NMASK] = {0};
	unsigned long scheme;
	char where[256] = "?", list[256] = "", nodes[256] = "";
	uint32_t jobid = 0, stepid = 0, gtid = 0;
	int taskid = 0, count, ret;
	unsigned int nbits;
	bool verbose = user_verbose || site_verbose;

	(void)ac;
	(void)av;
	if (!spank_remote(sp))
		return 0;
	if (!r->given)
		r = site_default.given && !slurm_mem_bind_given(sp) ?
			    &site_default :
			    NULL;
	if (!r && !verbose)
		return 0;
	spank_get_item(sp, S_TASK_ID, &taskid);
	spank_get_item(sp, S_TASK_GLOBAL_ID, &gtid);
	spank_get_item(sp, S_JOB_ID, &jobid);
	spank_get_item(sp, S_JOB_STEPID, &stepid);
	/* The node as Slurm names it, else as the kernel does. */
	if (spank_getenv(sp, "SLURMD_NODENAME", where, sizeof(where)) !=
		    ESPANK_SUCCESS &&
	    gethostname(where, sizeof(where)))
		strcpy(where, "?");
	where[sizeof(where) - 1] = '\0';
	if (!r) {
		report(where, taskid, jobid, stepid, gtid,
		       " (not set by membind)");
		return 0;
	}

	count = memblk_count();
	if (count <= 0) {
		task_error("membind: task %d on %s: cannot read the NUMA topology: %s",
			   taskid, where, strerror(count ? -count : ENOENT));
		return -1;
	}
	nbits = (unsigned int)count;
	if (task_mask(r, (unsigned int)taskid, where, nbits, mask) < 0)
		return -1;
	scheme = request_scheme(r);
	ret = mem_setbinding(0, nbits, mask, scheme);
	if (ret < 0) {
		unsigned long allowed[NMASK] = {0};
		const char *why = strerror(-ret);
		char allowed_text[256] = "";
		bool outside = false;

		memblk_list_format(nbits, mask, list, sizeof(list));
		format_nodes(nbits, mask, nodes, sizeof(nodes));
		memblk_allowed(nbits, allowed);
		for (unsigned int m = 0; m < nbits; m++)
			if (memblk_mask_test(nbits, mask, (int)m) &&
			    !memblk_mask_test(nbits, allowed, (int)m))
				outside = true;
		memblk_list_format(nbits, allowed, allowed_text,
				   sizeof(allowed_text));
		if (ret == -EINVAL && outside)
			why = "outside this job's memblks (cpuset.mems)";
		else if (ret == -EOPNOTSUPP)
			why = "this kernel cannot do that scheme";
		task_error("membind: task %d on %s: cannot bind memory %s %s (nodes %s): %s; allowed memblks: %s",
			   taskid, where, membind_scheme_name(scheme),
			   list[0] ? list : "-", nodes[0] ? nodes : "-", why,
			   allowed_text[0] ? allowed_text : "none");
		return -1;
	}
	if (verbose)
		report(where, taskid, jobid, stepid, gtid, "");
	return 0;
}
