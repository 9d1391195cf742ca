/* SPDX-License-Identifier: MIT */
/*
 * Description: a thread whose set_mempolicy went through but whose later
 * steps failed (stack restore, register restore, detach) runs the new
 * policy all the same, and the rollback must put it back.  The failure is
 * made with the engine's test hook mb_remote_test_fault_after_set(): after
 * the 2nd and, in a second call, the 1st successful set_mempolicy.  The
 * target's threads run PREFERRED node 0; the rebind to BIND node 0 fails
 * with -EIO, and every thread must report PREFERRED 1 afterwards.
 */
#include <pthread.h>

#include "rt.h"

#define NTHREADS 4

static int rep[2], ctl[2], ready[2];

/* For every byte on ctl, one report of the reading thread's policy. */
static void *reporter(void *arg)
{
	char c;

	(void)arg;
	while (read(ctl[0], &c, 1) == 1) {
		char line[64];
		unsigned long w = 0;
		int mode = -1, n;

		rt_own_policy(&mode, &w);
		n = snprintf(line, sizeof(line), "%ld %d %lx\n",
			     (long)syscall(SYS_gettid), mode, w);
		if (write(rep[1], line, (size_t)n) != n)
			_exit(3);
		/* let another thread take the next byte */
		usleep(20000);
	}
	return NULL;
}

/* Ask until every thread has answered once (by tid); all must run
 * PREFERRED 1. */
static void check_all(const char *what)
{
	long seen[NTHREADS];
	int nseen = 0, asked = 0;
	double end = rt_now() + 10;
	char buf[4096];
	size_t have = 0;

	while (nseen < NTHREADS && rt_now() < end) {
		ssize_t n;
		char *p = buf, *nl;

		if (asked - nseen < 2) {
			if (write(ctl[1], "g", 1) != 1)
				break;
			asked++;
		}
		n = read(rep[0], buf + have, sizeof(buf) - 1 - have);
		if (n <= 0)
			break;
		have += (size_t)n;
		buf[have] = '\0';
		while ((nl = strchr(p, '\n'))) {
			long tid;
			int m, i;
			unsigned long w;

			if (sscanf(p, "%ld %d %lx", &tid, &m, &w) == 3) {
				for (i = 0; i < nseen; i++)
					if (seen[i] == tid)
						break;
				if (i == nseen) {
					seen[nseen++] = tid;
					RT_CHECK(m == RT_MPOL_PREFERRED &&
							 w == 1,
						 "%s: tid %ld has mode %d mask %lx, expected %d 1",
						 what, tid, m, w,
						 RT_MPOL_PREFERRED);
				}
			}
			p = nl + 1;
		}
		have = strlen(p);
		memmove(buf, p, have);
	}
	RT_CHECK(nseen == NTHREADS, "%s: %d of %d threads answered", what,
		 nseen, NTHREADS);
}

int main(void)
{
	unsigned long one = 1;
	pid_t pid;
	int r, st;
	char c;

	if (pipe(rep) || pipe(ctl) || pipe(ready))
		return 1;
	pid = fork();
	if (pid == 0) {
		pthread_t th;

		if (syscall(SYS_set_mempolicy, RT_MPOL_PREFERRED, &one, 65))
			_exit(6);
		for (int i = 1; i < NTHREADS; i++)
			pthread_create(&th, NULL, reporter, NULL);
		if (write(ready[1], "r", 1) != 1)
			_exit(7);
		reporter(NULL);
		_exit(0);
	}
	if (read(ready[0], &c, 1) != 1)
		return 1;
	alarm(60);

	for (int nth = 2; nth >= 1; nth--) {
		char what[64];

		snprintf(what, sizeof(what), "failure after set %d", nth);
		mb_remote_test_fault_after_set(nth);
		r = mb_remote_set_mempolicy(pid, RT_MPOL_BIND, &one, 64);
		RT_CHECK(r == -EIO, "%s: %d, expected -EIO", what, r);
		mb_remote_test_fault_after_set(0);
		rt_check_free(pid, 0);
		check_all(what);
	}
	/* and without a fault it works */
	r = mb_remote_set_mempolicy(pid, RT_MPOL_BIND, &one, 64);
	RT_CHECK(r == 0, "rebind without a fault: %d", r);
	rt_check_free(pid, 0);
	kill(pid, SIGKILL);
	waitpid(pid, &st, 0);
	return rt_exit("test-fault");
}
