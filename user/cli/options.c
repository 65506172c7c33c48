// SPDX-License-Identifier: GPL-2.0
/* Option tables (options.h): one parser, one setter, one help printer. */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <net/if.h>
#include <stdlib.h>
#include <string.h>
#include "bpfmasq.h"
#include "extpool.h"
#include "options.h"
#include "util.h"

#define FIELD(dst, d, type) ((type *)((char *)(dst) + (d)->off))

bool opt_repeatable(const struct opt_def *d)
{
	return d->type == OPT_IFNAME || d->type == OPT_CIDR ||
	       d->type == OPT_EXT_ADDR ||
	       d->type == OPT_FLAGS || (d->type == OPT_ADDR && d->max_count);
}

const char *opt_default_text(const struct opt_def *d)
{
	if (d->def)
		return d->def;
	return d->def_doc ? d->def_doc : "off";
}

const char *opt_metavar(const struct opt_def *d, char *buf, size_t size)
{
	size_t n = 0;

	buf[0] = '\0';
	for (const struct opt_word *w = d->words; w && w->name; w++)
		n += snprintf(buf + n, n < size ? size - n : 0, "%s%s",
			      n ? "|" : "", w->name);
	if (d->metavar)
		snprintf(buf + n, n < size ? size - n : 0, "%s%s",
			 n ? "|" : "", d->metavar);
	return buf;
}

const struct opt_def *opt_find(const struct opt_def *defs, const char *name)
{
	for (const struct opt_def *d = defs; d->name; d++)
		if (!strcmp(d->name, name))
			return d;
	return NULL;
}

/* "strict (address and port dependent) or cone", into buf. */
static const char *words_text(const struct opt_word *words, char *buf,
			      size_t size)
{
	size_t n = 0;

	buf[0] = '\0';
	for (const struct opt_word *w = words; w && w->name; w++) {
		const char *sep = w == words ? "" : w[1].name ? ", " : " or ";

		n += snprintf(buf + n, n < size ? size - n : 0, "%s%s", sep,
			      w->name);
		if (w->help)
			n += snprintf(buf + n, n < size ? size - n : 0, " (%s)",
				      w->help);
	}
	return buf;
}

static const struct opt_word *word_find(const struct opt_word *words,
					const char *s)
{
	for (const struct opt_word *w = words; w && w->name; w++)
		if (!strcmp(w->name, s))
			return w;
	return NULL;
}

/* A number, or one of the words ("auto" for --mss-clamp). */
static int apply_u32(const struct opt_def *d, const char *opt, const char *s,
		     __u32 *out)
{
	const struct opt_word *w = word_find(d->words, s);
	char words[256];
	unsigned long v;
	char *end;

	if (w) {
		*out = w->val;
		return 0;
	}
	if (!d->words)
		return parse_u32(opt, s, d->min, d->max, out);
	/* As parse_u32(): strtoul() would take " 5", "+5" and "-5" too. */
	errno = 0;
	v = strtoul(s, &end, 10);
	if (!isdigit((unsigned char)s[0]) || *end || errno || v < d->min ||
	    v > d->max) {
		p_err("bad %s '%s': use %s or a number from %u to %u", opt, s,
		      words_text(d->words, words, sizeof(words)), d->min, d->max);
		return -1;
	}
	*out = v;
	return 0;
}

/* "21,2121": up to d->max_count ports, no empty item ("21," is a typo,
 * not a list of one). */
static int apply_port_list(const struct opt_def *d, const char *opt,
			   const char *s, __u16 *ports)
{
	char buf[64], *tok, *next;
	unsigned int n = 0;
	__u16 got[16] = {};

	if (strlen(s) >= sizeof(buf) || d->max_count > 16)
		goto bad;
	strcpy(buf, s);
	for (tok = buf; tok; tok = next) {
		__u32 p;

		next = strchr(tok, ',');
		if (next)
			*next++ = '\0';
		if (n == d->max_count || !*tok)
			goto bad;
		if (parse_u32(opt, tok, 1, 65535, &p))
			return -1;
		got[n++] = p;
	}
	memcpy(ports, got, d->max_count * sizeof(*ports));
	return 0;
bad:
	p_err("bad %s '%s': expected up to %u ports like 21,2121", opt, s,
	      d->max_count);
	return -1;
}

/* The next free slot of a repeatable option, or NULL (error said). */
static int *repeat_count(const struct opt_def *d, const char *opt, void *dst)
{
	int *count = (int *)((char *)dst + d->count_off);

	if (*count >= (int)d->max_count) {
		p_err("at most %u %s values", d->max_count, opt);
		return NULL;
	}
	return count;
}

static int apply_def(const struct opt_def *d, void *dst, const char *value)
{
	char opt[64], words[256];
	const struct opt_word *w;
	int *count;

	snprintf(opt, sizeof(opt), "--%s", d->name);
	if (d->type == OPT_FLAG) {
		if (value) {
			p_err("%s takes no value (it is on when given)", opt);
			return -1;
		}
		*FIELD(dst, d, bool) = true;
		return 0;
	}
	if (!value) {
		p_err("option '%s' needs a value (see 'bpfmasq help')", opt);
		return -1;
	}
	switch (d->type) {
	case OPT_U32:
		return apply_u32(d, opt, value, FIELD(dst, d, __u32));
	case OPT_ENUM:
	case OPT_FLAGS:
		w = word_find(d->words, value);
		if (!w) {
			p_err("bad %s '%s': use %s", opt, value,
			      words_text(d->words, words, sizeof(words)));
			return -1;
		}
		if (d->type == OPT_ENUM)
			*FIELD(dst, d, int) = w->val;
		else
			*FIELD(dst, d, unsigned int) |= w->val;
		return 0;
	case OPT_STRING:
		*FIELD(dst, d, const char *) = strdup(value);
		return 0;
	case OPT_IFNAME:
		if (!(count = repeat_count(d, opt, dst)))
			return -1;
		/* Not necessarily existing yet: a --lan may appear later
		 * (a container runtime's bridge). */
		if (!*value || strlen(value) >= IF_NAMESIZE ||
		    strpbrk(value, "/ \t\n")) {
			p_err("bad %s '%s': an interface name has 1 to %d characters, none of them '/' or space",
			      opt, value, IF_NAMESIZE - 1);
			return -1;
		}
		FIELD(dst, d, const char *)[(*count)++] = strdup(value);
		return 0;
	case OPT_ADDR: {
		__be32 a, *to = FIELD(dst, d, __be32);

		if (inet_pton(AF_INET, value, &a) != 1 || !a) {
			p_err("bad %s '%s': expected an IPv4 address such as 192.0.2.10",
			      opt, value);
			return -1;
		}
		if (d->max_count) {
			if (!(count = repeat_count(d, opt, dst)))
				return -1;
			for (int i = 0; i < *count; i++)
				if (to[i] == a) {
					p_err("%s %s is given twice; keep one", opt, value);
					return -1;
				}
			to += (*count)++;
		}
		*to = a;
		return 0;
	}
	case OPT_CIDR: {
		struct internal_key *k;

		if (!(count = repeat_count(d, opt, dst)))
			return -1;
		k = &FIELD(dst, d, struct internal_key)[*count];
		if (parse_cidr(opt, value, &k->addr, &k->prefixlen))
			return -1;
		(*count)++;
		return 0;
	}
	case OPT_EXT_ADDR: {
		struct ext_spec *e = FIELD(dst, d, struct ext_spec);
		char addr[INET_ADDRSTRLEN];
		const char *colon = strchr(value, ':');
		size_t n = colon ? (size_t)(colon - value) : strlen(value);
		__be32 a;

		if (!(count = repeat_count(d, opt, dst)))
			return -1;
		if (n >= sizeof(addr) ||
		    (snprintf(addr, sizeof(addr), "%.*s", (int)n, value),
		     inet_pton(AF_INET, addr, &a) != 1) || !a) {
			p_err("bad %s '%s': expected ADDR or ADDR:LO-HI, such as 192.0.2.10 or 192.0.2.10:20000-29999",
			      opt, value);
			return -1;
		}
		if (ext_spec_find(e, *count, a) >= 0) {
			p_err("%s %s is given twice; keep one", opt, addr);
			return -1;
		}
		e += *count;
		*e = (struct ext_spec){ .addr = a };
		if (colon && parse_port_range(opt, colon + 1, &e->port_lo,
					      &e->port_hi))
			return -1;
		(*count)++;
		return 0;
	}
	case OPT_PORT_RANGE: {
		struct port_range *r = FIELD(dst, d, struct port_range);

		return parse_port_range(opt, value, &r->lo, &r->hi);
	}
	case OPT_PORT_LIST:
		return apply_port_list(d, opt, value, FIELD(dst, d, __u16));
	case OPT_FLAG:
		break;
	}
	p_err("%s: unknown option type %d", opt, d->type);
	return -1;
}

int opt_apply(const struct opt_def *defs, void *dst, const char *name,
	      const char *value)
{
	const struct opt_def *d = opt_find(defs, name);

	if (!d) {
		p_err("unknown option '%s' (see 'bpfmasq help')", name);
		return -1;
	}
	return apply_def(d, dst, value);
}

int opts_set_defaults(const struct opt_def *defs, void *dst)
{
	for (const struct opt_def *d = defs; d->name; d++)
		if (d->def && apply_def(d, dst, d->def))
			return -1;
	return 0;
}

int opts_parse(const struct opt_def *defs, const char *cmd, int argc,
	       char **argv, void *dst, int *settings)
{
	struct option *lo;
	int n = 0, c, ret = -1;

	for (const struct opt_def *d = defs; d->name; d++)
		n++;
	lo = calloc(n + 1, sizeof(*lo));
	if (!lo) {
		p_err("out of memory");
		return -1;
	}
	for (int i = 0; i < n; i++)
		lo[i] = (struct option){
			.name = defs[i].name,
			.has_arg = defs[i].type == OPT_FLAG ? no_argument :
							      required_argument,
			.val = 256 + i,
		};
	*settings = 0;
	optind = 0;	/* GNU getopt: reinitialise, main() parsed with "+" */
	opterr = 0;
	/* ':' first: a missing value is told apart from an unknown option. */
	while ((c = getopt_long(argc, argv, ":", lo, NULL)) != -1) {
		const struct opt_def *d;

		if (c == '?' && optopt >= 256 && optopt < 256 + n) {
			p_err("--%s takes no value (it is on when given)",
			      defs[optopt - 256].name);
			goto out;
		}
		if (c == ':') {
			p_err("option '%s' needs a value (see 'bpfmasq %s help')",
			      argv[optind - 1], cmd);
			goto out;
		}
		if (c < 256 || c >= 256 + n) {
			p_err("unknown option '%s' for %s (see 'bpfmasq %s help')",
			      argv[optind - 1], cmd, cmd);
			goto out;
		}
		d = &defs[c - 256];
		if (apply_def(d, dst, d->type == OPT_FLAG ? NULL : optarg))
			goto out;
		if (!(d->flags & OPTF_RUNTIME))
			(*settings)++;
	}
	ret = optind;
out:
	free(lo);
	return ret;
}

/* Words of text folded at 79 columns, each line but the first indented;
 * returns the column it ends at. */
static int wrap(FILE *f, int col, int indent, const char *text)
{
	const char *p = text;

	while (*p) {
		const char *sp = strchr(p, ' ');
		int len = sp ? sp - p : (int)strlen(p);

		if (col > indent && col + 1 + len > 79) {
			fprintf(f, "\n%*s", indent, "");
			col = indent;
		} else if (col > indent) {
			fputc(' ', f);
			col++;
		}
		fprintf(f, "%.*s", len, p);
		col += len;
		p += len;
		while (*p == ' ')
			p++;
	}
	return col;
}

void opts_usage(const struct opt_def *defs, FILE *f)
{
	for (const struct opt_def *d = defs; d->name; d++) {
		char mv[128], left[160];
		int col;

		opt_metavar(d, mv, sizeof(mv));
		snprintf(left, sizeof(left), "--%s%s%s%s", d->name, *mv ? " " : "",
			 mv, opt_repeatable(d) ? " ..." : "");
		col = fprintf(f, "    %s", left);
		if (col > 27) {
			fprintf(f, "\n");
			col = 0;
		}
		fprintf(f, "%*s", 28 - col, "");
		col = wrap(f, 28, 28, d->help);
		/* "default: X" is never split: it goes whole to a new line. */
		if (d->type != OPT_FLAG || d->def_doc) {
			const char *def = opt_default_text(d);

			if (col + (int)strlen("; default: ") + (int)strlen(def) > 79)
				fprintf(f, ";\n%*sdefault: %s", 28, "", def);
			else
				fprintf(f, "; default: %s", def);
		}
		fputc('\n', f);
	}
}
