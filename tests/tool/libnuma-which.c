/* SPDX-License-Identifier: MIT */
/* Prints the real path of the libnuma.so.1 this program is running on (the
 * object that holds numa_available), then LD_LIBRARY_PATH: what
 * tests/tool/run-libnuma.sh checks of membind run --libnuma. */
#include <dlfcn.h>
#include <limits.h>
#include <numa.h>
#include <stdio.h>
#include <stdlib.h>

int main(void)
{
	char real[PATH_MAX];
	const char *path = getenv("LD_LIBRARY_PATH");
	Dl_info info;

	if (!dladdr((void *)numa_available, &info) || !info.dli_fname ||
	    !realpath(info.dli_fname, real)) {
		fputs("libnuma-which: cannot find numa_available's object\n",
		      stderr);
		return 1;
	}
	printf("%s\n%s\n", real, path ? path : "");
	return numa_available() < 0 ? 2 : 0;
}
