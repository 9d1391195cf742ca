/* SPDX-License-Identifier: MIT */
/* The syntax of a LIST and of plain numbers, checked without the topology:
 * for the Slurm plugin and the OCI hook, which report a bad text before
 * there is a machine to check it against.  Header only. */
#ifndef MEMBIND_LIST_SYNTAX_H
#define MEMBIND_LIST_SYNTAX_H

#include <stdbool.h>
#include <string.h>

#include "membind.h"

/* Digits only, value at most max.  Returns the end, or NULL. */
static inline const char *mb_parse_uint(const char *s, unsigned long max,
					unsigned long *val)
{
	unsigned long v = 0;

	if (*s < '0' || *s > '9')
		return NULL;
	while (*s >= '0' && *s <= '9') {
		v = v * 10 + (unsigned long)(*s - '0');
		if (v > max)
			return NULL;
		s++;
	}
	*val = v;
	return s;
}

/* A LIST as memblk_list_parse() reads it: "all", "0-2,5", "n0,n2-3", with
 * an optional leading '!'. */
static inline bool mb_list_syntax_ok(const char *s)
{
	if (*s == '!')
		s++;
	if (!strcmp(s, "all"))
		return true;
	for (;;) {
		unsigned long a, b;

		if (*s == 'n')
			s++;
		s = mb_parse_uint(s, MEMBIND_MAX_BITS - 1, &a);
		if (!s)
			return false;
		if (*s == '-') {
			s = mb_parse_uint(s + 1, MEMBIND_MAX_BITS - 1, &b);
			if (!s || b < a)
				return false;
		}
		if (!*s)
			return true;
		if (*s != ',')
			return false;
		s++;
	}
}

#endif
