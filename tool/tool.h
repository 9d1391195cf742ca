/* SPDX-License-Identifier: MIT */
#ifndef MEMBIND_TOOL_H
#define MEMBIND_TOOL_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

/* Exit codes (membind(1)): */
#define EXIT_RUNTIME 1 /* the operation failed */
#define EXIT_USAGE 2   /* bad command line */

/* Print "membind: <message>" on stderr. */
void die_msg(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Human-readable size ("1.5G") into buf. */
const char *human_size(uint64_t bytes, char *buf, size_t size);
/* JSON string, quoted and escaped. */
void json_str(FILE *f, const char *s);

int cmd_show(int argc, char **argv);

#endif
