// SPDX-License-Identifier: GPL-2.0
/*
 * IRC DCC ALG parser.  A message is read in two phases: up to and
 * including the DCC type, anything unexpected means "not an offer" (most
 * IRC traffic); after a known type, it means "a broken offer", which the
 * caller counts and passes unchanged.
 */
#include <arpa/inet.h>

#include "alg_irc.h"

/* A file offset; bounded only so the decimal cannot overflow. */
#define DCC_POSITION_MAX 999999999999999999ULL

static const struct {
	const char *name;	/* lower case */
	enum irc_dcc_type type;
} dcc_types[] = {
	{ "chat", DCC_CHAT },
	{ "send", DCC_SEND },
	{ "move", DCC_MOVE },
	{ "tsend", DCC_TSEND },
	{ "schat", DCC_SCHAT },
	{ "resume", DCC_RESUME },
	{ "accept", DCC_ACCEPT },
};

/* Before the type is known, a broken line is just not an offer. */
static int not_offer(int err)
{
	return err == ALG_MALFORMED ? ALG_NO_MATCH : err;
}

/* Consume a run of bytes other than space and \1; ALG_MATCH if not empty. */
static int irc_token(struct alg_line *l, size_t *start)
{
	*start = l->pos;
	while (!alg_line_at_end(l) && l->p[l->pos] != ' ' &&
	       l->p[l->pos] != '\1')
		l->pos++;
	if (alg_line_at_end(l) && !l->complete)
		return ALG_PARTIAL;
	return l->pos > *start ? ALG_MATCH : ALG_MALFORMED;
}

/* [":" prefix " "] "PRIVMSG" " " target " " ":\1DCC" " " TYPE " " */
static int parse_header(struct alg_line *l, enum irc_dcc_type *type)
{
	size_t tok, n, i;
	int err;

	if (alg_line_peek(l) == ':') {
		l->pos++;
		err = irc_token(l, &tok);
		if (err == ALG_MATCH)
			err = alg_line_spaces(l);
		if (err != ALG_MATCH)
			return not_offer(err);
	}
	err = alg_line_keyword(l, "privmsg");
	if (err == ALG_MATCH)
		err = alg_line_spaces(l);
	if (err == ALG_MATCH)
		err = irc_token(l, &tok);
	if (err == ALG_MATCH)
		err = alg_line_spaces(l);
	/* The CTCP must open the text: the CVE-2022-2663 fix. */
	if (err == ALG_MATCH)
		err = alg_line_keyword(l, ":\1dcc");
	if (err == ALG_MATCH)
		err = alg_line_spaces(l);
	if (err == ALG_MATCH)
		err = irc_token(l, &tok);
	if (err != ALG_MATCH)
		return not_offer(err);

	n = l->pos - tok;
	for (i = 0; i < sizeof(dcc_types) / sizeof(dcc_types[0]); i++) {
		const char *name = dcc_types[i].name;
		size_t k;

		if (strlen(name) != n)
			continue;
		for (k = 0; k < n; k++)
			if (alg_lower((unsigned char)l->p[tok + k]) != name[k])
				break;
		if (k == n) {
			*type = dcc_types[i].type;
			return alg_line_spaces(l);
		}
	}
	return ALG_NO_MATCH;
}

/* The file name (or "chat"): a token, or "anything but a quote or \1". */
static int parse_dcc_arg(struct alg_line *l)
{
	size_t tok;
	int err;

	if (alg_line_peek(l) != '"') {
		err = irc_token(l, &tok);
		return err == ALG_MATCH ? alg_line_spaces(l) : err;
	}
	l->pos++;
	while (!alg_line_at_end(l) && l->p[l->pos] != '"') {
		if (l->p[l->pos] == '\1')
			return ALG_MALFORMED;
		l->pos++;
	}
	err = alg_line_expect(l, '"');
	return err == ALG_MATCH ? alg_line_spaces(l) : err;
}

/* After the last field we use: [" " anything] "\1" */
static int parse_tail(struct alg_line *l)
{
	const char *ctcp_end;

	if (alg_line_at_end(l))
		return alg_line_short(l);
	if (l->p[l->pos] == ' ') {
		ctcp_end = memchr(l->p + l->pos, '\1', l->end - l->pos);
		if (!ctcp_end)
			return alg_line_short(l);
		l->pos = (size_t)(ctcp_end - l->p);
	}
	return alg_line_expect(l, '\1');
}

static int parse_message(struct alg_line *l, struct irc_dcc *d)
{
	__u64 addr, port, position;
	int err;

	memset(d, 0, sizeof(*d));
	err = parse_header(l, &d->type);
	if (err == ALG_MATCH)
		err = parse_dcc_arg(l);
	if (err != ALG_MATCH)
		return err;

	d->arg_off = l->pos;
	if (irc_dcc_has_addr(d->type)) {
		err = alg_line_decimal(l, 0xffffffffULL, &addr);
		if (err == ALG_MATCH)
			err = alg_line_spaces(l);
		if (err == ALG_MATCH)
			err = alg_line_decimal(l, 65535, &port);
		if (err != ALG_MATCH)
			return err;
		d->arg_len = l->pos - d->arg_off;
		d->addr = htonl((__u32)addr);
	} else {
		err = alg_line_decimal(l, 65535, &port);
		if (err != ALG_MATCH)
			return err;
		d->arg_len = l->pos - d->arg_off;
		/* The position is a file offset; only its syntax matters. */
		err = alg_line_spaces(l);
		if (err == ALG_MATCH)
			err = alg_line_decimal(l, DCC_POSITION_MAX, &position);
		if (err != ALG_MATCH)
			return err;
	}
	d->port = (__u16)port;

	err = parse_tail(l);
	if (err != ALG_MATCH)
		return err;
	return l->complete ? ALG_MATCH : ALG_PARTIAL;
}

int irc_parse(const char *p, size_t len, struct irc_dcc *out, int max)
{
	bool malformed = false;
	struct alg_line l;
	struct irc_dcc d;
	size_t start;
	int n = 0, err;

	for (start = 0; start < len; start = alg_next_line(p, len, start)) {
		alg_line_init(&l, p, len, start);
		err = parse_message(&l, &d);
		if (err == ALG_PARTIAL)
			return ALG_PARTIAL;
		if (err == ALG_MALFORMED)
			malformed = true;
		if (err != ALG_MATCH)
			continue;
		if (n >= max)
			break;
		out[n++] = d;
	}
	if (n)
		return n;
	return malformed ? ALG_MALFORMED : ALG_NO_MATCH;
}

int irc_format(const struct irc_dcc *d, __be32 addr, __u16 port,
	       char *buf, size_t buflen)
{
	char out[IRC_FMT_MAX];
	size_t n = 0;

	if (irc_dcc_has_addr(d->type)) {
		n += alg_put_u32(out + n, ntohl(addr));
		out[n++] = ' ';
	}
	n += alg_put_u32(out + n, port);
	if (n > buflen)
		return -1;
	memcpy(buf, out, n);
	return (int)n;
}
