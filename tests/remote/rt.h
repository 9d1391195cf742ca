/* SPDX-License-Identifier: MIT */
/* Small helpers shared by the remote-engine tests. */
#ifndef MEMBIND_TESTS_REMOTE_RT_H
#define MEMBIND_TESTS_REMOTE_RT_H

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <linux/capability.h>

#include "remote.h"
#include "testing.h"

#define RT_MPOL_DEFAULT 0
#define RT_MPOL_PREFERRED 1
#define RT_MPOL_BIND 2
#define RT_MPOL_INTERLEAVE 3
#define RT_MASK_BITS 1024

static int rt_failures;

static inline void rt_fail(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fprintf(stderr, "FAIL: ");
	vfprintf(stderr, fmt, ap);
	fprintf(stderr, "\n");
	va_end(ap);
	rt_failures++;
}

#define RT_CHECK(cond, ...)                                                   \
	do {                                                                  \
		if (!(cond))                                                  \
			rt_fail(__VA_ARGS__);                                 \
	} while (0)

static inline double rt_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* The calling thread's policy: mode, and the first word of the mask. */
static inline int rt_own_policy(int *mode, unsigned long *word)
{
	unsigned long mask[RT_MASK_BITS / (8 * sizeof(long))] = { 0 };

	if (syscall(SYS_get_mempolicy, mode, mask, RT_MASK_BITS + 1, 0, 0))
		return -errno;
	*word = mask[0];
	return 0;
}

/* Field "key:" of /proc/pid[/task/tid]/status as text, "" if missing. */
static inline void rt_status(pid_t pid, pid_t tid, const char *key, char *out,
			     size_t size)
{
	char path[96], buf[4096];
	size_t klen = strlen(key);
	ssize_t n;
	char *p;
	int fd;

	if (tid)
		snprintf(path, sizeof(path), "/proc/%d/task/%d/status", pid,
			 tid);
	else
		snprintf(path, sizeof(path), "/proc/%d/status", pid);
	out[0] = '\0';
	fd = open(path, O_RDONLY);
	if (fd < 0)
		return;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return;
	buf[n] = '\0';
	for (p = buf; p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL) {
		if (!strncmp(p, key, klen) && p[klen] == ':') {
			p += klen + 1;
			while (*p == ' ' || *p == '\t')
				p++;
			snprintf(out, size, "%.*s", (int)strcspn(p, "\n"), p);
			return;
		}
	}
}

/* Every thread of pid: not traced, and not stopped (unless allow_stopped).
 * Returns the number of offending threads. */
static inline int rt_check_free(pid_t pid, int allow_stopped)
{
	char path[64], v[64];
	int bad = 0;
	FILE *ls;

	snprintf(path, sizeof(path), "ls /proc/%d/task", pid);
	ls = popen(path, "r");
	if (!ls)
		return 0;
	while (fgets(v, sizeof(v), ls)) {
		pid_t tid = (pid_t)atoi(v);
		char tr[64], st[64];

		rt_status(pid, tid, "TracerPid", tr, sizeof(tr));
		rt_status(pid, tid, "State", st, sizeof(st));
		if (tr[0] && strcmp(tr, "0")) {
			rt_fail("pid %d tid %d still traced by %s", pid, tid,
				tr);
			bad++;
		}
		if (!allow_stopped && (st[0] == 't' || st[0] == 'T')) {
			rt_fail("pid %d tid %d left stopped (%s)", pid, tid,
				st);
			bad++;
		}
	}
	pclose(ls);
	return bad;
}

/* CAP_SYS_ADMIN in our effective set: on 1 turns it on (if permitted), 0
 * off, -1 only asks.  Returns whether it is in the effective set after.
 * Without it the engine refuses threads with a seccomp filter; with it, it
 * suspends their filter for its own calls. */
static inline int rt_sys_admin(int on)
{
	struct __user_cap_header_struct h = { _LINUX_CAPABILITY_VERSION_3, 0 };
	struct __user_cap_data_struct d[2];
	unsigned int bit = 1u << (CAP_SYS_ADMIN % 32);

	if (syscall(SYS_capget, &h, d))
		return 0;
	if (on == 1 && (d[CAP_SYS_ADMIN / 32].permitted & bit))
		d[CAP_SYS_ADMIN / 32].effective |= bit;
	else if (on == 0)
		d[CAP_SYS_ADMIN / 32].effective &= ~bit;
	if (on >= 0 && syscall(SYS_capset, &h, d))
		return 0;
	if (syscall(SYS_capget, &h, d))
		return 0;
	return !!(d[CAP_SYS_ADMIN / 32].effective & bit);
}

static inline int rt_exit(const char *name)
{
	if (rt_failures) {
		fprintf(stderr, "%s: %d failure(s)\n", name, rt_failures);
		return 1;
	}
	printf("%s: ok\n", name);
	return 0;
}

#endif
