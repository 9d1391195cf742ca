/* SPDX-License-Identifier: MIT */
/* membind show --svg, membind where PID --svg: one SVG picture of the memory
 * topology.  Memblks are boxes in one panel per memory tier (memory-only
 * memblks in panels of their own), each with its size, a bar of its used
 * share whose length follows its capacity, its CPUs and its HMAT figures;
 * nodes without memory hang below their nearest memblk; the distance matrix
 * and a legend follow.  Plain SVG: text elements, no script, no external
 * reference, integer coordinates, nothing that depends on time or place, so
 * one tree always gives the same bytes.
 *
 * The layout is a flow of rectangles: memblk cells in a grid inside each
 * panel, panels left to right and wrapped at a maximum width, then the
 * matrix and the legend the same way.  Text widths are estimated on the
 * generous side (svg_text_width) and every text is fitted to its box, so
 * nothing overlaps however many memblks there are. */
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "membind.h"
#include "tool.h"

/* ---- the topology, as drawn ---- */

struct sv_memblk {
	struct memblk_info in;
	char *cpus;   /* CPU list text, "" if none */
	int group;    /* index into sv.groups */
	int nattach;  /* memoryless nodes hanging below it */
	int x, y;     /* box position */
};

struct sv_node {      /* a node with no memory */
	int node;
	int memblk;   /* nearest memblk, -1 if it has no CPU either */
	char *cpus;
};

struct sv_group {     /* one panel: a tier, with CPUs or memory only */
	int tier;
	bool cpuless;
	int color;
	int n, *members;
	int cols, rows, *rowh;
	int x, y, w, h;
	int inner_w;  /* width of the grid of memblks */
};

struct sv {
	int nmemblks, nnodes_online;
	struct sv_memblk *mb;
	struct sv_node *ml; /* memoryless nodes */
	int nml;
	int *dist;
	struct sv_group *groups;
	int ngroups;
	int *tiers, ntiers; /* distinct tiers, ascending, unknown (-1) last */
	uint64_t maxsize, total, totalfree;
	bool hmat, notallowed;
	const struct svg_process *proc;
	int boxh;           /* height of a memblk box */
};

/* Layout constants (pixels). */
enum {
	MARGIN = 20,
	GAP = 16,       /* between panels and blocks */
	BOXW = 212,     /* memblk box */
	CELLGAP = 12,   /* between memblk cells */
	PAD = 12,       /* inside panels and blocks */
	PANEL_HEAD = 44,
	NODEH = 38,     /* memoryless node box */
	NODEGAP = 14,   /* link above it */
	MAXCOLS = 8,
};

/* Colours per tier: box stroke/header, light fill, bar fill. */
static const struct {
	const char *dark, *light, *bar;
} palette[] = {
	{ "#2b5f9e", "#eef4fb", "#5b8fd0" }, /* blue */
	{ "#b4561b", "#fdf3ea", "#e08a4c" }, /* amber */
	{ "#2f7d4f", "#edf7f0", "#5fae7f" }, /* green */
	{ "#6a4ab0", "#f4f0fb", "#9479d0" }, /* purple */
	{ "#23777a", "#ebf6f6", "#4fa7aa" }, /* teal */
	{ "#a8336f", "#fbeef4", "#d16a9e" }, /* rose */
};
#define NPALETTE ((int)(sizeof(palette) / sizeof(palette[0])))
static const char *const unknown_dark = "#5a6473", *const unknown_light = "#f3f4f6",
		  *const unknown_bar = "#8e99a8";
static const char *const ink = "#1d2430", *const muted = "#5a6473",
		  *const resident_color = "#c2185b";

static const char *tier_dark(int c) { return c < 0 ? unknown_dark : palette[c % NPALETTE].dark; }
static const char *tier_light(int c) { return c < 0 ? unknown_light : palette[c % NPALETTE].light; }
static const char *tier_bar(int c) { return c < 0 ? unknown_bar : palette[c % NPALETTE].bar; }

/* ---- text ---- */

/* Advance of a character in thousandths of the font size, rounded up from
 * DejaVu Sans (Verdana is alike; Arial and Helvetica are narrower). */
static int char_width(unsigned char c)
{
	if (c == ' ')
		return 330;
	if (strchr("ijlI.,:;'!|", c))
		return 320;
	if (strchr("frt()[]/-", c))
		return 430;
	if (strchr("mwMW%", c) || c >= 0x80) /* any non-ASCII character */
		return 1000;
	if (c >= 'A' && c <= 'Z')
		return 790;
	return 650; /* digits, the other lower case letters and signs */
}

/* Estimated width of s in pixels, on the generous side for the usual sans
 * fonts; bold is 10% wider.  tests/tool/svg-check checks the layout with the
 * same estimate. */
int svg_text_width(const char *s, int size, bool bold)
{
	long sum = 0;

	for (; *s; s++)
		if (((unsigned char)*s & 0xc0) != 0x80)
			sum += char_width((unsigned char)*s);
	return (int)((sum * size * (bold ? 110 : 100) + 99999) / 100000);
}

/* s, cut with an ellipsis to fit in maxw, into buf. */
static const char *fit(char *buf, size_t size, const char *s, int fs, bool bold,
		       int maxw)
{
	size_t len;

	snprintf(buf, size, "%s", s);
	if (svg_text_width(buf, fs, bold) <= maxw)
		return buf;
	len = strlen(buf);
	while (len > 0) {
		len--;
		while (len > 0 && ((unsigned char)buf[len] & 0xc0) == 0x80)
			len--;
		if (len + 4 > size)
			continue;
		memcpy(buf + len, "\xe2\x80\xa6", 4); /* "..." as one character */
		if (svg_text_width(buf, fs, bold) <= maxw)
			return buf;
	}
	buf[0] = 0;
	return buf;
}

/* XML character data: markup escaped, bytes that are not printable ASCII or
 * valid UTF-8 of our own (the ellipsis, the middle dot) become '?'. */
static void xml_escape(FILE *f, const char *s)
{
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if (*p == '<')
			fputs("&lt;", f);
		else if (*p == '>')
			fputs("&gt;", f);
		else if (*p == '&')
			fputs("&amp;", f);
		else if (*p == '"')
			fputs("&quot;", f);
		else if (p[0] == 0xe2 && p[1] == 0x80 && p[2] == 0xa6) {
			fputs("\xe2\x80\xa6", f);
			p += 2;
		} else if (p[0] == 0xc2 && p[1] == 0xb7) {
			fputs("\xc2\xb7", f);
			p += 1;
		} else if (*p == 0xc3 && p[1] == 0x97) {
			fputs("\xc3\x97", f);
			p += 1;
		} else if (*p < 0x20 || *p >= 0x7f)
			fputc('?', f);
		else
			fputc(*p, f);
	}
}

#define DOT "\xc2\xb7"   /* middle dot */
#define TIMES "\xc3\x97" /* multiplication sign */

enum { LEFT, MIDDLE, RIGHT };

/* One <text> element. */
__attribute__((format(printf, 8, 9))) static void
text(FILE *f, int x, int y, int fs, bool bold, int anchor, const char *fill,
     const char *fmt, ...)
{
	char buf[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	fprintf(f, "<text x=\"%d\" y=\"%d\" font-size=\"%d\"", x, y, fs);
	if (bold)
		fputs(" font-weight=\"bold\"", f);
	if (anchor == MIDDLE)
		fputs(" text-anchor=\"middle\"", f);
	else if (anchor == RIGHT)
		fputs(" text-anchor=\"end\"", f);
	if (fill && strcmp(fill, ink))
		fprintf(f, " fill=\"%s\"", fill);
	fputc('>', f);
	xml_escape(f, buf);
	fputs("</text>\n", f);
}

static void rect(FILE *f, const char *cls, int x, int y, int w, int h, int rx,
		 const char *fill, const char *stroke, const char *extra)
{
	fprintf(f, "<rect class=\"%s\" x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\"",
		cls, x, y, w, h);
	if (rx)
		fprintf(f, " rx=\"%d\"", rx);
	fprintf(f, " fill=\"%s\"", fill);
	if (stroke)
		fprintf(f, " stroke=\"%s\"", stroke);
	if (extra)
		fprintf(f, " %s", extra);
	fputs("/>\n", f);
}

static const char *size_text(uint64_t b, char *buf, size_t n)
{
	return human_size(b, buf, n);
}

/* ---- loading ---- */

static char *cpu_text(const unsigned long *mask, unsigned int bits)
{
	int n = memblk_list_format(bits, mask, NULL, 0);
	char *s = n >= 0 ? malloc((size_t)n + 1) : NULL;

	if (s)
		memblk_list_format(bits, mask, s, (size_t)n + 1);
	return s;
}

static void sv_free(struct sv *v)
{
	for (int m = 0; v->mb && m < v->nmemblks; m++)
		free(v->mb[m].cpus);
	for (int i = 0; v->ml && i < v->nml; i++)
		free(v->ml[i].cpus);
	for (int g = 0; v->groups && g < v->ngroups; g++) {
		free(v->groups[g].members);
		free(v->groups[g].rowh);
	}
	free(v->mb);
	free(v->ml);
	free(v->dist);
	free(v->groups);
	free(v->tiers);
}

static int tier_cmp(const void *a, const void *b)
{
	int x = *(const int *)a, y = *(const int *)b;

	if (x < 0 || y < 0) /* unknown last */
		return (x < 0) - (y < 0);
	return (x > y) - (x < y);
}

static int sv_load(struct sv *v)
{
	int ret, cpu_limit, node_limit;
	unsigned long *mask;

	memset(v, 0, sizeof(*v));
	if ((ret = memblk_count()) < 0)
		return ret;
	v->nmemblks = ret;
	if ((node_limit = membind_node_limit()) < 0)
		return node_limit;
	if ((cpu_limit = membind_cpu_limit()) < 0)
		return cpu_limit;
	v->mb = calloc((size_t)v->nmemblks + 1, sizeof(*v->mb));
	v->ml = calloc((size_t)node_limit + 1, sizeof(*v->ml));
	v->dist = calloc((size_t)v->nmemblks * (size_t)v->nmemblks + 1, sizeof(int));
	v->tiers = calloc((size_t)v->nmemblks + 1, sizeof(int));
	v->groups = calloc((size_t)v->nmemblks + 1, sizeof(*v->groups));
	mask = calloc(MEMBIND_MASK_LONGS((unsigned)cpu_limit), sizeof(unsigned long));
	if (!v->mb || !v->ml || !v->dist || !v->tiers || !v->groups || !mask) {
		free(mask);
		return -ENOMEM;
	}
	for (int m = 0; m < v->nmemblks; m++) {
		struct sv_memblk *b = &v->mb[m];

		b->in.sz = sizeof(b->in);
		if ((ret = memblk_info(m, &b->in)) < 0 ||
		    (ret = memblk_cpus(m, (unsigned)cpu_limit, mask)) < 0)
			goto out;
		if (!(b->cpus = cpu_text(mask, (unsigned)cpu_limit))) {
			ret = -ENOMEM;
			goto out;
		}
		if (b->in.size_bytes > v->maxsize)
			v->maxsize = b->in.size_bytes;
		v->total += b->in.size_bytes;
		v->totalfree += b->in.free_bytes;
		v->hmat |= b->in.has_access[0] != 0;
		v->notallowed |= !b->in.allowed;
		for (int o = 0; o < v->nmemblks; o++)
			v->dist[m * v->nmemblks + o] = memblk_distance(m, o);
	}
	for (int n = 0; n < node_limit; n++) {
		struct sv_node *x = &v->ml[v->nml];
		int first = -1;

		ret = node_cpus(n, (unsigned)cpu_limit, mask);
		if (ret == -ENOENT)
			continue;
		if (ret < 0)
			goto out;
		v->nnodes_online++;
		if (node_to_memblk(n) >= 0)
			continue;
		for (int c = 0; c < cpu_limit && first < 0; c++)
			if (mask[c / (8 * (int)sizeof(long))] >> (c % (8 * (int)sizeof(long))) & 1)
				first = c;
		x->node = n;
		x->memblk = first >= 0 ? cpu_to_memblk(first) : -1;
		if (x->memblk >= v->nmemblks)
			x->memblk = -1;
		if (!(x->cpus = cpu_text(mask, (unsigned)cpu_limit))) {
			ret = -ENOMEM;
			goto out;
		}
		if (x->memblk >= 0)
			v->mb[x->memblk].nattach++;
		v->nml++;
	}
	ret = 0;
out:
	free(mask);
	return ret;
}

/* Tiers and panels: one per tier with CPUs, one per tier memory-only. */
static int sv_group(struct sv *v)
{
	for (int m = 0; m < v->nmemblks; m++) {
		int t = v->mb[m].in.tier < 0 ? -1 : v->mb[m].in.tier, k;

		for (k = 0; k < v->ntiers && v->tiers[k] != t; k++)
			;
		if (k == v->ntiers)
			v->tiers[v->ntiers++] = t;
	}
	qsort(v->tiers, (size_t)v->ntiers, sizeof(int), tier_cmp);
	for (int pass = 0; pass < 2; pass++) {
		for (int k = 0; k < v->ntiers; k++) {
			struct sv_group *g = &v->groups[v->ngroups];

			for (int m = 0; m < v->nmemblks; m++) {
				const struct memblk_info *in = &v->mb[m].in;

				if ((in->tier < 0 ? -1 : in->tier) != v->tiers[k] ||
				    (in->ncpus == 0) != (pass == 1))
					continue;
				if (!g->members &&
				    (!(g->members = calloc((size_t)v->nmemblks, sizeof(int))) ||
				     !(g->rowh = calloc((size_t)v->nmemblks, sizeof(int)))))
					return -ENOMEM;
				v->mb[m].group = v->ngroups;
				g->members[g->n++] = m;
			}
			if (!g->n)
				continue;
			g->tier = v->tiers[k];
			g->cpuless = pass == 1;
			g->color = v->tiers[k] < 0 ? -1 : k;
			v->ngroups++;
		}
	}
	return 0;
}

/* ---- layout ---- */

struct block {
	int w, h, x, y;
};

/* Place blocks left to right from (x0, y0), wrapped at width wmax.
 * Returns the y below the last row; *right gets the rightmost edge. */
static int flow(struct block *b, int n, int x0, int y0, int wmax, int *right)
{
	int x = x0, y = y0, rowh = 0;

	for (int i = 0; i < n; i++) {
		if (x > x0 && x + b[i].w > x0 + wmax) {
			x = x0;
			y += rowh + GAP;
			rowh = 0;
		}
		b[i].x = x;
		b[i].y = y;
		x += b[i].w + GAP;
		if (b[i].h > rowh)
			rowh = b[i].h;
		if (b[i].x + b[i].w > *right)
			*right = b[i].x + b[i].w;
	}
	return n ? y + rowh : y0;
}

static void group_head(const struct sv *v, const struct sv_group *g, char *h1,
		       size_t n1, char *h2, size_t n2)
{
	char tier[32], sz[32];
	uint64_t total = 0;

	for (int i = 0; i < g->n; i++)
		total += v->mb[g->members[i]].in.size_bytes;
	if (g->tier >= 0)
		snprintf(tier, sizeof(tier), "Tier %d", g->tier);
	else
		snprintf(tier, sizeof(tier), "Tier unknown");
	snprintf(h1, n1, "%s " DOT " %s", tier,
		 g->cpuless ? "memory only" : "memory with CPUs");
	snprintf(h2, n2, "%d memblk%s, %s%s", g->n, g->n == 1 ? "" : "s",
		 size_text(total, sz, sizeof(sz)),
		 g->cpuless ? " " DOT " no local CPUs (CXL, HBM, PMEM)" : "");
}

/* Sizes of the panels (their grid of cells). */
static void layout_groups(struct sv *v)
{
	int cellh = v->boxh;

	for (int i = 0; i < v->ngroups; i++) {
		struct sv_group *g = &v->groups[i];
		char h1[96], h2[96];
		int w, head;

		/* a grid about twice as wide as high (boxes are wider than
		 * high), at most MAXCOLS wide */
		for (g->rows = 1; 4 * g->rows * g->rows < g->n; g->rows++)
			;
		g->cols = (g->n + g->rows - 1) / g->rows;
		if (g->cols > MAXCOLS)
			g->cols = MAXCOLS;
		g->rows = (g->n + g->cols - 1) / g->cols;
		g->h = PANEL_HEAD + PAD;
		for (int r = 0; r < g->rows; r++) {
			int most = 0;

			for (int c = 0; c < g->cols && r * g->cols + c < g->n; c++) {
				int a = v->mb[g->members[r * g->cols + c]].nattach;

				if (a > most)
					most = a;
			}
			g->rowh[r] = cellh + most * (NODEGAP + NODEH);
			g->h += g->rowh[r] + (r ? CELLGAP : 0);
		}
		g->inner_w = g->cols * BOXW + (g->cols - 1) * CELLGAP;
		group_head(v, g, h1, sizeof(h1), h2, sizeof(h2));
		head = svg_text_width(h1, 14, true);
		w = svg_text_width(h2, 11, false);
		if (w > head)
			head = w;
		g->w = 2 * PAD + (g->inner_w > head ? g->inner_w : head);
	}
}

/* ---- drawing ---- */

static void draw_memblk(FILE *f, const struct sv *v, int m)
{
	const struct sv_memblk *b = &v->mb[m];
	const struct memblk_info *in = &b->in;
	int c = v->groups[b->group].color;
	int x = b->x, y = b->y, w = BOXW, iw = BOXW - 20, ty;
	char s1[32], s2[32], line[160], fitted[160];
	uint64_t used = in->size_bytes > in->free_bytes ? in->size_bytes - in->free_bytes : 0;
	int pct = in->size_bytes ? (int)((used * 100 + in->size_bytes / 2) / in->size_bytes) : 0;
	int barw, usedw;

	fprintf(f, "<g class=\"memblk\" id=\"memblk-%d\">\n", m);
	fprintf(f, "<title>memblk %d (node %d): %s, %s free, CPUs %s</title>\n",
		m, in->node, size_text(in->size_bytes, s1, sizeof(s1)),
		size_text(in->free_bytes, s2, sizeof(s2)), *b->cpus ? b->cpus : "none");
	rect(f, "box memblk", x, y, w, v->boxh, 6, "#ffffff", tier_dark(c),
	     in->allowed ? "stroke-width=\"1.5\"" :
			   "stroke-width=\"1.5\" stroke-dasharray=\"5 3\"");
	/* header band, rounded at the top only */
	fprintf(f, "<path class=\"band\" d=\"M%d %dV%dQ%d %d %d %dH%dQ%d %d %d %dV%dZ\" fill=\"%s\"/>\n",
		x, y + 24, y + 6, x, y, x + 6, y, x + w - 6, x + w, y, x + w,
		y + 6, y + 24, tier_dark(c));
	text(f, x + 10, y + 17, 13, true, LEFT, "#ffffff", "memblk %d", m);
	text(f, x + w - 10, y + 17, 11, false, RIGHT, "#ffffff", "node %d", in->node);
	/* size, used share, free */
	ty = y + 42;
	size_text(in->size_bytes, s1, sizeof(s1));
	text(f, x + 10, ty, 12, true, LEFT, ink, "%s", s1);
	snprintf(line, sizeof(line), "%d%% used " DOT " %s free", pct,
		 size_text(in->free_bytes, s2, sizeof(s2)));
	text(f, x + w - 10, ty, 11, false, RIGHT, muted, "%s",
	     fit(fitted, sizeof(fitted), line, 11, false,
		 iw - 8 - svg_text_width(s1, 12, true)));
	/* bar: its length follows the capacity, its fill the used share */
	barw = v->maxsize ? (int)((uint64_t)iw * in->size_bytes / v->maxsize) : iw;
	if (barw < 8)
		barw = 8;
	usedw = in->size_bytes ? (int)((uint64_t)barw * used / in->size_bytes) : 0;
	rect(f, "bar", x + 10, y + 50, barw, 10, 2, tier_light(c), tier_bar(c), NULL);
	if (usedw > 0)
		rect(f, "bar used", x + 10, y + 50, usedw, 10, 2, tier_bar(c), NULL, NULL);
	/* CPUs */
	fputs("<g class=\"cpus\">\n", f);
	if (*b->cpus) {
		rect(f, "box cpus", x + 10, y + 68, iw, 22, 3, "#f6f7f9", "#aab2bf", NULL);
		snprintf(line, sizeof(line), "CPUs %s", b->cpus);
		text(f, x + 18, y + 83, 11, false, LEFT, ink, "%s",
		     fit(fitted, sizeof(fitted), line, 11, false, iw - 16));
	} else {
		rect(f, "box cpus", x + 10, y + 68, iw, 22, 3, "#ffffff", "#aab2bf",
		     "stroke-dasharray=\"3 2\"");
		if (in->nearest_cpu_node >= 0)
			snprintf(line, sizeof(line), "no CPUs " DOT " nearest: node %d",
				 in->nearest_cpu_node);
		else
			snprintf(line, sizeof(line), "no CPUs " DOT " memory only");
		text(f, x + 18, y + 83, 11, false, LEFT, muted, "%s",
		     fit(fitted, sizeof(fitted), line, 11, false, iw - 16));
	}
	fputs("</g>\n", f);
	ty = y + 108;
	if (v->hmat) {
		if (in->has_access[0]) {
			snprintf(line, sizeof(line), "read %llu MB/s " DOT " %llu ns",
				 (unsigned long long)in->access[0].read_bandwidth,
				 (unsigned long long)in->access[0].read_latency);
			text(f, x + 10, ty, 11, false, LEFT, ink, "%s",
			     fit(fitted, sizeof(fitted), line, 11, false, iw));
		} else
			text(f, x + 10, ty, 11, false, LEFT, muted, "no HMAT figures");
		ty += 18;
	}
	if (v->notallowed) {
		if (!in->allowed)
			text(f, x + 10, ty, 11, false, LEFT, "#b42318", "not in Mems_allowed");
		ty += 18;
	}
	if (v->proc) {
		uint64_t r = m < v->proc->nmemblks ? v->proc->memblk_bytes[m] : 0;
		uint64_t t = v->proc->total;
		int share = t ? (int)((r * 1000 + t / 2) / t) : 0;
		int rw = t ? (int)((uint64_t)iw * r / t) : 0;

		text(f, x + 10, ty, 11, true, LEFT, resident_color, "resident %s",
		     size_text(r, s1, sizeof(s1)));
		text(f, x + w - 10, ty, 11, false, RIGHT, resident_color,
		     "%d.%d%%", share / 10, share % 10);
		rect(f, "bar", x + 10, ty + 5, iw, 6, 2, "#f7e3ec", NULL, NULL);
		if (rw > 0)
			rect(f, "bar resident", x + 10, ty + 5, rw, 6, 2, resident_color, NULL, NULL);
	}
	fputs("</g>\n", f);
}

static void draw_memless(FILE *f, const struct sv *v, const struct sv_node *x,
			 int nx, int ny)
{
	char line[160], fitted[160];
	int w = BOXW - 40, c = v->groups[v->mb[x->memblk].group].color;

	fprintf(f, "<g class=\"node\" id=\"node-%d\">\n", x->node);
	fprintf(f, "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"%s\" stroke-width=\"1.5\" stroke-dasharray=\"4 3\"/>\n",
		nx + w / 2, ny - NODEGAP, nx + w / 2, ny, tier_dark(c));
	rect(f, "box node", nx, ny, w, NODEH, 4, "#f6f7f9", "#7b8595", NULL);
	snprintf(line, sizeof(line), "node %d " DOT " no memory", x->node);
	text(f, nx + 8, ny + 15, 11, true, LEFT, ink, "%s",
	     fit(fitted, sizeof(fitted), line, 11, true, w - 16));
	snprintf(line, sizeof(line), "CPUs %s", *x->cpus ? x->cpus : "none");
	text(f, nx + 8, ny + 30, 11, false, LEFT, muted, "%s",
	     fit(fitted, sizeof(fitted), line, 11, false, w - 16));
	fputs("</g>\n", f);
}

static void draw_group(FILE *f, struct sv *v, const struct sv_group *g)
{
	char h1[96], h2[96];
	int y = g->y + PANEL_HEAD;

	group_head(v, g, h1, sizeof(h1), h2, sizeof(h2));
	fprintf(f, "<g class=\"panel\" id=\"panel-%d\">\n", (int)(g - v->groups));
	rect(f, "box panel", g->x, g->y, g->w, g->h, 8, tier_light(g->color),
	     tier_dark(g->color), g->cpuless ? "stroke-dasharray=\"6 4\"" : NULL);
	text(f, g->x + PAD, g->y + 21, 14, true, LEFT, tier_dark(g->color), "%s", h1);
	text(f, g->x + PAD, g->y + 36, 11, false, LEFT, muted, "%s", h2);
	for (int r = 0; r < g->rows; r++) {
		for (int c = 0; c < g->cols && r * g->cols + c < g->n; c++) {
			int m = g->members[r * g->cols + c];
			struct sv_memblk *b = &v->mb[m];
			int k = 0;

			b->x = g->x + PAD + c * (BOXW + CELLGAP);
			b->y = y;
			draw_memblk(f, v, m);
			for (int i = 0; i < v->nml; i++) {
				if (v->ml[i].memblk != m)
					continue;
				draw_memless(f, v, &v->ml[i], b->x + 20,
					     y + v->boxh + NODEGAP + k * (NODEGAP + NODEH));
				k++;
			}
		}
		y += g->rowh[r] + CELLGAP;
	}
	fputs("</g>\n", f);
}

/* Colour of a distance: a ramp from pale to deep blue over [lo, hi]. */
static void dist_color(int d, int lo, int hi, char *buf, size_t n, bool *dark)
{
	static const int stops[3][3] = { { 0xf1, 0xf6, 0xfc }, { 0x7f, 0xaf, 0xdc }, { 0x1b, 0x3f, 0x7a } };
	int t = hi > lo ? (d - lo) * 1000 / (hi - lo) : 0, s, rgb[3];

	if (t < 0)
		t = 0;
	if (t > 1000)
		t = 1000;
	s = t < 500 ? 0 : 1;
	for (int i = 0; i < 3; i++)
		rgb[i] = stops[s][i] + (stops[s + 1][i] - stops[s][i]) * (t - s * 500) / 500;
	snprintf(buf, n, "#%02x%02x%02x", rgb[0], rgb[1], rgb[2]);
	*dark = t > 550;
}

struct matrix {
	int cell, labelw, labelh, rowstep, colstep, swatches;
	int vals[8], nvals;
	int lo, hi;
};

static void matrix_plan(const struct sv *v, struct matrix *mx, int *w, int *h)
{
	int n = v->nmemblks, distinct[256], nd = 0, head, lw;
	char last[16];

	snprintf(last, sizeof(last), "%d", n > 0 ? n - 1 : 0);
	lw = svg_text_width(last, 11, false);
	mx->cell = n <= 12 ? 30 : 640 / n;
	if (mx->cell < 6)
		mx->cell = 6;
	if (mx->cell > 30)
		mx->cell = 30;
	mx->labelw = lw + 8;
	mx->labelh = 16;
	mx->rowstep = (14 + mx->cell - 1) / mx->cell;
	mx->colstep = (lw + 5 + mx->cell - 1) / mx->cell;
	mx->lo = mx->hi = n ? v->dist[0] : 0;
	for (int i = 0; i < n * n; i++) {
		int d = v->dist[i], k;

		if (d < mx->lo)
			mx->lo = d;
		if (d > mx->hi)
			mx->hi = d;
		for (k = 0; k < nd && distinct[k] != d; k++)
			;
		if (k == nd && nd < 256)
			distinct[nd++] = d;
	}
	qsort(distinct, (size_t)nd, sizeof(int), tier_cmp);
	/* at most 8 swatches, spread over the distinct values */
	mx->nvals = nd < 8 ? nd : 8;
	for (int i = 0; i < mx->nvals; i++)
		mx->vals[i] = distinct[mx->nvals > 1 ? i * (nd - 1) / (mx->nvals - 1) : 0];
	*w = mx->labelw + n * mx->cell;
	if (*w < mx->nvals * 34)
		*w = mx->nvals * 34;
	head = svg_text_width("Distance between memblks", 14, true);
	if (*w < head)
		*w = head;
	if (*w < svg_text_width("relative latency, ACPI SLIT (10 = local)", 11, false))
		*w = svg_text_width("relative latency, ACPI SLIT (10 = local)", 11, false);
	*w += 2 * PAD;
	*h = PANEL_HEAD + mx->labelh + n * mx->cell + 12 + 16 + 16 + PAD;
}

static void draw_matrix(FILE *f, const struct sv *v, const struct matrix *mx,
			const struct block *bl)
{
	int n = v->nmemblks, x0 = bl->x + PAD + mx->labelw,
	    y0 = bl->y + PANEL_HEAD + mx->labelh, s = mx->cell;
	char col[16];
	bool dark;

	fprintf(f, "<g class=\"matrix\" id=\"distance\">\n");
	rect(f, "box matrix", bl->x, bl->y, bl->w, bl->h, 8, "#ffffff", "#c3cad5", NULL);
	text(f, bl->x + PAD, bl->y + 21, 14, true, LEFT, ink, "Distance between memblks");
	text(f, bl->x + PAD, bl->y + 36, 11, false, LEFT, muted,
	     "relative latency, ACPI SLIT (10 = local)");
	/* memblk ids, in the colour of their tier */
	for (int j = 0; j < n; j += mx->colstep)
		text(f, x0 + j * s + s / 2, y0 - 5, 11, false, MIDDLE,
		     tier_dark(v->groups[v->mb[j].group].color), "%d", j);
	for (int i = 0; i < n; i += mx->rowstep)
		text(f, x0 - 6, y0 + i * s + s / 2 + 4, 11, false, RIGHT,
		     tier_dark(v->groups[v->mb[i].group].color), "%d", i);
	for (int i = 0; i < n; i++)
		for (int j = 0, run; j < n; j += run) {
			int d = v->dist[i * n + j];

			/* without numbers, a run of equal cells is one rect */
			for (run = 1; s < 24 && j + run < n && v->dist[i * n + j + run] == d; run++)
				;
			dist_color(d, mx->lo, mx->hi, col, sizeof(col), &dark);
			fprintf(f, "<rect class=\"cell\" x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" fill=\"%s\"",
				x0 + j * s, y0 + i * s, run * s, s, col);
			if (run == 1)
				fprintf(f, "><title>memblk %d to memblk %d: %d</title></rect>\n", i, j, d);
			else
				fprintf(f, "><title>memblk %d to memblks %d-%d: %d</title></rect>\n",
					i, j, j + run - 1, d);
			if (s >= 24)
				text(f, x0 + j * s + s / 2, y0 + i * s + s / 2 + 4, 10,
				     false, MIDDLE, dark ? "#ffffff" : ink, "%d", d);
		}
	/* the scale */
	{
		int sy = y0 + n * s + 12, sx = bl->x + PAD;

		for (int k = 0; k < mx->nvals; k++) {
			dist_color(mx->vals[k], mx->lo, mx->hi, col, sizeof(col), &dark);
			rect(f, "swatch", sx + k * 34, sy, 30, 12, 2, col, "#c3cad5", NULL);
			text(f, sx + k * 34 + 15, sy + 27, 11, false, MIDDLE, muted, "%d",
			     mx->vals[k]);
		}
	}
	fputs("</g>\n", f);
}

/* The legend: a list of rows, each a sample and a line of text. */
enum lg_kind { LG_TIER, LG_BAR, LG_CPUS, LG_MEMLESS, LG_HMAT, LG_RESIDENT, LG_NONODE };

struct lg_row {
	enum lg_kind kind;
	int color;
	char text[160];
};

static int legend_rows(const struct sv *v, struct lg_row *rows)
{
	int n = 0;
	char s[32];

	for (int k = 0; k < v->ntiers; k++) {
		int count = 0;

		for (int m = 0; m < v->nmemblks; m++)
			count += (v->mb[m].in.tier < 0 ? -1 : v->mb[m].in.tier) == v->tiers[k];
		rows[n].kind = LG_TIER;
		rows[n].color = v->tiers[k] < 0 ? -1 : k;
		if (v->tiers[k] >= 0)
			snprintf(rows[n].text, sizeof(rows[n].text),
				 "memory tier %d: %d memblk%s%s", v->tiers[k], count,
				 count == 1 ? "" : "s", k == 0 && v->ntiers > 1 ? " (fastest)" : "");
		else
			snprintf(rows[n].text, sizeof(rows[n].text),
				 "memory tier not reported: %d memblk%s", count,
				 count == 1 ? "" : "s");
		n++;
	}
	rows[n].kind = LG_BAR;
	rows[n].color = v->ntiers && v->tiers[0] >= 0 ? 0 : -1;
	snprintf(rows[n++].text, sizeof(rows[0].text),
		 "filled: used; length: capacity (longest %s)",
		 size_text(v->maxsize, s, sizeof(s)));
	rows[n].kind = LG_CPUS;
	snprintf(rows[n++].text, sizeof(rows[0].text),
		 "the node's CPUs (dashed: none, and the nearest node with CPUs)");
	if (v->nml) {
		rows[n].kind = LG_MEMLESS;
		snprintf(rows[n++].text, sizeof(rows[0].text),
			 "node without memory, below its nearest memblk");
	}
	if (v->hmat) {
		rows[n].kind = LG_HMAT;
		snprintf(rows[n++].text, sizeof(rows[0].text),
			 "HMAT: read bandwidth, latency from the nearest initiator");
	}
	if (v->proc) {
		rows[n].kind = LG_RESIDENT;
		snprintf(rows[n++].text, sizeof(rows[0].text),
			 "resident memory of process %d, share of its %s",
			 (int)v->proc->pid, size_text(v->proc->total, s, sizeof(s)));
	}
	for (int i = 0; i < v->nml; i++)
		if (v->ml[i].memblk < 0) {
			rows[n].kind = LG_NONODE;
			snprintf(rows[n++].text, sizeof(rows[0].text),
				 "node %d: no memory, no CPUs", v->ml[i].node);
		}
	return n;
}

enum { LG_ROWH = 22, LG_SAMPLE = 44 };

static void legend_size(const struct lg_row *rows, int n, int *w, int *h)
{
	*w = svg_text_width("Legend", 14, true);
	for (int i = 0; i < n; i++) {
		int tw = LG_SAMPLE + svg_text_width(rows[i].text, 11, false);

		if (tw > *w)
			*w = tw;
	}
	*w += 2 * PAD;
	*h = 34 + n * LG_ROWH + PAD;
}

static void draw_legend(FILE *f, const struct lg_row *rows, int n,
			const struct block *bl)
{
	int x = bl->x + PAD, y = bl->y + 34;

	fprintf(f, "<g class=\"legend\" id=\"legend\">\n");
	rect(f, "box legend", bl->x, bl->y, bl->w, bl->h, 8, "#ffffff", "#c3cad5", NULL);
	text(f, x, bl->y + 21, 14, true, LEFT, ink, "Legend");
	for (int i = 0; i < n; i++, y += LG_ROWH) {
		const struct lg_row *r = &rows[i];

		switch (r->kind) {
		case LG_TIER:
			rect(f, "swatch", x, y + 3, 34, 14, 3, tier_dark(r->color), NULL, NULL);
			break;
		case LG_BAR:
			rect(f, "swatch", x, y + 5, 34, 10, 2, tier_light(r->color),
			     tier_bar(r->color), NULL);
			rect(f, "swatch", x, y + 5, 20, 10, 2, tier_bar(r->color), NULL, NULL);
			break;
		case LG_CPUS:
			rect(f, "swatch", x, y + 3, 34, 14, 3, "#f6f7f9", "#aab2bf", NULL);
			break;
		case LG_MEMLESS:
			rect(f, "swatch", x, y + 3, 34, 14, 3, "#f6f7f9", "#7b8595", NULL);
			break;
		case LG_HMAT:
			text(f, x + 17, y + 15, 10, true, MIDDLE, ink, "MB/s");
			break;
		case LG_RESIDENT:
			rect(f, "swatch", x, y + 7, 34, 6, 2, resident_color, NULL, NULL);
			break;
		case LG_NONODE:
			break;
		}
		text(f, x + LG_SAMPLE, y + 14, 11, false, LEFT, ink, "%s", r->text);
	}
	fputs("</g>\n", f);
}

static int svg_draw(FILE *f, struct sv *v)
{
	struct block *bl = calloc((size_t)v->ngroups + 2, sizeof(*bl));
	struct lg_row *rows = calloc((size_t)v->ntiers + (size_t)v->nml + 8, sizeof(*rows));
	struct matrix mx;
	int wmax, right = MARGIN, y, nrows, width, height, headw;
	char s1[32], s2[32], title[256], sub[256];

	if (!bl || !rows) {
		free(bl);
		free(rows);
		return -ENOMEM;
	}
	/* title */
	if (v->proc) {
		snprintf(title, sizeof(title), "Memory of process %d (%s)",
			 (int)v->proc->pid, v->proc->comm);
		snprintf(sub, sizeof(sub), "%s resident " DOT " %d memblk%s, %d node%s, %s of memory",
			 size_text(v->proc->total, s1, sizeof(s1)), v->nmemblks,
			 v->nmemblks == 1 ? "" : "s", v->nnodes_online,
			 v->nnodes_online == 1 ? "" : "s", size_text(v->total, s2, sizeof(s2)));
	} else {
		snprintf(title, sizeof(title), "Memory topology");
		snprintf(sub, sizeof(sub), "%d memblk%s, %d node%s " DOT " %s of memory, %s free " DOT " %d tier%s",
			 v->nmemblks, v->nmemblks == 1 ? "" : "s", v->nnodes_online,
			 v->nnodes_online == 1 ? "" : "s", size_text(v->total, s1, sizeof(s1)),
			 size_text(v->totalfree, s2, sizeof(s2)), v->ntiers,
			 v->ntiers == 1 ? "" : "s");
	}
	headw = svg_text_width(title, 20, true);
	if (svg_text_width(sub, 12, false) > headw)
		headw = svg_text_width(sub, 12, false);

	v->boxh = 98 + (v->hmat ? 18 : 0) + (v->notallowed ? 18 : 0) + (v->proc ? 29 : 0);
	layout_groups(v);
	for (int i = 0; i < v->ngroups; i++) {
		bl[i].w = v->groups[i].w;
		bl[i].h = v->groups[i].h;
	}
	wmax = 2 * PAD + MAXCOLS * BOXW + (MAXCOLS - 1) * CELLGAP;
	for (int i = 0; i < v->ngroups; i++)
		if (bl[i].w > wmax)
			wmax = bl[i].w;
	y = flow(bl, v->ngroups, MARGIN, MARGIN + 56, wmax, &right);
	for (int i = 0; i < v->ngroups; i++) {
		v->groups[i].x = bl[i].x;
		v->groups[i].y = bl[i].y;
	}
	/* the matrix and the legend */
	nrows = legend_rows(v, rows);
	matrix_plan(v, &mx, &bl[v->ngroups].w, &bl[v->ngroups].h);
	legend_size(rows, nrows, &bl[v->ngroups + 1].w, &bl[v->ngroups + 1].h);
	if (right - MARGIN > wmax)
		wmax = right - MARGIN;
	y = flow(bl + v->ngroups, 2, MARGIN, y + GAP, wmax, &right);
	if (right < MARGIN + headw)
		right = MARGIN + headw;
	width = right + MARGIN;
	height = y + MARGIN;

	fprintf(f, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
	fprintf(f, "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" viewBox=\"0 0 %d %d\" "
		   "font-family=\"'DejaVu Sans', Verdana, Arial, Helvetica, sans-serif\" fill=\"%s\" "
		   "role=\"img\" aria-labelledby=\"svg-title\">\n",
		width, height, width, height, ink);
	fprintf(f, "<title id=\"svg-title\">");
	xml_escape(f, title);
	fputs(": ", f);
	xml_escape(f, sub);
	fputs("</title>\n", f);
	fputs("<desc>Drawn by membind --svg.</desc>\n", f);
	rect(f, "background", 0, 0, width, height, 0, "#ffffff", NULL, NULL);
	text(f, MARGIN, MARGIN + 20, 20, true, LEFT, ink, "%s", title);
	text(f, MARGIN, MARGIN + 40, 12, false, LEFT, muted, "%s", sub);
	for (int i = 0; i < v->ngroups; i++)
		draw_group(f, v, &v->groups[i]);
	draw_matrix(f, v, &mx, &bl[v->ngroups]);
	draw_legend(f, rows, nrows, &bl[v->ngroups + 1]);
	fputs("</svg>\n", f);
	free(bl);
	free(rows);
	return 0;
}

/* ---- the command line ---- */

const char *svg_file(struct opt_state *st, bool pid_wanted)
{
	const char *next = opt_peek(st);

	if (st->value)
		return st->value;
	if (next && (!strcmp(next, "-") ||
		     (next[0] != '-' &&
		      !(pid_wanted && next[strspn(next, "0123456789")] == 0)))) {
		st->next++;
		return next;
	}
	return "-";
}

int svg_write(const char *cmd, const char *file, const struct svg_process *proc)
{
	struct sv v;
	char *buf = NULL;
	size_t len = 0;
	FILE *mem, *out;
	int ret;

	if (!*file) {
		print_error("%s: --svg= needs a FILE name", cmd);
		return EXIT_USAGE;
	}
	ret = sv_load(&v);
	if (!ret)
		ret = sv_group(&v);
	if (ret < 0) {
		print_error("%s: cannot read the memory topology: %s", cmd, strerror(-ret));
		sv_free(&v);
		return EXIT_RUNTIME;
	}
	v.proc = proc;
	mem = open_memstream(&buf, &len);
	if (!mem) {
		print_error("%s: out of memory", cmd);
		sv_free(&v);
		return EXIT_RUNTIME;
	}
	ret = svg_draw(mem, &v);
	sv_free(&v);
	if (fclose(mem) || ret || !buf || !len) {
		print_error("%s: out of memory", cmd);
		free(buf);
		return EXIT_RUNTIME;
	}
	if (!strcmp(file, "-")) {
		ret = fwrite(buf, 1, len, stdout) != len || fflush(stdout);
		free(buf);
		if (ret) {
			print_error("%s: cannot write the SVG: %s", cmd, strerror(errno));
			return EXIT_RUNTIME;
		}
		return 0;
	}
	out = fopen(file, "w");
	if (!out) {
		print_error("%s: cannot write '%s': %s", cmd, file, strerror(errno));
		free(buf);
		return EXIT_RUNTIME;
	}
	ret = fwrite(buf, 1, len, out) != len;
	ret |= fclose(out) != 0;
	free(buf);
	if (ret) {
		print_error("%s: cannot write '%s': %s", cmd, file, strerror(errno));
		unlink(file);
		return EXIT_RUNTIME;
	}
	return 0;
}
