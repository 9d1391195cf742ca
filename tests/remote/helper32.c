/* SPDX-License-Identifier: MIT */
/* A 32-bit target for test-errors: it just waits to be killed. */
#include <unistd.h>

int main(void)
{
	for (;;)
		pause();
}
