/* SPDX-License-Identifier: MIT */
/* A small JSON reader (RFC 8259): see json.h. */
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"

struct parser {
	const char *s;
	size_t len, pos;
	int depth;
	char *err;
	size_t errsize;
	bool failed;
};

static void fail(struct parser *p, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static void fail(struct parser *p, const char *fmt, ...)
{
	char msg[256];
	va_list ap;

	if (p->failed)
		return;
	p->failed = true;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	snprintf(p->err, p->errsize, "%s at byte %zu", msg, p->pos);
}

static void skip_ws(struct parser *p)
{
	while (p->pos < p->len &&
	       (p->s[p->pos] == ' ' || p->s[p->pos] == '\t' ||
		p->s[p->pos] == '\n' || p->s[p->pos] == '\r'))
		p->pos++;
}

static int peek(const struct parser *p)
{
	return p->pos < p->len ? (unsigned char)p->s[p->pos] : -1;
}

void json_free(struct json *v)
{
	while (v) {
		struct json *next = v->next;

		json_free(v->child);
		free(v->key);
		free(v->str);
		free(v);
		v = next;
	}
}

static int hex4(struct parser *p, unsigned int *out)
{
	unsigned int v = 0;

	if (p->len - p->pos < 4) {
		fail(p, "short \\u escape");
		return -1;
	}
	for (int i = 0; i < 4; i++) {
		char c = p->s[p->pos++];

		v <<= 4;
		if (c >= '0' && c <= '9')
			v |= (unsigned int)(c - '0');
		else if (c >= 'a' && c <= 'f')
			v |= (unsigned int)(c - 'a' + 10);
		else if (c >= 'A' && c <= 'F')
			v |= (unsigned int)(c - 'A' + 10);
		else {
			p->pos--;
			fail(p, "bad \\u escape");
			return -1;
		}
	}
	*out = v;
	return 0;
}

/* Is s[0..n) one valid UTF-8 sequence start?  Returns its length, 0 if not. */
static size_t utf8_seq(const unsigned char *s, size_t n)
{
	size_t l;
	uint32_t cp;

	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		l = 2, cp = s[0] & 0x1fu;
	else if (s[0] >= 0xe0 && s[0] <= 0xef)
		l = 3, cp = s[0] & 0x0fu;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		l = 4, cp = s[0] & 0x07u;
	else
		return 0;
	if (n < l)
		return 0;
	for (size_t i = 1; i < l; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (s[i] & 0x3fu);
	}
	if ((l == 3 && cp < 0x800) || (l == 4 && cp < 0x10000) ||
	    cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return l;
}

static size_t put_utf8(char *o, unsigned int cp)
{
	if (cp < 0x80) {
		o[0] = (char)cp;
		return 1;
	}
	if (cp < 0x800) {
		o[0] = (char)(0xc0 | (cp >> 6));
		o[1] = (char)(0x80 | (cp & 0x3f));
		return 2;
	}
	if (cp < 0x10000) {
		o[0] = (char)(0xe0 | (cp >> 12));
		o[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
		o[2] = (char)(0x80 | (cp & 0x3f));
		return 3;
	}
	o[0] = (char)(0xf0 | (cp >> 18));
	o[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
	o[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
	o[3] = (char)(0x80 | (cp & 0x3f));
	return 4;
}

/* A string at p->pos (the opening quote), decoded.  NULL on failure. */
static char *parse_string(struct parser *p)
{
	size_t start = ++p->pos, end, n = 0;
	char *out;

	/* The decoded text is never longer than the raw text. */
	for (end = start; end < p->len && p->s[end] != '"'; end++)
		if (p->s[end] == '\\')
			end++;
	if (end >= p->len) {
		fail(p, "unterminated string");
		return NULL;
	}
	out = malloc(end - start + 1);
	if (!out) {
		fail(p, "out of memory");
		return NULL;
	}
	while (p->pos < end) {
		unsigned char c = (unsigned char)p->s[p->pos];
		unsigned int cp, lo;
		size_t l;

		if (c < 0x20) {
			fail(p, "control character in a string");
			goto bad;
		}
		if (c != '\\') {
			l = utf8_seq((const unsigned char *)p->s + p->pos,
				     end - p->pos);
			if (!l) {
				fail(p, "invalid UTF-8 in a string");
				goto bad;
			}
			memcpy(out + n, p->s + p->pos, l);
			n += l;
			p->pos += l;
			continue;
		}
		p->pos++;
		switch (p->s[p->pos++]) {
		case '"': out[n++] = '"'; break;
		case '\\': out[n++] = '\\'; break;
		case '/': out[n++] = '/'; break;
		case 'b': out[n++] = '\b'; break;
		case 'f': out[n++] = '\f'; break;
		case 'n': out[n++] = '\n'; break;
		case 'r': out[n++] = '\r'; break;
		case 't': out[n++] = '\t'; break;
		case 'u':
			if (hex4(p, &cp) < 0)
				goto bad;
			if (cp >= 0xd800 && cp <= 0xdbff) {
				if (p->pos + 6 > end || p->s[p->pos] != '\\' ||
				    p->s[p->pos + 1] != 'u') {
					fail(p, "lone UTF-16 surrogate");
					goto bad;
				}
				p->pos += 2;
				if (hex4(p, &lo) < 0)
					goto bad;
				if (lo < 0xdc00 || lo > 0xdfff) {
					fail(p, "lone UTF-16 surrogate");
					goto bad;
				}
				cp = 0x10000 + ((cp - 0xd800) << 10) +
				     (lo - 0xdc00);
			} else if (cp >= 0xdc00 && cp <= 0xdfff) {
				fail(p, "lone UTF-16 surrogate");
				goto bad;
			} else if (cp == 0) {
				fail(p, "\\u0000 in a string");
				goto bad;
			}
			/* \uXXXX is 6 bytes, its UTF-8 at most 3; a pair
			 * is 12 bytes for 4: the buffer is big enough. */
			n += put_utf8(out + n, cp);
			break;
		default:
			p->pos--;
			fail(p, "bad escape in a string");
			goto bad;
		}
	}
	p->pos = end + 1;
	out[n] = '\0';
	return out;
bad:
	free(out);
	return NULL;
}

static int parse_number(struct parser *p, struct json *v)
{
	size_t start = p->pos;
	char *end;

	if (peek(p) == '-')
		p->pos++;
	if (peek(p) == '0') {
		p->pos++;
	} else if (peek(p) >= '1' && peek(p) <= '9') {
		while (peek(p) >= '0' && peek(p) <= '9')
			p->pos++;
	} else {
		fail(p, "bad number");
		return -1;
	}
	if (peek(p) == '.') {
		p->pos++;
		if (!(peek(p) >= '0' && peek(p) <= '9')) {
			fail(p, "bad number");
			return -1;
		}
		while (peek(p) >= '0' && peek(p) <= '9')
			p->pos++;
	}
	if (peek(p) == 'e' || peek(p) == 'E') {
		p->pos++;
		if (peek(p) == '+' || peek(p) == '-')
			p->pos++;
		if (!(peek(p) >= '0' && peek(p) <= '9')) {
			fail(p, "bad number");
			return -1;
		}
		while (peek(p) >= '0' && peek(p) <= '9')
			p->pos++;
	}
	v->str = strndup(p->s + start, p->pos - start);
	if (!v->str) {
		fail(p, "out of memory");
		return -1;
	}
	errno = 0;
	v->num = strtod(v->str, &end);
	return 0;
}

static struct json *parse_value(struct parser *p);

/* Elements of an array or members of an object, after the opening bracket. */
static int parse_items(struct parser *p, struct json *v, bool object)
{
	struct json **tail = &v->child;
	int close = object ? '}' : ']';

	skip_ws(p);
	if (peek(p) == close) {
		p->pos++;
		return 0;
	}
	for (;;) {
		char *key = NULL;
		struct json *e;

		skip_ws(p);
		if (object) {
			if (peek(p) != '"') {
				fail(p, "expected a member name");
				return -1;
			}
			key = parse_string(p);
			if (!key)
				return -1;
			skip_ws(p);
			if (peek(p) != ':') {
				free(key);
				fail(p, "expected ':'");
				return -1;
			}
			p->pos++;
		}
		e = parse_value(p);
		if (!e) {
			free(key);
			return -1;
		}
		e->key = key;
		*tail = e;
		tail = &e->next;
		skip_ws(p);
		if (peek(p) == ',') {
			p->pos++;
			continue;
		}
		if (peek(p) == close) {
			p->pos++;
			return 0;
		}
		fail(p, object ? "expected ',' or '}'" : "expected ',' or ']'");
		return -1;
	}
}

static bool literal(struct parser *p, const char *word)
{
	size_t l = strlen(word);

	if (p->len - p->pos < l || memcmp(p->s + p->pos, word, l))
		return false;
	p->pos += l;
	return true;
}

static struct json *parse_value(struct parser *p)
{
	struct json *v;
	int c;

	skip_ws(p);
	c = peek(p);
	if (c < 0) {
		fail(p, "unexpected end");
		return NULL;
	}
	v = calloc(1, sizeof(*v));
	if (!v) {
		fail(p, "out of memory");
		return NULL;
	}
	if (c == '{' || c == '[') {
		if (++p->depth > JSON_MAX_DEPTH) {
			fail(p, "nested too deeply");
			goto bad;
		}
		p->pos++;
		v->type = c == '{' ? JSON_OBJECT : JSON_ARRAY;
		if (parse_items(p, v, c == '{') < 0)
			goto bad;
		p->depth--;
	} else if (c == '"') {
		v->type = JSON_STRING;
		v->str = parse_string(p);
		if (!v->str)
			goto bad;
	} else if (c == '-' || (c >= '0' && c <= '9')) {
		v->type = JSON_NUMBER;
		if (parse_number(p, v) < 0)
			goto bad;
	} else if (literal(p, "true")) {
		v->type = JSON_BOOL;
		v->b = true;
	} else if (literal(p, "false")) {
		v->type = JSON_BOOL;
	} else if (literal(p, "null")) {
		v->type = JSON_NULL;
	} else {
		fail(p, "unexpected character");
		goto bad;
	}
	return v;
bad:
	json_free(v);
	return NULL;
}

int json_parse(const char *text, size_t len, struct json **out, char *err,
	       size_t errsize)
{
	struct parser p = { .s = text, .len = len, .err = err,
			    .errsize = errsize };
	struct json *v;

	*out = NULL;
	if (errsize)
		err[0] = '\0';
	v = parse_value(&p);
	if (!v)
		return -1;
	skip_ws(&p);
	if (p.pos != p.len) {
		fail(&p, "text after the end of the document");
		json_free(v);
		return -1;
	}
	*out = v;
	return 0;
}

const struct json *json_get(const struct json *obj, const char *key)
{
	const struct json *found = NULL;

	if (!obj || obj->type != JSON_OBJECT)
		return NULL;
	for (const struct json *e = obj->child; e; e = e->next)
		if (e->key && !strcmp(e->key, key))
			found = e;
	return found;
}

const char *json_type_name(enum json_type t)
{
	static const char *const names[] = { "null", "a boolean", "a number",
					     "a string", "an array",
					     "an object" };

	return (unsigned int)t < sizeof(names) / sizeof(names[0]) ? names[t] :
								    "?";
}
