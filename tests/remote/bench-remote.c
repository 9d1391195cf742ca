/* SPDX-License-Identifier: MIT */
/*
 * Benchmark (not a test): time to rebind a target with 1, 16 and 256
 * threads through the remote engine, and the longest pause any target
 * thread saw.  Each target thread sleeps 10 ms in a loop and records the
 * largest overshoot of a sleep; the same figure without rebinding is the
 * baseline (scheduler noise).  "held max" is the engine's own figure: the
 * longest time from PTRACE_INTERRUPT to detach of any one thread.
 *
 * "window" is the time a thread's registers and stack bytes are ours (from
 * the first write to the restore): the longest for one thread, and the
 * median sum over a call's threads.  Only a SIGKILL of the helper process
 * inside such a window can harm the target (docs/remote.md).
 *
 * Usage: bench-remote [rounds] [vfork]   (default 20 rebinds per size)
 *   vfork: the target also has a thread that is a vfork() parent over and
 *   over (its child sleeps 30 ms), blocked in the kernel most of the time;
 *   the figures of the other threads must not grow with it.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <sys/mman.h>

#include "rt.h"

#define PERIOD_NS 10000000L

struct shared {
	_Atomic long max_over_ns; /* largest overshoot since last reset */
	_Atomic int ready;
};

static struct shared *sh;
static int with_vfork;

static void *vforker(void *arg)
{
	(void)arg;
	for (;;) {
		pid_t c = vfork();

		if (c == 0) {
			struct timespec ts = { 0, 30000000L };

			nanosleep(&ts, NULL);
			_exit(0);
		}
		waitpid(c, NULL, 0);
	}
	return NULL;
}

static void *sleeper(void *arg)
{
	(void)arg;
	atomic_fetch_add(&sh->ready, 1);
	for (;;) {
		struct timespec ts = { 0, PERIOD_NS };
		double t0 = rt_now();
		long over;

		nanosleep(&ts, NULL);
		over = (long)((rt_now() - t0) * 1e9) - PERIOD_NS;
		long cur = atomic_load(&sh->max_over_ns);
		while (over > cur &&
		       !atomic_compare_exchange_weak(&sh->max_over_ns, &cur,
						     over))
			;
	}
	return NULL;
}

static pid_t start_target(int nthreads)
{
	pid_t pid;

	sh->ready = 0;
	pid = fork();
	if (pid == 0) {
		pthread_attr_t a;
		pthread_t th;

		pthread_attr_init(&a);
		pthread_attr_setstacksize(&a, 64 << 10);
		for (int i = 1; i < nthreads; i++)
			pthread_create(&th, &a, sleeper, NULL);
		if (with_vfork)
			pthread_create(&th, &a, vforker, NULL);
		sleeper(NULL);
	}
	while (atomic_load(&sh->ready) < nthreads)
		usleep(1000);
	usleep(50000);
	return pid;
}

static int cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
	int rounds = argc > 1 ? atoi(argv[1]) : 20;
	static const int sizes[] = { 1, 16, 256 };
	double *t = calloc((size_t)rounds, sizeof(double));
	double *win = calloc((size_t)rounds, sizeof(double));

	sh = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS,
		  -1, 0);
	if (sh == MAP_FAILED || !t || !win || rounds < 1)
		return 1;
	with_vfork = argc > 2 && !strcmp(argv[2], "vfork");
	if (with_vfork)
		printf("# with a thread in vfork() (30 ms each) beside them\n");
	printf("%-8s %9s %9s %9s %12s %10s %12s %12s %10s %10s\n", "threads",
	       "min ms", "median ms", "max ms", "held max us", "held>1ms",
	       "seen max us", "noise us", "win max us", "win sum us");
	for (size_t s = 0; s < sizeof(sizes) / sizeof(sizes[0]); s++) {
		pid_t pid = start_target(sizes[s]);
		long base, pause = 0;
		uint64_t held = 0, wmax = 0;
		unsigned long held_n = 0, held_over = 0;
		int st;

		/* baseline: the same time without us */
		atomic_store(&sh->max_over_ns, 0);
		usleep(300000);
		base = atomic_load(&sh->max_over_ns);
		for (int i = 0; i < rounds; i++) {
			unsigned long mask = 1;
			int mode = (i & 1) ? RT_MPOL_BIND : RT_MPOL_INTERLEAVE;
			double t0;
			int r;

			atomic_store(&sh->max_over_ns, 0);
			t0 = rt_now();
			r = mb_remote_set_mempolicy(pid, mode, &mask, 64);
			t[i] = (rt_now() - t0) * 1e3;
			if (r) {
				fprintf(stderr, "rebind failed: %d\n", r);
				return 1;
			}
			{
				unsigned long n, o;
				uint64_t h;

				mb_remote_last_stats(&n, &o, &h);
				held_n += n;
				held_over += o;
				if (h > held)
					held = h;
			}
			{
				uint64_t wm, wt;

				mb_remote_last_window(&wm, &wt);
				if (wm > wmax)
					wmax = wm;
				win[i] = (double)wt / 1e3;
			}
			usleep(20000); /* let every thread finish its sleep */
			if (atomic_load(&sh->max_over_ns) > pause)
				pause = atomic_load(&sh->max_over_ns);
		}
		qsort(t, (size_t)rounds, sizeof(double), cmp);
		qsort(win, (size_t)rounds, sizeof(double), cmp);
		printf("%-8d %9.3f %9.3f %9.3f %12.1f %4lu/%-5lu %12.1f %12.1f %10.1f %10.1f\n",
		       sizes[s], t[0], t[rounds / 2], t[rounds - 1],
		       held / 1e3, held_over, held_n, pause / 1e3, base / 1e3,
		       wmax / 1e3, win[rounds / 2]);
		kill(pid, SIGKILL);
		waitpid(pid, &st, 0);
	}
	return 0;
}
