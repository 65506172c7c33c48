/* SPDX-License-Identifier: GPL-2.0 */
/*
 * IRC DCC ALG parser: finds the CTCP DCC offers of an IRC control
 * connection (the announced decimal IPv4 address and port of CHAT, SEND
 * and the types Linux knows; the port of RESUME/ACCEPT) and formats their
 * replacement.  Pure functions on one TCP segment's payload.
 */
#ifndef BPFMASQ_ALG_IRC_H
#define BPFMASQ_ALG_IRC_H

#include <stdbool.h>
#include <stddef.h>
#include <linux/types.h>
#include "alg_common.h"

enum irc_dcc_type {
	DCC_CHAT,
	DCC_SEND,
	DCC_MOVE,
	DCC_TSEND,
	DCC_SCHAT,
	/* "<file> <port> <position>": a port going back to its owner */
	DCC_RESUME,
	DCC_ACCEPT,	/* the same, in the owner's answer */
};

/* RESUME and ACCEPT carry a port but no address. */
static inline bool irc_dcc_has_addr(enum irc_dcc_type t)
{
	return t != DCC_RESUME && t != DCC_ACCEPT;
}

/* One DCC offer and where its text sits in the payload. */
struct irc_dcc {
	enum irc_dcc_type type;
	/* The bytes a rewrite replaces: "<ip> <port>" (from the first digit
	 * of the ip to the last of the port) for the offers, "<port>" for
	 * RESUME/ACCEPT. */
	size_t arg_off, arg_len;
	__be32 addr;		/* the offer's address; 0 for RESUME/ACCEPT */
	__u16 port;		/* host order; 0 is a passive (reverse) DCC with
				 * a token, which must be left alone */
};

/*
 * Find the DCC offers in p[0, len).  Each must be a whole message, at the
 * start of the payload or after a \n, of the form
 *
 *   [":" prefix " "] "PRIVMSG" " " target " " ":" "\1DCC" " " TYPE " " arg
 *   " " ip " " port [" " anything] "\1" ... CR/LF
 *   (RESUME/ACCEPT: arg " " port " " position [" " anything] "\1")
 *
 * with the CTCP at the very start of the text: "\1DCC" anywhere else (in
 * the middle of a PRIVMSG, in a NOTICE) never matches (CVE-2022-2663).
 * arg may be "quoted" to hold spaces; an unquoted file name with spaces
 * does not parse.  Keywords are case-insensitive; runs of spaces count
 * as one.  The ip is decimal and at most 2^32 - 1.  Only complete lines
 * (ending in CR or LF) match.  The grammar does not depend on the
 * direction: the caller decides which offers it acts on.
 *
 * Returns the number of offers written to out (in payload order, at most
 * max; later ones are ignored), or: ALG_PARTIAL when the segment ends
 * inside what may still become an offer (whatever came before it is then
 * not reported either, so the caller handles the segment as one);
 * ALG_MALFORMED when there is no offer but a broken one (a known DCC type
 * with bad fields or without its closing \1).  A broken offer next to good
 * ones is skipped and left unchanged.
 */
int irc_parse(const char *p, size_t len, struct irc_dcc *out, int max);

/*
 * Write the replacement for d's argument announcing addr:port (port in
 * host order) into buf: "<decimal addr> <port>", or "<port>" for
 * RESUME/ACCEPT.  No terminating NUL.  Returns the length written, or -1
 * when buf is too small (IRC_FMT_MAX is always enough).
 */
#define IRC_FMT_MAX 24
int irc_format(const struct irc_dcc *d, __be32 addr, __u16 port,
	       char *buf, size_t buflen);

/* An offer whose address is not the sender's own (pre-NAT) is forged. */
static inline bool irc_dcc_forged(const struct irc_dcc *d, __be32 sender)
{
	return irc_dcc_has_addr(d->type) && d->addr != sender;
}

#endif /* BPFMASQ_ALG_IRC_H */
