/* SPDX-License-Identifier: MIT */
/*
 * Description: a thread that blocks the broadcast signal makes a
 * process-wide binding fail with -EBUSY after about a second, however long
 * its /proc status file: here the thread is in 6000 supplementary groups
 * (setgroups() by a raw system call changes the calling thread alone), so
 * that its Groups line, which comes before SigBlk, makes the file about
 * 40 KiB.  (Read into a fixed 16 KiB buffer, the file was taken as "not
 * blocking", and the call failed with -ETIMEDOUT after 5 s.)  Needs
 * CAP_SETGID: skips (77) without it.
 */
#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "bindtest.h"

#define NGROUPS 6000

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cond = PTHREAD_COND_INITIALIZER;
static int state; /* 1: the thread is ready (or failed: -errno), 2: go */

static void set_state(int s)
{
	pthread_mutex_lock(&lock);
	state = s;
	pthread_cond_broadcast(&cond);
	pthread_mutex_unlock(&lock);
}

static void *many_groups_blocker(void *arg)
{
	static gid_t groups[NGROUPS];
	sigset_t all;

	(void)arg;
	for (int i = 0; i < NGROUPS; i++)
		groups[i] = (gid_t)(200000 + i);
	/* The raw call: glibc's setgroups() would change every thread. */
	if (syscall(SYS_setgroups, NGROUPS, groups)) {
		set_state(-errno);
		return NULL;
	}
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, NULL);
	pthread_mutex_lock(&lock);
	state = 1;
	pthread_cond_broadcast(&cond);
	while (state != 2)
		pthread_cond_wait(&cond, &lock);
	pthread_mutex_unlock(&lock);
	return NULL;
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Length of the thread's status file. */
static long status_len(pid_t tid)
{
	char path[64], buf[4096];
	long len = 0;
	ssize_t r;
	int fd;

	snprintf(path, sizeof(path), "/proc/self/task/%d/status", (int)tid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	while ((r = read(fd, buf, sizeof(buf))) > 0)
		len += r;
	close(fd);
	return len;
}

static pid_t blocker_tid;

static int find_blocker(void)
{
	/* The thread other than this one: the only one. */
	DIR *d = opendir("/proc/self/task");
	struct dirent *de;

	if (!d)
		return -1;
	while ((de = readdir(d)))
		if (de->d_name[0] != '.' && atoi(de->d_name) != gettid())
			blocker_tid = atoi(de->d_name);
	closedir(d);
	return blocker_tid ? 0 : -1;
}

int main(void)
{
	unsigned long mask[MEMBIND_MASK_LONGS(BT_MAX)] = {0};
	int nm = memblk_count(), ret;
	double t0, took;
	pthread_t t;

	if (nm < 1 || nm > BT_MAX) {
		printf("SKIP: no usable topology\n");
		return T_SKIP;
	}
	CHECK_EQ(pthread_create(&t, NULL, many_groups_blocker, NULL), 0);
	pthread_mutex_lock(&lock);
	while (state == 0)
		pthread_cond_wait(&cond, &lock);
	pthread_mutex_unlock(&lock);
	if (state < 0) {
		printf("SKIP: setgroups of %d groups: %s (needs CAP_SETGID)\n",
		       NGROUPS, strerror(-state));
		pthread_join(t, NULL);
		return T_SKIP;
	}
	CHECK_EQ(find_blocker(), 0);
	/* The premise: a status file far beyond 16 KiB. */
	CHECK(status_len(blocker_tid) > 32768);
	bt_mask(mask, 0);
	t0 = now_s();
	ret = mem_setbinding(0, (unsigned)nm, mask, MEMBIND_SOFT);
	took = now_s() - t0;
	fprintf(stderr, "mem_setbinding: %d after %.2f s (status file %ld "
		"bytes)\n", ret, took, status_len(blocker_tid));
	CHECK_EQ(ret, -EBUSY);
	/* A second of seeing the signal blocked; 5 s is the timeout. */
	CHECK(took < 4.0);
	set_state(2);
	pthread_join(t, NULL);
	/* Without the blocker, the same call works. */
	CHECK_EQ(mem_setbinding(0, (unsigned)nm, mask, MEMBIND_SOFT), 0);
	memset(mask, 0, sizeof(mask));
	CHECK_EQ(mem_setbinding(0, (unsigned)nm, mask, MEMBIND_DEFAULT), 0);
	return t_finish("test_threads_groups");
}
