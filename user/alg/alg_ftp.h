/* SPDX-License-Identifier: GPL-2.0 */
/*
 * FTP ALG parser: finds the address and port an FTP control connection
 * announces (PORT, EPRT from the client; 227, 229 replies from the server)
 * and formats their replacement.  Pure functions on one TCP segment's
 * payload; the controller decides what to do with a match.
 */
#ifndef BPFMASQ_ALG_FTP_H
#define BPFMASQ_ALG_FTP_H

#include <stdbool.h>
#include <stddef.h>
#include <linux/types.h>
#include "alg_common.h"

enum ftp_kind {
	FTP_PORT,	/* client: PORT a,b,c,d,p1,p2 */
	FTP_EPRT,	/* client: EPRT <d>1<d>a.b.c.d<d>port<d> */
	FTP_227,	/* server: 227 ... a,b,c,d,p1,p2 ... (PASV reply) */
	FTP_229,	/* server: 229 ... (<d><d><d>port<d>) (EPSV reply) */
};

/* One announced endpoint and where its text sits in the payload. */
struct ftp_match {
	enum ftp_kind kind;
	/* The bytes a rewrite replaces: "a,b,c,d,p1,p2" for PORT/227, the
	 * whole "<d>1<d>a.b.c.d<d>port<d>" for EPRT, "<d><d><d>port<d>"
	 * (without the parentheses) for 229. */
	size_t arg_off, arg_len;
	__be32 addr;		/* announced address; 0 for 229 */
	__u16 port;		/* announced port, host order, never 0 */
	char delim;		/* EPRT/229 delimiter, reused when rewriting */
};

/*
 * Look for the first command (dir_client: PORT, EPRT) or reply (else: 227,
 * 229) in p[0, len).  Only the start of the payload and the start of each
 * line (the byte after a \n) are looked at, so text inside another line
 * never matches.  Keywords are case-insensitive.  A line is complete when
 * it has its CR or LF; only complete lines match.
 *
 * Returns ALG_MATCH (m filled), ALG_NO_MATCH, ALG_MALFORMED or ALG_PARTIAL
 * for the first line that starts with a keyword of this direction; lines
 * that do not are skipped.  Port 0 is malformed.  EPRT with a protocol
 * other than 1 (IPv6 is 2) is not ours and is skipped like any other line.
 *
 * To find a further command in the same segment, call again on
 * p + m->arg_off + m->arg_len: the rest of the matched line never matches.
 */
int ftp_parse(const char *p, size_t len, bool dir_client, struct ftp_match *m);

/*
 * Write the replacement for m's argument announcing addr:port (port in
 * host order) into buf, in m's own syntax and delimiter.  No terminating
 * NUL.  Returns the length written, or -1 when buf is too small (FTP_FMT_MAX
 * is always enough).
 */
#define FTP_FMT_MAX 32
int ftp_format(const struct ftp_match *m, __be32 addr, __u16 port,
	       char *buf, size_t buflen);

/*
 * A match announcing an address that is not the sender's own (pre-NAT)
 * address is forged: another host would receive the data connection.
 * 229 announces no address and is never forged.
 */
static inline bool ftp_match_forged(const struct ftp_match *m, __be32 sender)
{
	return m->kind != FTP_229 && m->addr != sender;
}

#endif /* BPFMASQ_ALG_FTP_H */
