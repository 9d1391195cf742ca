/* SPDX-License-Identifier: MIT */
/*
 * A small JSON reader for membind-oci-hook: the OCI container state (stdin)
 * and the bundle's config.json.  The whole document becomes a tree; strings
 * are decoded to UTF-8 (a \u0000 escape is refused, so that every string is
 * a C string).  Nesting is limited to JSON_MAX_DEPTH levels.
 */
#ifndef MEMBIND_OCI_JSON_H
#define MEMBIND_OCI_JSON_H

#include <stdbool.h>
#include <stddef.h>

#define JSON_MAX_DEPTH 128

enum json_type { JSON_NULL, JSON_BOOL, JSON_NUMBER, JSON_STRING, JSON_ARRAY,
		 JSON_OBJECT };

struct json {
	enum json_type type;
	char *key;           /* member name, inside an object */
	char *str;           /* JSON_STRING; JSON_NUMBER: its text */
	double num;          /* JSON_NUMBER */
	bool b;              /* JSON_BOOL */
	struct json *child;  /* JSON_ARRAY, JSON_OBJECT: first element */
	struct json *next;   /* next element of the parent */
};

/* Parse len bytes.  0 and *out, or -1 with a one-line reason in err
 * (including the byte offset). */
int json_parse(const char *text, size_t len, struct json **out, char *err,
	       size_t errsize);
/* The member key of an object (the last one if repeated, as most readers
 * do), or NULL. */
const struct json *json_get(const struct json *obj, const char *key);
void json_free(struct json *v);
const char *json_type_name(enum json_type t);

#endif
