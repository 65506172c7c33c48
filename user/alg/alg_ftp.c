// SPDX-License-Identifier: GPL-2.0
/*
 * FTP ALG parser (RFC 959 PORT/227, RFC 2428 EPRT/229).  Strict on
 * purpose: whatever is not exactly the syntax below is left alone rather
 * than half-rewritten, and a line only counts once its CR or LF is here.
 */
#include <arpa/inet.h>

#include "alg_ftp.h"

/* a,b,c,d,p1,p2: the RFC 959 host-port of PORT and 227. */
static int parse_host_port(struct alg_line *l, struct ftp_match *m)
{
	__u64 v[6];
	int i, err;

	for (i = 0; i < 6; i++) {
		if (i > 0) {
			err = alg_line_expect(l, ',');
			if (err != ALG_MATCH)
				return err;
		}
		err = alg_line_decimal(l, 255, &v[i]);
		if (err != ALG_MATCH)
			return err;
	}
	m->addr = htonl((__u32)(v[0] << 24 | v[1] << 16 | v[2] << 8 | v[3]));
	m->port = (__u16)(v[4] << 8 | v[5]);
	return m->port ? ALG_MATCH : ALG_MALFORMED;
}

/* EPRT/229 delimiters: RFC 2428 allows any printable but digits would
 * make the fields ambiguous. */
static bool ftp_delim_ok(int c)
{
	return c >= 33 && c <= 126 && !alg_is_digit(c);
}

/* The delimiter that opens an EPRT or 229 argument; the closing ones must
 * repeat it. */
static int ftp_delim_open(struct alg_line *l, struct ftp_match *m)
{
	int d = alg_line_peek(l);

	if (d < 0)
		return alg_line_short(l);
	if (!ftp_delim_ok(d))
		return ALG_MALFORMED;
	m->delim = (char)d;
	l->pos++;
	return ALG_MATCH;
}

/* "<d>port<d>", which closes EPRT's and 229's argument (RFC 2428). */
static int ext_port(struct alg_line *l, struct ftp_match *m, __u64 *port)
{
	int err = alg_line_expect(l, m->delim);

	if (err == ALG_MATCH)
		err = alg_line_decimal(l, 65535, port);
	if (err == ALG_MATCH)
		err = alg_line_expect(l, m->delim);
	if (err == ALG_MATCH)
		m->arg_len = l->pos - m->arg_off;
	return err;
}

/* The end EPRT and 229 share: the match holds once the line is whole,
 * and port 0 is none (RFC 2428). */
static int ext_port_done(const struct alg_line *l, struct ftp_match *m,
			 __be32 addr, __u64 port)
{
	if (!l->complete)
		return ALG_PARTIAL;
	if (!port)
		return ALG_MALFORMED;
	m->addr = addr;
	m->port = (__u16)port;
	return ALG_MATCH;
}

/* PORT's and EPRT's argument starts after the spaces that follow the
 * command. */
static int client_arg_start(struct alg_line *l, struct ftp_match *m,
			    enum ftp_kind kind)
{
	int err = alg_line_spaces(l);

	if (err == ALG_MATCH) {
		m->kind = kind;
		m->arg_off = l->pos;
	}
	return err;
}

/* Client: PORT a,b,c,d,p1,p2 CRLF */
static int parse_port(struct alg_line *l, struct ftp_match *m)
{
	int err;

	err = client_arg_start(l, m, FTP_PORT);
	if (err != ALG_MATCH)
		return err;
	err = parse_host_port(l, m);
	if (err != ALG_MATCH)
		return err;
	m->arg_len = l->pos - m->arg_off;
	/* Nothing may follow the port but the line's end. */
	return alg_line_at_end(l) ? ALG_MATCH : ALG_MALFORMED;
}

/* Client: EPRT <d>1<d>a.b.c.d<d>port<d> CRLF */
static int parse_eprt(struct alg_line *l, struct ftp_match *m)
{
	__u64 proto, v[4], port;
	int i, err;

	err = client_arg_start(l, m, FTP_EPRT);
	if (err != ALG_MATCH)
		return err;
	err = ftp_delim_open(l, m);
	if (err != ALG_MATCH)
		return err;

	err = alg_line_decimal(l, 255, &proto);
	if (err != ALG_MATCH)
		return err;
	/* Another family (2 is IPv6) is not ours to translate. */
	if (proto != 1)
		return ALG_NO_MATCH;
	for (i = 0; i < 4 && err == ALG_MATCH; i++) {
		err = alg_line_expect(l, i == 0 ? m->delim : '.');
		if (err == ALG_MATCH)
			err = alg_line_decimal(l, 255, &v[i]);
	}
	if (err == ALG_MATCH)
		err = ext_port(l, m, &port);
	if (err != ALG_MATCH)
		return err;
	if (!alg_line_at_end(l))
		return ALG_MALFORMED;
	return ext_port_done(l, m,
		htonl((__u32)(v[0] << 24 | v[1] << 16 | v[2] << 8 | v[3])), port);
}

/*
 * Server: 227 <text> a,b,c,d,p1,p2 <text> CRLF.  RFC 1123 4.1.2.6: the
 * numbers may or may not be in parentheses, so scan to the first digit.
 */
static int parse_227(struct alg_line *l, struct ftp_match *m)
{
	int err;

	while (!alg_line_at_end(l) && !alg_is_digit(l->p[l->pos]))
		l->pos++;
	if (alg_line_at_end(l))
		return alg_line_short(l);
	m->kind = FTP_227;
	m->arg_off = l->pos;
	err = parse_host_port(l, m);
	if (err != ALG_MATCH)
		return err;
	m->arg_len = l->pos - m->arg_off;
	/* A seventh number: not a host-port. */
	if (alg_line_peek(l) == ',')
		return ALG_MALFORMED;
	return l->complete ? ALG_MATCH : ALG_PARTIAL;
}

/* Server: 229 <text> (<d><d><d>port<d>) <text> CRLF */
static int parse_229(struct alg_line *l, struct ftp_match *m)
{
	__u64 port;
	int err;

	while (!alg_line_at_end(l) && l->p[l->pos] != '(')
		l->pos++;
	err = alg_line_expect(l, '(');
	if (err != ALG_MATCH)
		return err;
	m->kind = FTP_229;
	m->arg_off = l->pos;
	err = ftp_delim_open(l, m);
	if (err != ALG_MATCH)
		return err;
	err = alg_line_expect(l, m->delim);
	if (err == ALG_MATCH)
		err = ext_port(l, m, &port);
	if (err != ALG_MATCH)
		return err;
	err = alg_line_expect(l, ')');
	if (err != ALG_MATCH)
		return err;
	return ext_port_done(l, m, 0, port);
}

/* One line: the verdict for a line that starts with one of our keywords,
 * ALG_NO_MATCH for any other. */
static int parse_line(struct alg_line *l, bool dir_client, struct ftp_match *m)
{
	static const struct {
		const char *keyword;
		bool client;
		int (*parse)(struct alg_line *l, struct ftp_match *m);
	} commands[] = {
		{ "port", true, parse_port },
		{ "eprt", true, parse_eprt },
		{ "227 ", false, parse_227 },
		{ "229 ", false, parse_229 },
	};
	size_t start = l->pos, i;
	int partial = ALG_NO_MATCH, err;

	for (i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
		if (commands[i].client != dir_client)
			continue;
		l->pos = start;
		err = alg_line_keyword(l, commands[i].keyword);
		if (err == ALG_PARTIAL)
			partial = ALG_PARTIAL;
		if (err != ALG_MATCH)
			continue;
		/* "PORTX" is another word, not PORT. */
		if (dir_client && !alg_line_at_end(l) &&
		    alg_line_peek(l) != ' ')
			continue;
		memset(m, 0, sizeof(*m));
		return commands[i].parse(l, m);
	}
	return partial;
}

int ftp_parse(const char *p, size_t len, bool dir_client, struct ftp_match *m)
{
	struct ftp_match found;
	struct alg_line l;
	size_t start;
	int err;

	for (start = 0; start < len; start = alg_next_line(p, len, start)) {
		alg_line_init(&l, p, len, start);
		err = parse_line(&l, dir_client, &found);
		if (err == ALG_NO_MATCH)
			continue;
		if (err == ALG_MATCH)
			*m = found;
		return err;
	}
	return ALG_NO_MATCH;
}

int ftp_format(const struct ftp_match *m, __be32 addr, __u16 port,
	       char *buf, size_t buflen)
{
	char out[FTP_FMT_MAX];
	__u32 a = ntohl(addr);
	size_t n = 0;
	char d = m->delim;
	int i;

	switch (m->kind) {
	case FTP_PORT:
	case FTP_227:
		for (i = 3; i >= 0; i--) {
			n += alg_put_u32(out + n, (a >> (i * 8)) & 0xff);
			out[n++] = ',';
		}
		n += alg_put_u32(out + n, port >> 8);
		out[n++] = ',';
		n += alg_put_u32(out + n, port & 0xff);
		break;
	case FTP_EPRT:
		out[n++] = d;
		out[n++] = '1';
		out[n++] = d;
		for (i = 3; i >= 0; i--) {
			n += alg_put_u32(out + n, (a >> (i * 8)) & 0xff);
			out[n++] = i ? '.' : d;
		}
		n += alg_put_u32(out + n, port);
		out[n++] = d;
		break;
	case FTP_229:
		out[n++] = d;
		out[n++] = d;
		out[n++] = d;
		n += alg_put_u32(out + n, port);
		out[n++] = d;
		break;
	default:
		return -1;
	}
	if (n > buflen)
		return -1;
	memcpy(buf, out, n);
	return (int)n;
}
