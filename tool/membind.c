/* SPDX-License-Identifier: MIT */
/* membind(1): where a program's memory lives.
 *
 * One table entry per command (struct command): its --help text, a parse
 * step that turns argv into the command's options struct (getopt_long()
 * through opt_next(), args.c) and checks them, and a run step that does the
 * work with the public library only.  A usage error is found before
 * anything is read from or done to a process. */
#include <stdio.h>
#include <stdlib.h>
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

static const struct command *const commands[] = {
	&cmd_show, &cmd_run, &cmd_get, &cmd_set, &cmd_where, &cmd_move,
};

/* Parse, then run, command c on argv (argv[0]: its name). */
static int run_command(const struct command *c, int argc, char **argv)
{
	void *opts = calloc(1, c->opts_size);
	int ret;

	if (!opts) {
		print_error("%s: out of memory", c->name);
		return EXIT_RUNTIME;
	}
	ret = c->parse(argc, argv, opts);
	if (ret == CMD_HELP) {
		fputs(c->usage, stdout);
		ret = 0;
	} else if (ret == 0) {
		ret = c->run(opts);
	}
	if (c->done)
		c->done(opts);
	free(opts);
	return ret;
}

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
		if (!strcmp(argv[1], commands[i]->name))
			return run_command(commands[i], argc - 1, argv + 1);
	if (argv[1][0] == '-')
		print_error("unknown option '%s' (try 'membind --help')", argv[1]);
	else
		print_error("unknown command '%s' (try 'membind --help')", argv[1]);
	return EXIT_USAGE;
}
