/* SPDX-License-Identifier: MIT */
/*
 * Description: rebind a child whose threads are blocked in read, nanosleep,
 * clock_nanosleep, futex wait, epoll_wait and poll (and one busy thread),
 * in every process-scope mode on node 0; every thread reports the policy it
 * sees itself, no call saw EINTR and every sleep lasted its full time; the
 * child is never left stopped or traced.
 */
#include <linux/futex.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>

#include "rt.h"

#define SLEEP_NS 150000000L /* per nanosleep round */

static int ctl[2], rep[2], waker[2];
static int efd, epfd;
static _Atomic int gen;
static _Atomic int futex_word;

static void report(const char *kind, int errs)
{
	char line[160];
	unsigned long w = 0;
	int mode = -1, r, n;

	r = rt_own_policy(&mode, &w);
	n = snprintf(line, sizeof(line), "%s %d %lx %d %d\n", kind, mode, w,
		     errs, r);
	if (write(rep[1], line, (size_t)n) != n)
		_exit(3);
}

static void *t_read(void *arg)
{
	char c;

	(void)arg;
	for (;;) {
		ssize_t r = read(waker[0], &c, 1);
		int errs = r == 1 ? 0 : 1;

		report("read", errs);
	}
	return NULL;
}

static void *t_sleep(void *arg)
{
	int last = 0, errs = 0;
	long clk = (long)arg;

	for (;;) {
		struct timespec ts = { 0, SLEEP_NS };
		double t0 = rt_now(), el;
		int r;

		if (clk)
			r = clock_nanosleep(CLOCK_MONOTONIC, 0, &ts, NULL);
		else
			r = nanosleep(&ts, NULL);
		el = rt_now() - t0;
		if (r != 0 || el < SLEEP_NS / 1e9 - 1e-4)
			errs++;
		if (atomic_load(&gen) != last) {
			last = atomic_load(&gen);
			report(clk ? "clock_nanosleep" : "nanosleep", errs);
			errs = 0;
		}
	}
	return NULL;
}

static void *t_futex(void *arg)
{
	(void)arg;
	for (;;) {
		int errs = 0;

		while (atomic_load(&futex_word) == 0) {
			long r = syscall(SYS_futex, &futex_word, FUTEX_WAIT, 0,
					 NULL, NULL, 0);

			if (r < 0 && errno != EAGAIN)
				errs++;
		}
		atomic_store(&futex_word, 0);
		report("futex", errs);
	}
	return NULL;
}

static void *t_epoll(void *arg)
{
	(void)arg;
	for (;;) {
		struct epoll_event ev;
		uint64_t v;
		int r = epoll_wait(epfd, &ev, 1, -1), errs = 0;

		if (r != 1)
			errs++;
		if (read(efd, &v, sizeof(v)) != sizeof(v))
			errs++;
		report("epoll_wait", errs);
	}
	return NULL;
}

static void *t_poll(void *arg)
{
	struct pollfd p = { .fd = (int)(long)arg, .events = POLLIN };

	for (;;) {
		char c;
		int r = poll(&p, 1, -1), errs = 0;

		if (r != 1 || read(p.fd, &c, 1) != 1)
			errs++;
		report("poll", errs);
	}
	return NULL;
}

static void *t_busy(void *arg)
{
	volatile unsigned long x = 0;
	int last = 0;

	(void)arg;
	for (;;) {
		x++;
		if (atomic_load(&gen) != last) {
			last = atomic_load(&gen);
			report("busy", 0);
		}
	}
	return NULL;
}

#define NREPORTS 8

static void child(void)
{
	pthread_t th;
	int pp[2];
	char c;

	efd = eventfd(0, 0);
	epfd = epoll_create1(0);
	struct epoll_event ev = { .events = EPOLLIN };
	epoll_ctl(epfd, EPOLL_CTL_ADD, efd, &ev);
	if (pipe(waker) || pipe(pp))
		_exit(2);
	pthread_create(&th, NULL, t_read, NULL);
	pthread_create(&th, NULL, t_sleep, (void *)0L);
	pthread_create(&th, NULL, t_sleep, (void *)1L);
	pthread_create(&th, NULL, t_futex, NULL);
	pthread_create(&th, NULL, t_epoll, NULL);
	pthread_create(&th, NULL, t_poll, (void *)(long)pp[0]);
	pthread_create(&th, NULL, t_busy, NULL);
	/* main thread: the controller, blocked in read most of the time */
	while (read(ctl[0], &c, 1) == 1) {
		uint64_t one = 1;
		int errs = 0;

		atomic_fetch_add(&gen, 1);
		if (write(waker[1], "x", 1) != 1 || write(pp[1], "x", 1) != 1 ||
		    write(efd, &one, sizeof(one)) != sizeof(one))
			errs++;
		atomic_store(&futex_word, 1);
		syscall(SYS_futex, &futex_word, FUTEX_WAKE, 1, NULL, NULL, 0);
		report("main", errs);
	}
	_exit(0);
}

static void check_round(pid_t pid, int mode, unsigned long word,
			const char *what)
{
	struct mb_thread_policy tp[16];
	unsigned long nodes[16][1];
	char buf[4096];
	size_t have = 0;
	int n, lines = 0;

	for (int i = 0; i < 16; i++)
		tp[i].nodes = nodes[i];
	n = mb_remote_get_mempolicy(pid, tp, 16, 64);
	RT_CHECK(n == NREPORTS, "%s: remote get returned %d", what, n);
	for (int i = 0; i < n && i < 16; i++)
		RT_CHECK(tp[i].mode == mode && tp[i].nodes[0] == word,
			 "%s: remote get tid %d mode %d mask %lx", what,
			 tp[i].tid, tp[i].mode, tp[i].nodes[0]);
	rt_check_free(pid, 0);
	/* wake everybody; each thread reports what it sees itself */
	if (write(ctl[1], "g", 1) != 1)
		rt_fail("write ctl");
	while (lines < NREPORTS) {
		ssize_t r = read(rep[0], buf + have, sizeof(buf) - 1 - have);
		char *p, *nl;

		if (r <= 0) {
			rt_fail("%s: child report pipe closed", what);
			return;
		}
		have += (size_t)r;
		buf[have] = '\0';
		p = buf;
		while ((nl = strchr(p, '\n'))) {
			char kind[32];
			int m, errs, gr;
			unsigned long w;

			*nl = '\0';
			if (sscanf(p, "%31s %d %lx %d %d", kind, &m, &w, &errs,
				   &gr) == 5) {
				RT_CHECK(gr == 0 && m == mode && w == word,
					 "%s: thread %s sees mode %d mask %lx",
					 what, kind, m, w);
				RT_CHECK(errs == 0,
					 "%s: thread %s saw EINTR or a short sleep (%d)",
					 what, kind, errs);
			}
			lines++;
			p = nl + 1;
		}
		have = strlen(p);
		memmove(buf, p, have);
	}
}

int main(void)
{
	static const struct {
		int mode;
		unsigned long word;
		const char *name;
	} modes[] = {
		{ RT_MPOL_BIND, 1, "bind" },
		{ RT_MPOL_PREFERRED, 1, "preferred" },
		{ RT_MPOL_INTERLEAVE, 1, "interleave" },
		{ RT_MPOL_DEFAULT, 0, "default" },
		{ RT_MPOL_BIND, 1, "bind again" },
	};
	pid_t pid;
	int st;

	if (pipe(ctl) || pipe(rep))
		return 1;
	pid = fork();
	if (pid == 0)
		child();
	usleep(200000); /* everybody asleep */
	for (size_t i = 0; i < sizeof(modes) / sizeof(modes[0]); i++) {
		unsigned long mask = 1;
		double t0 = rt_now();
		int r = mb_remote_set_mempolicy(pid, modes[i].mode,
						modes[i].mode ? &mask : NULL,
						modes[i].mode ? 64 : 0);

		RT_CHECK(r == 0, "%s: set returned %d", modes[i].name, r);
		printf("# %s: set in %.3f ms\n", modes[i].name,
		       (rt_now() - t0) * 1e3);
		rt_check_free(pid, 0);
		usleep(50000 + 100000 * (i & 1)); /* sleepers mid-sleep */
		check_round(pid, modes[i].mode, modes[i].word, modes[i].name);
		usleep(100000);
	}
	kill(pid, SIGKILL);
	waitpid(pid, &st, 0);
	return rt_exit("test-blocked");
}
