/* SPDX-License-Identifier: MIT */
/* The threads of a process, from /proc/PID/task, listed so that none is
 * missed while others exit. */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "internal.h"

/*
 * A walk of /proc/PID/task can come back short while threads exit: the
 * kernel goes from each thread it listed to the next, and stops where the
 * one it stands on has just exited (next_tid() in fs/proc/base.c); under
 * load, walks that listed only the calling thread were seen too.  So a walk
 * is made again (add() sees every thread of every walk; it skips the ones
 * it has) when the last thread it listed is gone, or when it listed fewer
 * threads than the directory's link count says the process has (threads +
 * 2).  Both checks are needed: each alone still misses live threads
 * (docs/design.md, "Process scope", has the figures).
 */
int mb_task_scan(pid_t pid, int (*add)(void *arg, pid_t tid), void *arg)
{
	char dir_path[48], path[64];
	int added = 0;

	mb_proc_path(dir_path, sizeof(dir_path), pid, 0, "task");
	for (int walks = 0; walks < 64; walks++) {
		DIR *d = opendir(dir_path);
		unsigned long listed = 0;
		struct dirent *de;
		struct stat st;
		pid_t last = 0;
		bool short_walk;

		if (!d)
			return errno == ENOENT ? -ESRCH : -errno;
		while ((de = readdir(d))) {
			pid_t tid = (pid_t)atoi(de->d_name);
			int r;

			if (tid <= 0)
				continue;
			last = tid;
			listed++;
			r = add(arg, tid);
			if (r < 0) {
				closedir(d);
				return r;
			}
			added += r;
		}
		short_walk = fstat(dirfd(d), &st) == 0 && st.st_nlink > 2 &&
			     listed < (unsigned long)st.st_nlink - 2;
		closedir(d);
		if (short_walk)
			continue;
		/* the caller itself is alive: no need to look */
		if (last <= 0 || (!pid && last == (pid_t)syscall(SYS_gettid)))
			break;
		snprintf(path, sizeof(path), "%s/%d", dir_path, (int)last);
		if (access(path, F_OK) == 0 || errno != ENOENT)
			break;
	}
	return added;
}
