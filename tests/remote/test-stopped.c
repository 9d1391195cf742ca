/* SPDX-License-Identifier: MIT */
/*
 * Description: rebinding a process that is stopped by SIGSTOP (job
 * control: ^Z in a shell, or a debugger's kill -STOP).  The call succeeds;
 * afterwards every thread is still stopped (the engine puts each back into
 * the group stop when it detaches), none is traced, and none ran meanwhile;
 * mem_getbinding() reads the new binding from the stopped process; after
 * SIGCONT every thread runs under it.  The same for MOVE, which migrates
 * pages of the stopped process too.
 *
 * The target's threads report their own policy (get_mempolicy) and a
 * counter in shared memory, so the check does not rely on the engine.
 */
#include <pthread.h>
#include <sys/mman.h>

#include "membind.h"
#include "rt.h"

#define THREADS 3

struct slot {
	_Atomic unsigned long count;
	_Atomic int mode;
	_Atomic unsigned long word;
};

static struct slot *slots;

static void *reporter(void *arg)
{
	struct slot *s = arg;

	for (;;) {
		int mode = -1;
		unsigned long word = 0;

		if (rt_own_policy(&mode, &word) == 0) {
			s->mode = mode;
			s->word = word;
		}
		s->count++;
		usleep(2000);
	}
	return NULL;
}

static pid_t start_target(void)
{
	pid_t pid = fork();

	if (pid == 0) {
		pthread_t t;

		for (int i = 1; i < THREADS; i++)
			pthread_create(&t, NULL, reporter, &slots[i]);
		reporter(&slots[0]);
		_exit(0);
	}
	return pid;
}

/* Wait until every slot's counter is past its value now plus 2 (each
 * thread ran its loop after this point).  1 if they all did in 5 s. */
static int all_advance(void)
{
	unsigned long base[THREADS];
	double end = rt_now() + 5;

	for (int i = 0; i < THREADS; i++)
		base[i] = slots[i].count;
	while (rt_now() < end) {
		int ok = 1;

		for (int i = 0; i < THREADS; i++)
			ok &= slots[i].count >= base[i] + 2;
		if (ok)
			return 1;
		usleep(1000);
	}
	return 0;
}

/* Threads of pid in state T (stopped), counting all of them in *n. */
static int stopped_threads(pid_t pid, int *n)
{
	char path[64], v[64];
	int stopped = 0;
	FILE *ls;

	*n = 0;
	snprintf(path, sizeof(path), "ls /proc/%d/task", pid);
	ls = popen(path, "r");
	if (!ls)
		return -1;
	while (fgets(v, sizeof(v), ls)) {
		char st[64];

		rt_status(pid, (pid_t)atoi(v), "State", st, sizeof(st));
		stopped += st[0] == 'T';
		(*n)++;
	}
	pclose(ls);
	return stopped;
}

static int wait_stopped(pid_t pid)
{
	double end = rt_now() + 5;
	int n;

	while (rt_now() < end) {
		if (stopped_threads(pid, &n) == THREADS && n == THREADS)
			return 1;
		usleep(1000);
	}
	return 0;
}

static void one_case(unsigned long flags, const char *what)
{
	unsigned long m = 1, got = 0, b = 0, frozen[THREADS];
	pid_t pid = start_target();
	int r, n, st, failures = rt_failures;

	RT_CHECK(pid > 0, "fork");
	if (pid <= 0)
		return;
	RT_CHECK(all_advance(), "%s: target's threads never ran", what);
	kill(pid, SIGSTOP);
	RT_CHECK(wait_stopped(pid), "%s: target never stopped", what);
	for (int i = 0; i < THREADS; i++)
		frozen[i] = slots[i].count;

	r = mem_setbinding(pid, 1, &m, MEMBIND_HARD | flags);
	RT_CHECK(r == 0, "%s: mem_setbinding of a stopped process: %d", what,
		 r);
	usleep(100000);
	r = stopped_threads(pid, &n);
	RT_CHECK(r == THREADS && n == THREADS,
		 "%s: %d of %d threads stopped after the call", what, r, n);
	rt_check_free(pid, 1); /* not traced */
	for (int i = 0; i < THREADS; i++)
		RT_CHECK(slots[i].count == frozen[i],
			 "%s: thread %d ran while the process was stopped",
			 what, i);
	r = mem_getbinding(pid, 64, &got, &b);
	RT_CHECK(r >= 1 && got == 1 && b == MEMBIND_HARD,
		 "%s: mem_getbinding of the stopped process: %d, mask %#lx, behavior %#lx",
		 what, r, got, b);

	kill(pid, SIGCONT);
	RT_CHECK(all_advance(), "%s: threads did not go on after SIGCONT",
		 what);
	for (int i = 0; i < THREADS; i++)
		RT_CHECK(slots[i].mode == RT_MPOL_BIND &&
				 slots[i].word == 1UL << memblk_to_node(0),
			 "%s: thread %d runs mode %d mask %#lx, wanted bind to node %d",
			 what, i, slots[i].mode, slots[i].word,
			 memblk_to_node(0));
	rt_check_free(pid, 0);
	kill(pid, SIGKILL);
	waitpid(pid, &st, 0);
	if (rt_failures == failures)
		printf("%s: %d threads stopped by SIGSTOP rebound, still "
		       "stopped, bound after SIGCONT\n",
		       what, THREADS);
}

int main(void)
{
	slots = mmap(NULL, THREADS * sizeof(*slots), PROT_READ | PROT_WRITE,
		     MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (slots == MAP_FAILED) {
		perror("mmap");
		return 1;
	}
	one_case(0, "hard");
	memset(slots, 0, THREADS * sizeof(*slots));
	one_case(MEMBIND_MOVE, "hard|move");
	return rt_exit("test-stopped");
}
