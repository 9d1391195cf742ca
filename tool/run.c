/* SPDX-License-Identifier: MIT */
/* membind run BINDING [--cpus LIST] [--libnuma] -- CMD [ARGS]: bind this
 * process, then become the program; the binding is inherited by its threads
 * and children and survives execve(). */
#include <errno.h>
#include <limits.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "membind.h"
#include "tool.h"

static const char run_usage[] =
	"Usage: membind run BINDING [--cpus CPULIST] [--libnuma] [--] CMD [ARGS...]\n"
	"Run CMD with its memory bound as BINDING (inherited by its threads and\n"
	"children), and optionally on the CPUs of CPULIST.\n"
	"  --hard LIST          only these memblks\n"
	"  --soft LIST          these first, then the nearest others\n"
	"  --round-robin LIST   pages interleaved over these memblks\n"
	"  --weighted LIST      interleaved by the kernel's weights\n"
	"  --first-touch [LIST] near the CPU that first touches a page\n"
	"  --default            the system default\n"
	"  --cpus CPULIST       CPU ids and ranges (0-3,8), all, or the CPUs of\n"
	"                       nodes (n0,n2-3)\n"
	"  --libnuma            CMD uses membind's libnuma.so.1 (LD_LIBRARY_PATH);\n"
	"                       BINDING is then optional\n"
	"LIST: memblk ids and ranges (0-2,5), all, a leading ! to invert, nodes as\n"
	"n0,n2-3.  --stripe applies to ranges only.  See membind(1).\n";

/* A CPU list: "0-3,8", "all", or nodes "n0,n2-3" meaning their CPUs. */
static int cpus_arg(const char *text, cpu_set_t **set, size_t *size)
{
	int limit = membind_cpu_limit();
	unsigned long *tmp;
	const char *s = text;
	int ret = 0;

	if (limit <= 0) {
		print_error("run: cannot read the CPU topology");
		return EXIT_RUNTIME;
	}
	*size = CPU_ALLOC_SIZE(limit);
	*set = CPU_ALLOC(limit);
	tmp = calloc(MEMBIND_MASK_LONGS((unsigned)limit), sizeof(long));
	if (!*set || !tmp) {
		print_error("run: out of memory");
		free(tmp);
		return EXIT_RUNTIME;
	}
	CPU_ZERO_S(*size, *set);
	if (!*s)
		goto malformed;
	if (!strcmp(s, "all")) {
		for (int c = 0; c < limit; c++)
			CPU_SET_S((size_t)c, *size, *set);
		goto out;
	}
	while (*s) {
		bool node = *s == 'n';
		char *end;
		long a, b;

		if (node)
			s++;
		if (*s < '0' || *s > '9')
			goto malformed;
		a = strtol(s, &end, 10);
		b = a;
		if (*end == '-') {
			if (end[1] < '0' || end[1] > '9')
				goto malformed;
			b = strtol(end + 1, &end, 10);
		}
		if (b < a || (*end && *end != ','))
			goto malformed;
		for (long c = a; c <= b; c++) {
			if (node) {
				int n = c < membind_node_limit() ?
						node_cpus((int)c, (unsigned)limit, tmp) :
						-ENOENT;

				if (n <= 0) {
					print_error("run: --cpus: node n%ld %s", c,
						    n == 0 ? "has no CPUs" :
							 "does not exist");
					ret = EXIT_USAGE;
					goto out;
				}
				for (int k = 0; k < limit; k++)
					if (memblk_mask_test((unsigned)limit, tmp, k))
						CPU_SET_S((size_t)k, *size, *set);
			} else if (c >= limit) {
				print_error("run: --cpus: no CPU %ld here (CPUs 0-%d)",
					    c, limit - 1);
				ret = EXIT_USAGE;
				goto out;
			} else {
				CPU_SET_S((size_t)c, *size, *set);
			}
		}
		s = *end ? end + 1 : end;
		if (*end && !*s)
			goto malformed;
	}
	goto out;
malformed:
	print_error("run: --cpus: malformed CPU list '%s' (expected CPU ids and ranges like 0-3,8, all, or nodes like n0,n2-3)",
		    text);
	ret = EXIT_USAGE;
out:
	free(tmp);
	return ret;
}

/* --libnuma: put the directory of membind's libnuma.so.1 first in
 * LD_LIBRARY_PATH.  It is found from this program's own path, so that an
 * installed tree works wherever it was unpacked: BUILD/libnuma beside
 * BUILD/tool/membind, PREFIX/LIBDIR/membind beside PREFIX/BINDIR/membind;
 * else where meson installs it. */
static int libnuma_path(void)
{
	static const char bindir[] = "/" MEMBIND_BINDIR;
	const size_t blen = sizeof(bindir) - 1;
	char exe[PATH_MAX], dir[2 * PATH_MAX];
	const char *old = getenv("LD_LIBRARY_PATH");
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	char *cut = n > 0 ? memrchr(exe, '/', (size_t)n) : NULL;
	char *val;

	if (!cut) {
		print_error("run: --libnuma: cannot read /proc/self/exe");
		return EXIT_RUNTIME;
	}
	*cut = '\0';
	snprintf(dir, sizeof(dir), "%s/../libnuma/libnuma.so.1", exe);
	if (access(dir, R_OK) && (size_t)(cut - exe) >= blen &&
	    !strcmp(cut - blen, bindir)) {
		cut[-blen] = '\0';
		snprintf(dir, sizeof(dir), "%s/%s/membind/libnuma.so.1", exe,
			 MEMBIND_LIBDIR);
	}
	if (access(dir, R_OK))
		snprintf(dir, sizeof(dir), "%s/libnuma.so.1", MEMBIND_LIBNUMA_DIR);
	if (access(dir, R_OK)) {
		print_error("run: --libnuma: membind's libnuma.so.1 is not installed (no %s)",
			    dir);
		return EXIT_RUNTIME;
	}
	*strrchr(dir, '/') = '\0';
	if (!realpath(dir, exe) ||
	    asprintf(&val, "%s%s%s", exe, old && *old ? ":" : "",
		     old ? old : "") < 0) {
		print_error("run: --libnuma: %s: %s", dir, strerror(errno));
		return EXIT_RUNTIME;
	}
	n = setenv("LD_LIBRARY_PATH", val, 1);
	free(val);
	if (n) {
		print_error("run: --libnuma: cannot set LD_LIBRARY_PATH: %s",
			    strerror(errno));
		return EXIT_RUNTIME;
	}
	return 0;
}

struct run_opts {
	struct binding b;
	cpu_set_t *cpus; /* --cpus, or NULL */
	size_t cpus_size;
	char **command;  /* CMD [ARGS], NULL-terminated */
	bool libnuma;    /* CMD on membind's libnuma.so.1 */
};

static const struct option run_longopts[] = {
	{ "help", no_argument, NULL, OPT_HELP },
	BINDING_LONGOPTS,
	{ "libnuma", no_argument, NULL, OPT_LIBNUMA },
	{ "cpus", required_argument, NULL, OPT_CPUS },
	{ NULL, 0, NULL, 0 },
};

static int run_opt(struct opt_state *st, int c, void *opts)
{
	struct run_opts *o = opts;
	const char *v;

	if (c == OPT_LIBNUMA) {
		o->libnuma = true;
		return 0;
	}
	if (c != OPT_CPUS)
		return binding_opt(st, c, &o->b);
	v = opt_need(st, "a CPU list");
	if (!v)
		return EXIT_USAGE;
	if (o->cpus) {
		print_error("run: --cpus given twice");
		return EXIT_USAGE;
	}
	return cpus_arg(v, &o->cpus, &o->cpus_size);
}

static int run_parse(int argc, char **argv, void *opts)
{
	struct run_opts *o = opts;
	struct opt_state st;
	int ret;

	/* CMD's own options are never membind's: the options end at CMD or
	 * at "--" */
	opt_init(&st, "run", argc, argv, run_longopts, OPT_ARGS_COMMAND, true);
	ret = opt_parse(&st, run_opt, o);
	if (ret)
		return ret;
	if (st.next >= argc) {
		print_error("run: no command to run (membind run BINDING -- CMD [ARGS])");
		return EXIT_USAGE;
	}
	if (!o->b.given && !o->cpus && !o->libnuma) {
		print_error("run: no BINDING given (--hard LIST, --soft LIST, --round-robin LIST, --weighted LIST, --first-touch [LIST] or --default)");
		return EXIT_USAGE;
	}
	o->command = argv + st.next;
	return 0;
}

/* Bind this process, then become CMD; returns only if CMD did not start. */
static int run_run(void *opts)
{
	struct run_opts *o = opts;
	int ret;

	if (o->b.given) {
		ret = mem_setbinding(0, o->b.m.len, o->b.m.mask, o->b.behavior);
		if (ret < 0)
			return report_bind_error("run", 0, ret, o->b.behavior,
						 &o->b.m);
	}
	if (o->cpus && sched_setaffinity(0, o->cpus_size, o->cpus)) {
		print_error("run: --cpus: cannot run on those CPUs: %s",
			    errno == EINVAL ? "none of them is online and allowed" :
					      strerror(errno));
		return EXIT_RUNTIME;
	}
	if (o->libnuma && (ret = libnuma_path()))
		return ret;
	execvp(o->command[0], o->command);
	ret = errno;
	print_error("run: %s: %s", o->command[0], strerror(ret));
	return ret == ENOENT ? 127 : 126;
}

static void run_done(void *opts)
{
	struct run_opts *o = opts;

	mbmask_free(&o->b.m);
	free(o->cpus);
}

const struct command cmd_run = {
	"run", run_usage, sizeof(struct run_opts), run_parse, run_run,
	run_done,
};
