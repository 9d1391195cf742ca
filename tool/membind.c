/* SPDX-License-Identifier: MIT */
/* membind(1): where a program's memory lives. */
#include <stdio.h>
#include <string.h>

#include "membind.h"
#include "tool.h"

static const char usage[] =
	"Usage: membind COMMAND [OPTIONS]\n"
	"\n"
	"Commands:\n"
	"  show [--json]                 memory topology: memblks, nodes, CPUs,\n"
	"                                sizes, distances, tiers, bandwidth\n"
	"\n"
	"Run 'membind COMMAND --help' for a command's options, and see membind(1).\n";

int main(int argc, char **argv)
{
	if (argc < 2) {
		fputs(usage, stderr);
		return EXIT_USAGE;
	}
	if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
		fputs(usage, stdout);
		return 0;
	}
	if (!strcmp(argv[1], "--version")) {
		printf("membind %s\n", membind_version());
		return 0;
	}
	if (!strcmp(argv[1], "show"))
		return cmd_show(argc - 1, argv + 1);
	die_msg("unknown command '%s' (try 'membind --help')", argv[1]);
	return EXIT_USAGE;
}
