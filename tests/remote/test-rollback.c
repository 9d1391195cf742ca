/* SPDX-License-Identifier: MIT */
/*
 * Description: a failed rebind leaves every thread on the old policy, also
 * threads that appeared during the call.  The target runs PREFERRED node 0
 * in all threads; the rebind asks for BIND node 0.  A "spawner" thread
 * watches its own policy: once it has been rebound it creates 3 threads
 * (which inherit BIND) and then one that installs a seccomp filter.  The
 * engine meets those in a later round: the 3 are rebound (their "old"
 * policy, as get_mempolicy shows it, is already BIND), then the filtered
 * one (which puts PREFERRED back on itself first: a filtered thread is out
 * of the engine's reach) fails with -EPERM, and everything must be rolled
 * back to PREFERRED.
 * Each thread reports its own policy through a pipe afterwards.
 */
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/prctl.h>

#include "rt.h"

#define IDLE 300  /* threads that make the first round take a while: the
		   * spawner must create its threads before it ends, also on
		   * a loaded machine (100 were too few at a load of 9) */
#define SPAWNED 3 /* created by the spawner once it runs BIND */

static int rep[2], ctl[2], ready[2];

static void say(void)
{
	char line[64];
	unsigned long w = 0;
	int mode = -1, n;

	rt_own_policy(&mode, &w);
	n = snprintf(line, sizeof(line), "%ld %d %lx\n", (long)syscall(SYS_gettid), mode,
		     w);
	if (write(rep[1], line, (size_t)n) != n)
		_exit(3);
}

/* Wait for a byte on ctl, answer it with one report, then sleep. */
static void *reporter(void *arg)
{
	char c;

	(void)arg;
	if (read(ctl[0], &c, 1) == 1)
		say();
	for (;;)
		pause();
	return NULL;
}

static void *filtered(void *arg)
{
	struct sock_filter f[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS,
			 offsetof(struct seccomp_data, nr)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_set_mempolicy, 0, 1),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EPERM),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	};
	struct sock_fprog prog = { .len = 4, .filter = f };
	unsigned long one = 1;

	/* It inherited BIND, and nobody can change that once the filter is
	 * on: go back to the old policy first, so that only the engine's
	 * rollback decides what the others run. */
	if (syscall(SYS_set_mempolicy, RT_MPOL_PREFERRED, &one, 65))
		_exit(8);
	prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
	if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog))
		_exit(4);
	return reporter(arg);
}

static void *spawner(void *arg)
{
	unsigned long w;
	pthread_t th;
	int mode;

	(void)arg;
	do {
		usleep(20);
		if (rt_own_policy(&mode, &w))
			_exit(5);
	} while (mode != RT_MPOL_BIND);
	for (int i = 0; i < SPAWNED; i++)
		pthread_create(&th, NULL, reporter, NULL);
	pthread_create(&th, NULL, filtered, NULL);
	return reporter(arg);
}

#define NREPORT (1 + 1 + IDLE + SPAWNED + 1)

int main(void)
{
	unsigned long one = 1;
	char buf[8192];
	size_t have = 0;
	int lines = 0, r, st;
	pid_t pid;
	char c;

	/* The filtered thread must be refused: no CAP_SYS_ADMIN, with which
	 * the engine would suspend its filter instead (test-sandbox). */
	rt_sys_admin(0);
	if (pipe(rep) || pipe(ctl) || pipe(ready))
		return 1;
	pid = fork();
	if (pid == 0) {
		pthread_t th;

		if (syscall(SYS_set_mempolicy, RT_MPOL_PREFERRED, &one, 65))
			_exit(6);
		pthread_create(&th, NULL, spawner, NULL);
		for (int i = 0; i < IDLE; i++)
			pthread_create(&th, NULL, reporter, NULL);
		if (write(ready[1], "r", 1) != 1)
			_exit(7);
		reporter(NULL);
		_exit(0);
	}
	if (read(ready[0], &c, 1) != 1)
		return 1;
	usleep(50000);

	alarm(30);
	r = mb_remote_set_mempolicy(pid, RT_MPOL_BIND, &one, 64);
	RT_CHECK(r == -EPERM, "rebind: %d, expected -EPERM", r);
	rt_check_free(pid, 0);

	/* every thread, spawned ones included, reports PREFERRED 1 */
	usleep(50000);
	for (int i = 0; i < NREPORT; i++)
		if (write(ctl[1], "g", 1) != 1)
			return 1;
	while (lines < NREPORT) {
		ssize_t n = read(rep[0], buf + have, sizeof(buf) - 1 - have);
		char *p = buf, *nl;

		if (n <= 0) {
			rt_fail("target died");
			break;
		}
		have += (size_t)n;
		buf[have] = '\0';
		while ((nl = strchr(p, '\n'))) {
			long tid;
			int m;
			unsigned long w;

			if (sscanf(p, "%ld %d %lx", &tid, &m, &w) == 3)
				RT_CHECK(m == RT_MPOL_PREFERRED && w == 1,
					 "tid %ld has mode %d mask %lx after the rollback, expected %d 1",
					 tid, m, w, RT_MPOL_PREFERRED);
			lines++;
			p = nl + 1;
		}
		have = strlen(p);
		memmove(buf, p, have);
	}
	kill(pid, SIGKILL);
	waitpid(pid, &st, 0);
	return rt_exit("test-rollback");
}
