/* SPDX-License-Identifier: MIT */
/*
 * Description: a caller that reaps its children from a SIGCHLD handler
 * (while (waitpid(-1, &st, WNOHANG) > 0);, as daemons and slurmstepd do)
 * takes the ptrace stop reports of our tracees too: they are reported to
 * any waitpid(-1) of the tracer's process.  The engine must neither hang
 * waiting for a report that was taken nor lose track of the stop it was
 * for.  20 rebinds of a forked 5-thread target under alarm(10); afterwards
 * every thread runs the last policy, nothing is stopped or traced, and the
 * target still runs.
 */
#include <pthread.h>
#include <stdbool.h>

#include "membind.h"
#include "rt.h"

#define NTHREADS 5
#define REBINDS 20

static volatile sig_atomic_t target;
static volatile sig_atomic_t reaped;

static void on_chld(int sig)
{
	int saved = errno, st;

	(void)sig;
	while (waitpid(-1, &st, WNOHANG) > 0)
		reaped++;
	errno = saved;
}

static void on_alarm(int sig)
{
	static const char msg[] =
		"FAIL: mem_setbinding hung (a stop report was reaped by the caller's SIGCHLD handler)\n";

	(void)sig;
	if (write(2, msg, sizeof(msg) - 1) < 0)
		_exit(1);
	if (target > 0)
		kill(target, SIGKILL);
	_exit(1);
}

static void *sleeper(void *arg)
{
	(void)arg;
	for (;;) {
		struct timespec ts = { 0, 2000000 };

		nanosleep(&ts, NULL);
	}
	return NULL;
}

int main(void)
{
	struct sigaction sa = { 0 };
	unsigned long one = 1, none = 0;
	int ready[2];
	pid_t pid;
	char c;

	if (pipe(ready))
		return 1;
	pid = fork();
	if (pid == 0) {
		pthread_t th;

		for (int i = 1; i < NTHREADS; i++)
			pthread_create(&th, NULL, sleeper, NULL);
		if (write(ready[1], "r", 1) != 1)
			_exit(1);
		for (;;)
			pause();
	}
	if (read(ready[0], &c, 1) != 1)
		return 1;
	target = pid;

	sa.sa_handler = on_alarm;
	sigaction(SIGALRM, &sa, NULL);
	sa.sa_handler = on_chld;
	sa.sa_flags = SA_RESTART;
	sigaction(SIGCHLD, &sa, NULL);
	alarm(10);

	for (int i = 0; i < REBINDS; i++) {
		bool hard = i % 2 == 0;
		int r = mem_setbinding(pid, 1, hard ? &one : &none,
				       hard ? MEMBIND_HARD : MEMBIND_DEFAULT);

		RT_CHECK(r == 0, "rebind %d: %d", i, r);
	}
	{
		unsigned long bits[NTHREADS][RT_MASK_BITS / (8 * sizeof(long))];
		struct mb_thread_policy p[NTHREADS];
		int n;

		for (int i = 0; i < NTHREADS; i++)
			p[i].nodes = bits[i];
		n = mb_remote_get_mempolicy(pid, p, NTHREADS, RT_MASK_BITS);
		RT_CHECK(n == NTHREADS, "get_mempolicy: %d threads", n);
		/* the last rebind (i = 19) was MEMBIND_DEFAULT */
		for (int i = 0; i < n && i < NTHREADS; i++)
			RT_CHECK(p[i].mode == RT_MPOL_DEFAULT,
				 "tid %d has mode %d", p[i].tid, p[i].mode);
	}
	alarm(0);
	rt_check_free(pid, 0);
	RT_CHECK(kill(pid, 0) == 0, "target gone");
	printf("# the SIGCHLD handler reaped %d report(s)\n", (int)reaped);
	signal(SIGCHLD, SIG_DFL);
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	return rt_exit("test-reaper");
}
