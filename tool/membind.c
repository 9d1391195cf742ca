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
	"  show [--json]                      memory topology: memblks, nodes,\n"
	"                                     CPUs, sizes, distances, tiers\n"
	"  run BINDING [--cpus CPULIST] [--libnuma] -- CMD [ARGS]\n"
	"                                     start a program under a binding\n"
	"  get PID [--json]                   a process's binding and where its\n"
	"                                     memory lives, per memblk\n"
	"  set PID BINDING [--move]           rebind a running process\n"
	"  where PID [--maps] [--json]        residency per memblk and mapping\n"
	"  move PID --to LIST [--from LIST]   migrate a process's pages\n"
	"\n"
	"BINDING: --hard LIST | --soft LIST | --round-robin LIST | --weighted LIST\n"
	"         | --first-touch [LIST] | --default\n"
	"LIST:    memblk ids and ranges (0-2,5), all, a leading ! to invert,\n"
	"         nodes as n0,n2-3\n"
	"\n"
	"Run 'membind COMMAND --help' for a command's options, and see membind(1).\n";

static const struct {
	const char *name;
	int (*fn)(int argc, char **argv);
} commands[] = {
	{ "show", cmd_show }, { "run", cmd_run },     { "get", cmd_get },
	{ "set", cmd_set },   { "where", cmd_where }, { "move", cmd_move },
};

int main(int argc, char **argv)
{
	if (argc < 2) {
		print_error("no command given (try 'membind --help')");
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
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (!strcmp(argv[1], commands[i].name))
			return commands[i].fn(argc - 1, argv + 1);
	if (argv[1][0] == '-')
		print_error("unknown option '%s' (try 'membind --help')", argv[1]);
	else
		print_error("unknown command '%s' (try 'membind --help')", argv[1]);
	return EXIT_USAGE;
}
