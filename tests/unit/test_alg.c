// SPDX-License-Identifier: GPL-2.0
/*
 * Unit tests of the ALG parsers (FTP, IRC DCC), of the TCP sequence
 * adjustment model and of the checksum of the segments the controller
 * sends on.  Plain C, no BPF: tables of payloads with the verdict and the
 * exact match expected, format round trips, step tables for the sequence
 * adjustment, segments with complete, partial and damaged checksums.
 *
 * Prints "PASS name" or "FAIL name: details" per case and a final
 * "N passed, N failed"; exits non-zero when anything failed.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>

#include "harness.h"
#include "alg_common.h"
#include "alg_ftp.h"
#include "alg_irc.h"
#include "inet_csum.h"
#include "seqadj.h"

static void pass(const char *name)
{
	check(true, name, "");
}

/* A failed case of the given name, explained. */
#define fail(name, ...)							\
	({								\
		test_start("%s", (name));				\
		test_fail(__VA_ARGS__);					\
		test_end();						\
	})

static __be32 ip(const char *s)
{
	struct in_addr a;

	if (inet_pton(AF_INET, s, &a) != 1) {
		fprintf(stderr, "test_alg: bad address %s in a table\n", s);
		exit(2);
	}
	return a.s_addr;
}

static const char *ipstr(__be32 a)
{
	static char bufs[4][INET_ADDRSTRLEN];
	static int next;
	char *b = bufs[next++ % 4];

	return inet_ntop(AF_INET, &a, b, INET_ADDRSTRLEN);
}

static const char *result_name(int r)
{
	switch (r) {
	case ALG_NO_MATCH: return "NO_MATCH";
	case ALG_MATCH: return "MATCH";
	case ALG_MALFORMED: return "MALFORMED";
	case ALG_PARTIAL: return "PARTIAL";
	default: return "count";
	}
}

/* Does p[off, off + len) say exactly want? */
static bool span_is(const char *p, size_t off, size_t len, const char *want)
{
	return len == strlen(want) && !memcmp(p + off, want, len);
}

/* FTP parser tables */

#define CLIENT true
#define SERVER false

struct ftp_case {
	const char *name;
	const char *payload;
	bool client;
	int want;
	/* when want == ALG_MATCH: */
	enum ftp_kind kind;
	const char *addr;	/* NULL: 0 (229) */
	__u16 port;
	const char *arg;	/* the exact bytes arg_off/arg_len cover */
	char delim;
};

static const struct ftp_case ftp_cases[] = {
	{ "ftp_port", "PORT 10,0,0,2,4,1\r\n", CLIENT, ALG_MATCH,
	  FTP_PORT, "10.0.0.2", 1025, .arg = "10,0,0,2,4,1" },
	{ "ftp_port_lower_case", "port 10,0,0,2,4,1\r\n", CLIENT, ALG_MATCH,
	  FTP_PORT, "10.0.0.2", 1025, .arg = "10,0,0,2,4,1" },
	{ "ftp_port_mixed_case", "PoRt 192,168,1,10,195,80\r\n", CLIENT, ALG_MATCH,
	  FTP_PORT, "192.168.1.10", 50000, .arg = "192,168,1,10,195,80" },
	{ "ftp_port_lf_only", "PORT 10,0,0,2,4,1\n", CLIENT, ALG_MATCH,
	  FTP_PORT, "10.0.0.2", 1025, .arg = "10,0,0,2,4,1" },
	{ "ftp_port_cr_only", "PORT 10,0,0,2,4,1\r", CLIENT, ALG_MATCH,
	  FTP_PORT, "10.0.0.2", 1025, .arg = "10,0,0,2,4,1" },
	{ "ftp_port_extremes", "PORT 255,255,255,255,255,255\r\n", CLIENT, ALG_MATCH,
	  FTP_PORT, "255.255.255.255", 65535, .arg = "255,255,255,255,255,255" },
	{ "ftp_port_leading_zeros", "PORT 010,000,000,002,004,001\r\n", CLIENT,
	  ALG_MATCH, FTP_PORT, "10.0.0.2", 1025, .arg = "010,000,000,002,004,001" },
	{ "ftp_port_two_spaces", "PORT  10,0,0,2,4,1\r\n", CLIENT, ALG_MATCH,
	  FTP_PORT, "10.0.0.2", 1025, .arg = "10,0,0,2,4,1" },
	/* The parser reports what is announced; refusing it is the caller's. */
	{ "ftp_port_forged_still_parsed", "PORT 8,8,8,8,4,1\r\n", CLIENT, ALG_MATCH,
	  FTP_PORT, "8.8.8.8", 1025, .arg = "8,8,8,8,4,1" },
	{ "ftp_port_second_line", "USER anonymous\r\nPORT 10,0,0,2,4,1\r\n",
	  CLIENT, ALG_MATCH, FTP_PORT, "10.0.0.2", 1025, .arg = "10,0,0,2,4,1" },
	{ "ftp_port_first_of_two", "PORT 10,0,0,2,4,1\r\nPORT 10,0,0,3,4,2\r\n",
	  CLIENT, ALG_MATCH, FTP_PORT, "10.0.0.2", 1025, .arg = "10,0,0,2,4,1" },
	{ "ftp_port_then_partial_line", "PORT 10,0,0,2,4,1\r\nPO", CLIENT,
	  ALG_MATCH, FTP_PORT, "10.0.0.2", 1025, .arg = "10,0,0,2,4,1" },
	{ "ftp_port_octet_256", "PORT 10,0,0,256,4,1\r\n", CLIENT, .want = ALG_MALFORMED },
	{ "ftp_port_p1_256", "PORT 10,0,0,2,256,1\r\n", CLIENT, .want = ALG_MALFORMED },
	{ "ftp_port_huge_number", "PORT 99999999999999999999,0,0,2,4,1\r\n",
	  CLIENT, .want = ALG_MALFORMED },
	{ "ftp_port_five_fields", "PORT 10,0,0,2,4\r\n", CLIENT, .want = ALG_MALFORMED },
	{ "ftp_port_seven_fields", "PORT 10,0,0,2,4,1,7\r\n", CLIENT, .want = ALG_MALFORMED },
	{ "ftp_port_empty_field", "PORT 10,,0,2,4,1\r\n", CLIENT, .want = ALG_MALFORMED },
	{ "ftp_port_no_argument", "PORT\r\n", CLIENT, .want = ALG_MALFORMED },
	{ "ftp_port_trailing_junk", "PORT 10,0,0,2,4,1x\r\n", CLIENT, .want = ALG_MALFORMED },
	{ "ftp_port_trailing_space", "PORT 10,0,0,2,4,1 \r\n", CLIENT, .want = ALG_MALFORMED },
	{ "ftp_port_negative", "PORT 10,0,0,-2,4,1\r\n", CLIENT, .want = ALG_MALFORMED },
	{ "ftp_port_port_zero", "PORT 10,0,0,2,0,0\r\n", CLIENT, .want = ALG_MALFORMED },
	{ "ftp_port_missing_cr", "PORT 10,0,0,2,4,1", CLIENT, .want = ALG_PARTIAL },
	{ "ftp_port_split_in_argument", "PORT 10,0,0", CLIENT, .want = ALG_PARTIAL },
	{ "ftp_port_split_after_comma", "PORT 10,0,0,2,4,", CLIENT, .want = ALG_PARTIAL },
	{ "ftp_port_split_in_keyword", "PO", CLIENT, .want = ALG_PARTIAL },
	{ "ftp_port_split_after_keyword", "PORT", CLIENT, .want = ALG_PARTIAL },
	{ "ftp_port_split_on_second_line", "USER x\r\nPORT 10,0", CLIENT, .want = ALG_PARTIAL },
	{ "ftp_port_not_at_line_start", "NOOP PORT 10,0,0,2,4,1\r\n", CLIENT,
	  .want = ALG_NO_MATCH },
	{ "ftp_port_after_bare_cr", "NOOP\rPORT 10,0,0,2,4,1\r\n", CLIENT,
	  .want = ALG_NO_MATCH },
	{ "ftp_port_other_word", "PORTABLE 10,0,0,2,4,1\r\n", CLIENT, .want = ALG_NO_MATCH },
	{ "ftp_port_from_server_ignored", "PORT 10,0,0,2,4,1\r\n", SERVER,
	  .want = ALG_NO_MATCH },
	{ "ftp_other_commands", "USER a\r\nPASS b\r\nLIST\r\n", CLIENT, .want = ALG_NO_MATCH },
	{ "ftp_empty", "", CLIENT, .want = ALG_NO_MATCH },
	{ "ftp_unrelated_partial_line", "USER ano", CLIENT, .want = ALG_NO_MATCH },

	{ "ftp_eprt", "EPRT |1|10.0.0.2|5282|\r\n", CLIENT, ALG_MATCH,
	  FTP_EPRT, "10.0.0.2", 5282, "|1|10.0.0.2|5282|", '|' },
	{ "ftp_eprt_lower_case", "eprt |1|10.0.0.2|5282|\r\n", CLIENT, ALG_MATCH,
	  FTP_EPRT, "10.0.0.2", 5282, "|1|10.0.0.2|5282|", '|' },
	{ "ftp_eprt_delim_bang", "EPRT !1!10.0.0.2!5282!\r\n", CLIENT, ALG_MATCH,
	  FTP_EPRT, "10.0.0.2", 5282, "!1!10.0.0.2!5282!", '!' },
	{ "ftp_eprt_delim_tilde", "EPRT ~1~10.0.0.2~65535~\r\n", CLIENT, ALG_MATCH,
	  FTP_EPRT, "10.0.0.2", 65535, "~1~10.0.0.2~65535~", '~' },
	{ "ftp_eprt_ipv6_ignored", "EPRT |2|fd00::2|5282|\r\n", CLIENT, .want = ALG_NO_MATCH },
	{ "ftp_eprt_ipv6_then_port", "EPRT |2|::1|5282|\r\nPORT 10,0,0,2,4,1\r\n",
	  CLIENT, ALG_MATCH, FTP_PORT, "10.0.0.2", 1025, .arg = "10,0,0,2,4,1" },
	{ "ftp_eprt_mixed_delims", "EPRT |1!10.0.0.2|5282|\r\n", CLIENT, .want = ALG_MALFORMED },
	{ "ftp_eprt_digit_delim", "EPRT 5152105020252825\r\n", CLIENT, .want = ALG_MALFORMED },
	{ "ftp_eprt_space_delim", "EPRT  1 10.0.0.2 5282 \r\n", CLIENT, .want = ALG_MALFORMED },
	{ "ftp_eprt_port_65536", "EPRT |1|10.0.0.2|65536|\r\n", CLIENT, .want = ALG_MALFORMED },
	{ "ftp_eprt_port_zero", "EPRT |1|10.0.0.2|0|\r\n", CLIENT, .want = ALG_MALFORMED },
	{ "ftp_eprt_octet_256", "EPRT |1|10.0.256.2|5282|\r\n", CLIENT, .want = ALG_MALFORMED },
	{ "ftp_eprt_three_octets", "EPRT |1|10.0.2|5282|\r\n", CLIENT, .want = ALG_MALFORMED },
	{ "ftp_eprt_five_octets", "EPRT |1|10.0.0.2.1|5282|\r\n", CLIENT, .want = ALG_MALFORMED },
	{ "ftp_eprt_no_last_delim", "EPRT |1|10.0.0.2|5282\r\n", CLIENT, .want = ALG_MALFORMED },
	{ "ftp_eprt_junk_after", "EPRT |1|10.0.0.2|5282|x\r\n", CLIENT, .want = ALG_MALFORMED },
	{ "ftp_eprt_split", "EPRT |1|10.0.0.2|52", CLIENT, .want = ALG_PARTIAL },
	{ "ftp_eprt_missing_cr", "EPRT |1|10.0.0.2|5282|", CLIENT, .want = ALG_PARTIAL },

	{ "ftp_227", "227 Entering Passive Mode (10,0,0,5,19,137).\r\n", SERVER,
	  ALG_MATCH, FTP_227, "10.0.0.5", 5001, .arg = "10,0,0,5,19,137" },
	{ "ftp_227_no_parentheses", "227 Entering Passive Mode 10,0,0,5,19,137\r\n",
	  SERVER, ALG_MATCH, FTP_227, "10.0.0.5", 5001, .arg = "10,0,0,5,19,137" },
	{ "ftp_227_second_line",
	  "150 Here it comes\r\n227 Entering Passive Mode (10,0,0,5,19,137)\r\n",
	  SERVER, ALG_MATCH, FTP_227, "10.0.0.5", 5001, .arg = "10,0,0,5,19,137" },
	{ "ftp_227_five_fields", "227 Entering Passive Mode (10,0,0,5,19).\r\n",
	  SERVER, .want = ALG_MALFORMED },
	{ "ftp_227_seven_fields", "227 Entering Passive Mode (10,0,0,5,19,137,1)\r\n",
	  SERVER, .want = ALG_MALFORMED },
	{ "ftp_227_octet_300", "227 Entering Passive Mode (10,0,300,5,19,137)\r\n",
	  SERVER, .want = ALG_MALFORMED },
	{ "ftp_227_no_numbers", "227 Entering Passive Mode\r\n", SERVER, .want = ALG_MALFORMED },
	{ "ftp_227_missing_crlf", "227 Entering Passive Mode (10,0,0,5,19,137).",
	  SERVER, .want = ALG_PARTIAL },
	{ "ftp_227_split", "227 Entering Passive Mode (10,0,", SERVER, .want = ALG_PARTIAL },
	{ "ftp_227_continuation_line", "227-Entering (10,0,0,5,19,137)\r\n", SERVER,
	  .want = ALG_NO_MATCH },
	{ "ftp_227_from_client_ignored", "227 (10,0,0,5,19,137)\r\n", CLIENT,
	  .want = ALG_NO_MATCH },

	{ "ftp_229", "229 Entering Extended Passive Mode (|||6446|)\r\n", SERVER,
	  ALG_MATCH, FTP_229, NULL, 6446, "|||6446|", '|' },
	{ "ftp_229_delim_bang", "229 Entering Extended Passive Mode (!!!6446!)\r\n",
	  SERVER, ALG_MATCH, FTP_229, NULL, 6446, "!!!6446!", '!' },
	{ "ftp_229_mixed_delims", "229 Entering Extended Passive Mode (||!6446|)\r\n",
	  SERVER, .want = ALG_MALFORMED },
	{ "ftp_229_no_parenthesis", "229 Entering Extended Passive Mode |||6446|\r\n",
	  SERVER, .want = ALG_MALFORMED },
	{ "ftp_229_no_closing_parenthesis", "229 Entering (|||6446|\r\n", SERVER,
	  .want = ALG_MALFORMED },
	{ "ftp_229_port_65536", "229 Entering (|||65536|)\r\n", SERVER, .want = ALG_MALFORMED },
	{ "ftp_229_split", "229 Entering Extended Passive Mode (|||64", SERVER,
	  .want = ALG_PARTIAL },
};

static void test_ftp_parse(void)
{
	size_t i;

	for (i = 0; i < sizeof(ftp_cases) / sizeof(ftp_cases[0]); i++) {
		const struct ftp_case *c = &ftp_cases[i];
		__be32 want_addr = c->addr ? ip(c->addr) : 0;
		struct ftp_match m;
		int r;

		memset(&m, 0xa5, sizeof(m));
		r = ftp_parse(c->payload, strlen(c->payload), c->client, &m);
		if (r != c->want) {
			fail(c->name, "got %s, want %s", result_name(r),
			     result_name(c->want));
			continue;
		}
		if (r != ALG_MATCH) {
			pass(c->name);
			continue;
		}
		if (m.kind != c->kind || m.addr != want_addr || m.port != c->port) {
			fail(c->name, "got kind %d %s:%u, want kind %d %s:%u",
			     m.kind, ipstr(m.addr), m.port, c->kind,
			     ipstr(want_addr), c->port);
			continue;
		}
		if (!span_is(c->payload, m.arg_off, m.arg_len, c->arg)) {
			fail(c->name, "argument [%zu, +%zu) is \"%.*s\", want \"%s\"",
			     m.arg_off, m.arg_len, (int)m.arg_len,
			     c->payload + m.arg_off, c->arg);
			continue;
		}
		if ((c->kind == FTP_EPRT || c->kind == FTP_229) && m.delim != c->delim) {
			fail(c->name, "delimiter '%c', want '%c'", m.delim, c->delim);
			continue;
		}
		pass(c->name);
	}
}

/* FTP rewrite round trips: parse, format, replace, parse again */

struct ftp_rewrite_case {
	const char *name;
	const char *payload;
	bool client;
	const char *new_addr;
	__u16 new_port;
	const char *want;	/* the whole payload after the rewrite */
};

static const struct ftp_rewrite_case ftp_rewrites[] = {
	{ "ftp_rewrite_port_grows", "PORT 10,0,0,2,4,1\r\n", CLIENT,
	  "192.0.2.100", 50000, "PORT 192,0,2,100,195,80\r\n" },
	{ "ftp_rewrite_port_shrinks", "PORT 192,168,100,200,195,80\r\n", CLIENT,
	  "1.2.3.4", 1025, "PORT 1,2,3,4,4,1\r\n" },
	{ "ftp_rewrite_port_same_length", "PORT 10,0,0,2,4,1\r\n", CLIENT,
	  "10.0.0.9", 1025, "PORT 10,0,0,9,4,1\r\n" },
	{ "ftp_rewrite_port_keeps_other_lines",
	  "TYPE I\r\nPORT 10,0,0,2,4,1\r\nLIST\r\n", CLIENT, "192.0.2.100", 1025,
	  "TYPE I\r\nPORT 192,0,2,100,4,1\r\nLIST\r\n" },
	{ "ftp_rewrite_eprt", "EPRT |1|10.0.0.2|5282|\r\n", CLIENT,
	  "192.0.2.100", 61000, "EPRT |1|192.0.2.100|61000|\r\n" },
	{ "ftp_rewrite_eprt_keeps_delim", "EPRT !1!10.0.0.2!5282!\r\n", CLIENT,
	  "192.0.2.100", 61000, "EPRT !1!192.0.2.100!61000!\r\n" },
	{ "ftp_rewrite_227", "227 Entering Passive Mode (10,0,0,5,19,137).\r\n",
	  SERVER, "203.0.113.7", 1, "227 Entering Passive Mode (203,0,113,7,0,1).\r\n" },
	{ "ftp_rewrite_229", "229 Entering Extended Passive Mode (|||6446|)\r\n",
	  SERVER, "203.0.113.7", 40000,
	  "229 Entering Extended Passive Mode (|||40000|)\r\n" },
	{ "ftp_rewrite_229_keeps_delim", "229 Entering (###6446#)\r\n",
	  SERVER, "203.0.113.7", 7, "229 Entering (###7#)\r\n" },
};

static void test_ftp_rewrite(void)
{
	size_t i;

	for (i = 0; i < sizeof(ftp_rewrites) / sizeof(ftp_rewrites[0]); i++) {
		const struct ftp_rewrite_case *c = &ftp_rewrites[i];
		size_t len = strlen(c->payload);
		__be32 addr = ip(c->new_addr);
		char buf[256], rep[FTP_FMT_MAX];
		struct ftp_match m, m2;
		long newlen;
		int n, r;

		memcpy(buf, c->payload, len);
		r = ftp_parse(buf, len, c->client, &m);
		if (r != ALG_MATCH) {
			fail(c->name, "parse: %s", result_name(r));
			continue;
		}
		n = ftp_format(&m, addr, c->new_port, rep, sizeof(rep));
		if (n <= 0) {
			fail(c->name, "format: %d", n);
			continue;
		}
		if (ftp_format(&m, addr, c->new_port, rep, (size_t)n - 1) != -1) {
			fail(c->name, "format into %d bytes did not fail", n - 1);
			continue;
		}
		newlen = alg_replace(buf, len, sizeof(buf), m.arg_off, m.arg_len,
				     rep, (size_t)n);
		if (newlen != (long)(len - m.arg_len + (size_t)n) ||
		    !span_is(buf, 0, (size_t)newlen, c->want)) {
			fail(c->name, "got \"%.*s\" (%ld bytes), want \"%s\"",
			     (int)(newlen > 0 ? newlen : 0), buf, newlen, c->want);
			continue;
		}
		r = ftp_parse(buf, (size_t)newlen, c->client, &m2);
		if (r != ALG_MATCH || m2.kind != m.kind || m2.arg_off != m.arg_off ||
		    m2.arg_len != (size_t)n || m2.port != c->new_port ||
		    m2.addr != (m.kind == FTP_229 ? 0 : addr)) {
			fail(c->name, "re-parse: %s kind %d %s:%u", result_name(r),
			     m2.kind, ipstr(m2.addr), m2.port);
			continue;
		}
		pass(c->name);
	}
}

static void test_alg_replace(void)
{
	char buf[16] = "abcdef";
	long r;

	r = alg_replace(buf, 6, sizeof(buf), 2, 2, "XYZW", 4);
	if (r != 8 || memcmp(buf, "abXYZWef", 8))
		return fail("alg_replace_grow", "got %ld \"%.8s\"", r, buf);
	pass("alg_replace_grow");

	r = alg_replace(buf, 8, sizeof(buf), 2, 4, "Q", 1);
	if (r != 5 || memcmp(buf, "abQef", 5))
		return fail("alg_replace_shrink", "got %ld \"%.5s\"", r, buf);
	pass("alg_replace_shrink");

	r = alg_replace(buf, 5, 6, 0, 1, "123", 3);
	if (r != -1 || memcmp(buf, "abQef", 5))
		return fail("alg_replace_no_room", "got %ld \"%.5s\"", r, buf);
	pass("alg_replace_no_room");

	r = alg_replace(buf, 5, sizeof(buf), 4, 2, "x", 1);
	if (r != -1)
		return fail("alg_replace_range_outside", "got %ld", r);
	pass("alg_replace_range_outside");
}

/* IRC DCC parser tables */

struct irc_want {
	enum irc_dcc_type type;
	const char *addr;	/* NULL: 0 (RESUME/ACCEPT) */
	__u16 port;
	const char *arg;
};

struct irc_case {
	const char *name;
	const char *payload;
	int max;		/* 0: 8 */
	int want;		/* count, or a negative alg_result */
	struct irc_want offers[3];
};

static const struct irc_case irc_cases[] = {
	{ "irc_chat", "PRIVMSG bob :\1DCC CHAT chat 167772162 5000\1\r\n", 0, 1,
	  { { DCC_CHAT, "10.0.0.2", 5000, "167772162 5000" } } },
	{ "irc_send", "PRIVMSG bob :\1DCC SEND file.txt 3232235777 5000 1234\1\r\n",
	  0, 1, { { DCC_SEND, "192.168.1.1", 5000, "3232235777 5000" } } },
	{ "irc_send_quoted_name",
	  "PRIVMSG bob :\1DCC SEND \"my file.txt\" 3232235777 5000 1234\1\r\n", 0, 1,
	  { { DCC_SEND, "192.168.1.1", 5000, "3232235777 5000" } } },
	{ "irc_send_quoted_empty_name",
	  "PRIVMSG bob :\1DCC SEND \"\" 3232235777 5000 1234\1\r\n", 0, 1,
	  { { DCC_SEND, "192.168.1.1", 5000, "3232235777 5000" } } },
	{ "irc_with_prefix",
	  ":alice!a@host PRIVMSG bob :\1DCC CHAT chat 167772162 5000\1\r\n", 0, 1,
	  { { DCC_CHAT, "10.0.0.2", 5000, "167772162 5000" } } },
	{ "irc_channel_target",
	  "PRIVMSG #chan :\1DCC CHAT chat 167772162 5000\1\r\n", 0, 1,
	  { { DCC_CHAT, "10.0.0.2", 5000, "167772162 5000" } } },
	{ "irc_lower_case", "privmsg bob :\1dcc send f 167772162 5000 10\1\r\n", 0, 1,
	  { { DCC_SEND, "10.0.0.2", 5000, "167772162 5000" } } },
	{ "irc_lf_only", "PRIVMSG bob :\1DCC CHAT chat 167772162 5000\1\n", 0, 1,
	  { { DCC_CHAT, "10.0.0.2", 5000, "167772162 5000" } } },
	{ "irc_move_tsend_schat",
	  "PRIVMSG b :\1DCC MOVE f 167772162 5001 1\1\r\n"
	  "PRIVMSG b :\1DCC TSEND f 167772162 5002 1\1\r\n"
	  "PRIVMSG b :\1DCC SCHAT chat 167772162 5003\1\r\n", 0, 3,
	  { { DCC_MOVE, "10.0.0.2", 5001, "167772162 5001" },
	    { DCC_TSEND, "10.0.0.2", 5002, "167772162 5002" },
	    { DCC_SCHAT, "10.0.0.2", 5003, "167772162 5003" } } },
	{ "irc_several_offers",
	  "PRIVMSG bob :\1DCC CHAT chat 167772162 5000\1\r\n"
	  "PRIVMSG #c :hello\r\n"
	  "PRIVMSG carol :\1DCC SEND \"a b\" 167772162 5001 77\1\r\n", 0, 2,
	  { { DCC_CHAT, "10.0.0.2", 5000, "167772162 5000" },
	    { DCC_SEND, "10.0.0.2", 5001, "167772162 5001" } } },
	{ "irc_max_offers",
	  "PRIVMSG b :\1DCC CHAT chat 1 1\1\r\n"
	  "PRIVMSG b :\1DCC CHAT chat 2 2\1\r\n"
	  "PRIVMSG b :\1DCC CHAT chat 3 3\1\r\n", 2, 2,
	  { { DCC_CHAT, "0.0.0.1", 1, "1 1" }, { DCC_CHAT, "0.0.0.2", 2, "2 2" } } },
	{ "irc_ip_max", "PRIVMSG bob :\1DCC CHAT chat 4294967295 5000\1\r\n", 0, 1,
	  { { DCC_CHAT, "255.255.255.255", 5000, "4294967295 5000" } } },
	/* Passive DCC: reported, the caller leaves it alone. */
	{ "irc_port_zero_passive",
	  "PRIVMSG bob :\1DCC SEND f 167772162 0 1234 77\1\r\n", 0, 1,
	  { { DCC_SEND, "10.0.0.2", 0, "167772162 0" } } },
	{ "irc_resume", "PRIVMSG alice :\1DCC RESUME file.txt 5000 1024\1\r\n", 0, 1,
	  { { DCC_RESUME, NULL, 5000, "5000" } } },
	{ "irc_accept_quoted",
	  "PRIVMSG bob :\1DCC ACCEPT \"my file.txt\" 5000 1024\1\r\n", 0, 1,
	  { { DCC_ACCEPT, NULL, 5000, "5000" } } },
	{ "irc_resume_from_server",
	  ":alice!a@h PRIVMSG bob :\1DCC RESUME f 40000 0\1\r\n", 0, 1,
	  { { DCC_RESUME, NULL, 40000, "40000" } } },
	{ "irc_resume_passive_token",
	  "PRIVMSG alice :\1DCC RESUME f 0 1024 99\1\r\n", 0, 1,
	  { { DCC_RESUME, NULL, 0, "0" } } },
	{ "irc_good_and_broken",
	  "PRIVMSG bob :\1DCC CHAT chat 99999999999 5000\1\r\n"
	  "PRIVMSG bob :\1DCC CHAT chat 167772162 5000\1\r\n", 0, 1,
	  { { DCC_CHAT, "10.0.0.2", 5000, "167772162 5000" } } },

	/* CVE-2022-2663: \1DCC that does not open a PRIVMSG's text. */
	{ "irc_dcc_inside_text", "PRIVMSG bob :hello \1DCC CHAT chat 167772162 5000\1\r\n",
	  0, .want = ALG_NO_MATCH },
	{ "irc_dcc_second_ctcp",
	  "PRIVMSG bob :\1ACTION x\1\1DCC CHAT chat 167772162 5000\1\r\n", 0,
	  .want = ALG_NO_MATCH },
	{ "irc_dcc_in_notice", "NOTICE bob :\1DCC CHAT chat 167772162 5000\1\r\n", 0,
	  .want = ALG_NO_MATCH },
	{ "irc_dcc_in_topic", "TOPIC #c :\1DCC CHAT chat 167772162 5000\1\r\n", 0,
	  .want = ALG_NO_MATCH },
	{ "irc_privmsg_not_at_line_start",
	  "PING :x PRIVMSG bob :\1DCC CHAT chat 167772162 5000\1\r\n", 0, .want = ALG_NO_MATCH },
	{ "irc_dcc_after_bare_cr",
	  "PING x\rPRIVMSG bob :\1DCC CHAT chat 167772162 5000\1\r\n", 0, .want = ALG_NO_MATCH },
	{ "irc_privmsg_text_without_colon",
	  "PRIVMSG bob \1DCC CHAT chat 167772162 5000\1\r\n", 0, .want = ALG_NO_MATCH },
	{ "irc_other_ctcp", "PRIVMSG bob :\1ACTION waves\1\r\n", 0, .want = ALG_NO_MATCH },
	{ "irc_unknown_dcc_type", "PRIVMSG bob :\1DCC VOICE x 167772162 5000\1\r\n", 0,
	  .want = ALG_NO_MATCH },
	{ "irc_plain_chat", "NICK bob\r\nPRIVMSG #c :hi there\r\n", 0, .want = ALG_NO_MATCH },
	{ "irc_empty", "", 0, .want = ALG_NO_MATCH },

	{ "irc_ip_too_big", "PRIVMSG bob :\1DCC CHAT chat 4294967296 5000\1\r\n", 0,
	  .want = ALG_MALFORMED },
	{ "irc_ip_dotted", "PRIVMSG bob :\1DCC CHAT chat 10.0.0.2 5000\1\r\n", 0,
	  .want = ALG_MALFORMED },
	{ "irc_port_65536", "PRIVMSG bob :\1DCC CHAT chat 167772162 65536\1\r\n", 0,
	  .want = ALG_MALFORMED },
	{ "irc_missing_ctcp_end", "PRIVMSG bob :\1DCC CHAT chat 167772162 5000\r\n", 0,
	  .want = ALG_MALFORMED },
	{ "irc_missing_port", "PRIVMSG bob :\1DCC CHAT chat 167772162\1\r\n", 0,
	  .want = ALG_MALFORMED },
	{ "irc_unquoted_spaces", "PRIVMSG bob :\1DCC SEND my file.txt 1 2 3\1\r\n", 0,
	  .want = ALG_MALFORMED },
	{ "irc_unclosed_quote", "PRIVMSG bob :\1DCC SEND \"my file 1 2 3\1\r\n", 0,
	  .want = ALG_MALFORMED },
	{ "irc_resume_missing_position", "PRIVMSG a :\1DCC RESUME f 5000\1\r\n", 0,
	  .want = ALG_MALFORMED },
	{ "irc_split_in_ip", "PRIVMSG bob :\1DCC CHAT chat 16777", 0, .want = ALG_PARTIAL },
	{ "irc_split_before_crlf", "PRIVMSG bob :\1DCC CHAT chat 167772162 5000\1", 0,
	  .want = ALG_PARTIAL },
	{ "irc_split_in_keyword", "NICK b\r\nPRIVM", 0, .want = ALG_PARTIAL },
	{ "irc_split_after_offer",
	  "PRIVMSG bob :\1DCC CHAT chat 167772162 5000\1\r\nPRIVMSG bob :\1DC", 0,
	  .want = ALG_PARTIAL },
	{ "irc_split_plain_text", "PRIVMSG bob :hello wor", 0, .want = ALG_NO_MATCH },
};

static void test_irc_parse(void)
{
	size_t i;

	for (i = 0; i < sizeof(irc_cases) / sizeof(irc_cases[0]); i++) {
		const struct irc_case *c = &irc_cases[i];
		struct irc_dcc out[8];
		int r, k;

		memset(out, 0xa5, sizeof(out));
		r = irc_parse(c->payload, strlen(c->payload), out, c->max ? c->max : 8);
		if (r != c->want) {
			fail(c->name, "got %d (%s), want %d (%s)", r, result_name(r),
			     c->want, result_name(c->want));
			continue;
		}
		for (k = 0; k < r; k++) {
			const struct irc_want *w = &c->offers[k];
			__be32 want_addr = w->addr ? ip(w->addr) : 0;

			if (out[k].type != w->type || out[k].addr != want_addr ||
			    out[k].port != w->port) {
				fail(c->name, "offer %d: type %d %s:%u, want type %d %s:%u",
				     k, out[k].type, ipstr(out[k].addr), out[k].port,
				     w->type, ipstr(want_addr), w->port);
				break;
			}
			if (!span_is(c->payload, out[k].arg_off, out[k].arg_len, w->arg)) {
				fail(c->name, "offer %d argument \"%.*s\", want \"%s\"", k,
				     (int)out[k].arg_len, c->payload + out[k].arg_off,
				     w->arg);
				break;
			}
		}
		if (k == (r > 0 ? r : 0))
			pass(c->name);
	}
}

/* IRC rewrite round trips: every offer rewritten, back to front */

struct irc_rewrite_case {
	const char *name;
	const char *payload;
	const char *new_addr;
	__u16 new_port;		/* offer k gets new_port + k */
	const char *want;
};

static const struct irc_rewrite_case irc_rewrites[] = {
	{ "irc_rewrite_chat", "PRIVMSG bob :\1DCC CHAT chat 167772162 5000\1\r\n",
	  "192.0.2.100", 40000,
	  "PRIVMSG bob :\1DCC CHAT chat 3221226084 40000\1\r\n" },
	{ "irc_rewrite_send_quoted",
	  "PRIVMSG bob :\1DCC SEND \"my file.txt\" 3232235777 5000 1234\1\r\n",
	  "1.2.3.4", 1,
	  "PRIVMSG bob :\1DCC SEND \"my file.txt\" 16909060 1 1234\1\r\n" },
	{ "irc_rewrite_several",
	  "PRIVMSG bob :\1DCC CHAT chat 167772162 5000\1\r\n"
	  "PRIVMSG #c :hello\r\n"
	  "PRIVMSG carol :\1DCC SEND f 167772162 5001 77\1\r\n",
	  "192.0.2.100", 40000,
	  "PRIVMSG bob :\1DCC CHAT chat 3221226084 40000\1\r\n"
	  "PRIVMSG #c :hello\r\n"
	  "PRIVMSG carol :\1DCC SEND f 3221226084 40001 77\1\r\n" },
	{ "irc_rewrite_resume", ":alice!a@h PRIVMSG bob :\1DCC RESUME f 40000 512\1\r\n",
	  "192.0.2.100", 5000,
	  ":alice!a@h PRIVMSG bob :\1DCC RESUME f 5000 512\1\r\n" },
};

static void test_irc_rewrite(void)
{
	size_t i;

	for (i = 0; i < sizeof(irc_rewrites) / sizeof(irc_rewrites[0]); i++) {
		const struct irc_rewrite_case *c = &irc_rewrites[i];
		struct irc_dcc out[8], again[8];
		__be32 addr = ip(c->new_addr);
		size_t len = strlen(c->payload);
		char buf[512], rep[IRC_FMT_MAX];
		long newlen = (long)len;
		int n, k, r, ok = 1;

		memcpy(buf, c->payload, len);
		n = irc_parse(buf, len, out, 8);
		if (n <= 0) {
			fail(c->name, "parse: %d", n);
			continue;
		}
		for (k = n - 1; k >= 0 && ok; k--) {
			r = irc_format(&out[k], addr, (__u16)(c->new_port + k), rep,
				       sizeof(rep));
			if (r <= 0 || irc_format(&out[k], addr, (__u16)(c->new_port + k),
						 rep, (size_t)r - 1) != -1) {
				fail(c->name, "format offer %d: %d", k, r);
				ok = 0;
				break;
			}
			newlen = alg_replace(buf, (size_t)newlen, sizeof(buf),
					     out[k].arg_off, out[k].arg_len, rep,
					     (size_t)r);
			if (newlen < 0) {
				fail(c->name, "replace offer %d failed", k);
				ok = 0;
			}
		}
		if (!ok)
			continue;
		if (!span_is(buf, 0, (size_t)newlen, c->want)) {
			fail(c->name, "got \"%.*s\"", (int)newlen, buf);
			continue;
		}
		r = irc_parse(buf, (size_t)newlen, again, 8);
		if (r != n) {
			fail(c->name, "re-parse found %d offers, want %d", r, n);
			continue;
		}
		for (k = 0; k < n; k++) {
			__be32 want_addr = irc_dcc_has_addr(out[k].type) ? addr : 0;

			if (again[k].type != out[k].type || again[k].addr != want_addr ||
			    again[k].port != (__u16)(c->new_port + k)) {
				fail(c->name, "re-parse offer %d: %s:%u", k,
				     ipstr(again[k].addr), again[k].port);
				break;
			}
		}
		if (k == n)
			pass(c->name);
	}
}

static void test_forged_helpers(void)
{
	struct ftp_match m = { .kind = FTP_PORT, .addr = ip("10.0.0.2") };
	struct irc_dcc d = { .type = DCC_CHAT, .addr = ip("10.0.0.2") };

	if (ftp_match_forged(&m, ip("10.0.0.2")) || !ftp_match_forged(&m, ip("10.0.0.3")))
		fail("ftp_forged_helper", "PORT address check wrong");
	else
		pass("ftp_forged_helper");
	m.kind = FTP_229;
	m.addr = 0;
	if (ftp_match_forged(&m, ip("10.0.0.3")))
		fail("ftp_forged_helper_229", "229 carries no address");
	else
		pass("ftp_forged_helper_229");
	if (irc_dcc_forged(&d, ip("10.0.0.2")) || !irc_dcc_forged(&d, ip("10.0.0.3")))
		fail("irc_forged_helper", "CHAT address check wrong");
	else
		pass("irc_forged_helper");
	d.type = DCC_RESUME;
	d.addr = 0;
	if (irc_dcc_forged(&d, ip("10.0.0.3")))
		fail("irc_forged_helper_resume", "RESUME carries no address");
	else
		pass("irc_forged_helper_resume");
}

/*
 * Sequence adjustment: each case starts from a zero state for one
 * direction (A) and runs steps in order.  'r' records a rewrite of the
 * segment at in by delta (want: 1 if the state must change); 's' maps a
 * SEQ of A; 'a' maps an ACK (or SACK edge) sent by B that acknowledges A.
 */
struct seq_step {
	char op;
	__u32 in;
	__s32 delta;
	__u32 want;
};

struct seq_case {
	const char *name;
	struct seq_step steps[12];
};

static const struct seq_case seq_cases[] = {
	{ "seqadj_no_rewrite", {
		{ 's', 1000, 0, 1000 }, { 'a', 1000, 0, 1000 },
		{ 's', 0xffffffff, 0, 0xffffffff } } },
	/* Segment [1000, 1020) grew to 25 bytes. */
	{ "seqadj_before_at_after", {
		{ 'r', 1000, 5, 1 },
		{ 's', 900, 0, 900 },	/* before: untouched */
		{ 's', 1000, 0, 1000 },	/* the rewritten segment itself */
		{ 's', 1020, 0, 1025 },	/* after */
		{ 's', 5000, 0, 5005 },
		{ 'a', 900, 0, 900 },
		{ 'a', 1000, 0, 1000 },	/* acks everything before it */
		{ 'a', 1025, 0, 1020 },	/* acks the rewritten segment */
		{ 'a', 5005, 0, 5000 } } },
	{ "seqadj_retransmission_of_rewritten_segment", {
		{ 'r', 1000, 5, 1 },
		{ 'r', 1000, 5, 0 },	/* the identical rewrite again */
		{ 's', 1000, 0, 1000 },
		{ 's', 1020, 0, 1025 },
		{ 'r', 1000, 5, 0 },
		{ 'a', 1025, 0, 1020 } } },
	{ "seqadj_retransmission_before_point", {
		{ 'r', 1000, 5, 1 },
		{ 'r', 900, 3, 0 },	/* older than the point: already counted */
		{ 's', 900, 0, 900 },
		{ 's', 1020, 0, 1025 } } },
	{ "seqadj_zero_delta", {
		{ 'r', 1000, 0, 0 },
		{ 's', 1020, 0, 1020 } } },
	/* [1000, 1020) +5, then [1100, 1120) +5 more. */
	{ "seqadj_two_rewrites", {
		{ 'r', 1000, 5, 1 },
		{ 'r', 1100, 5, 1 },
		{ 's', 1050, 0, 1055 },
		{ 's', 1100, 0, 1105 },	/* second rewritten segment */
		{ 's', 1200, 0, 1210 },
		{ 'r', 1100, 5, 0 },	/* its retransmission */
		{ 's', 1100, 0, 1105 },
		{ 'a', 1025, 0, 1020 },
		{ 'a', 1105, 0, 1100 },
		{ 'a', 1130, 0, 1120 },
		{ 'a', 1210, 0, 1200 } } },
	/* Linux's one-point model: once a later rewrite moved the point, a
	 * retransmission before the first one gets the wrong offset.  Kept
	 * as the model, because the fast path must do exactly this. */
	{ "seqadj_one_point_like_linux", {
		{ 'r', 1000, 5, 1 },
		{ 'r', 1100, 5, 1 },
		{ 's', 1000, 0, 1005 } } },
	/* [1000, 1030) shrank to 26 bytes. */
	{ "seqadj_shrink", {
		{ 'r', 1000, -4, 1 },
		{ 's', 1000, 0, 1000 },
		{ 's', 1030, 0, 1026 },
		{ 'a', 1000, 0, 1000 },
		{ 'a', 1026, 0, 1030 } } },
	{ "seqadj_grow_then_shrink", {
		{ 'r', 1000, 5, 1 },
		{ 'r', 2000, -5, 1 },
		{ 's', 1500, 0, 1505 },
		{ 's', 2000, 0, 2005 },
		{ 's', 2100, 0, 2100 },
		{ 'a', 2005, 0, 2000 },
		{ 'a', 2100, 0, 2100 } } },
	/* The rewritten segment just before the 32-bit wrap. */
	{ "seqadj_wrap_point_near_max", {
		{ 'r', 0xfffffff0, 6, 1 },
		{ 's', 0xffffffe0, 0, 0xffffffe0 },
		{ 's', 0xfffffff0, 0, 0xfffffff0 },
		{ 's', 0xfffffffa, 0, 0x00000000 },	/* wraps when shifted */
		{ 's', 0x00000010, 0, 0x00000016 },	/* after, across the wrap */
		{ 'a', 0xfffffff0, 0, 0xfffffff0 },
		{ 'a', 0x00000000, 0, 0xfffffffa },
		{ 'a', 0x00000016, 0, 0x00000010 } } },
	{ "seqadj_wrap_second_rewrite_after_zero", {
		{ 'r', 0xfffffffc, 10, 1 },
		{ 'r', 0x00000008, 10, 1 },	/* after the point, across the wrap */
		{ 'r', 0xfffffffc, 10, 0 },	/* a retransmission of the first */
		{ 's', 0x00000008, 0, 0x00000012 },
		{ 's', 0x00000020, 0, 0x00000034 },
		{ 'a', 0x00000012, 0, 0x00000008 },
		{ 'a', 0x00000034, 0, 0x00000020 } } },
	{ "seqadj_wrap_shrink_below_zero", {
		{ 'r', 0x00000002, -8, 1 },
		{ 's', 0x00000010, 0, 0x00000008 },
		{ 's', 0xfffffff0, 0, 0xfffffff0 },
		{ 'a', 0x00000008, 0, 0x00000010 } } },
	/* No pending correction: the first rewrite counts wherever it is. */
	{ "seqadj_first_rewrite_any_seq", {
		{ 'r', 0x90000000, 5, 1 },
		{ 's', 0x90000010, 0, 0x90000015 },
		{ 's', 0x8fffffff, 0, 0x8fffffff } } },
};

static void test_seqadj(void)
{
	size_t i, k;

	for (i = 0; i < sizeof(seq_cases) / sizeof(seq_cases[0]); i++) {
		const struct seq_case *c = &seq_cases[i];
		struct seqadj_dir d = { 0 };
		bool ok = true;

		for (k = 0; k < 12 && c->steps[k].op && ok; k++) {
			const struct seq_step *s = &c->steps[k];
			__u32 got;

			switch (s->op) {
			case 'r':
				got = seqadj_record(&d, s->in, s->delta);
				break;
			case 's':
				got = seqadj_seq(&d, s->in);
				break;
			default:
				got = seqadj_ack(&d, s->in);
				break;
			}
			if (got != s->want) {
				fail(c->name, "step %zu '%c' %#x (delta %d): got %#x, want %#x",
				     k, s->op, s->in, s->delta, got, s->want);
				ok = false;
			}
		}
		if (ok)
			pass(c->name);
	}
}

/*
 * The TCP checksum of a segment, by the book (RFC 793: the pseudo-header
 * laid out in memory, then the segment, 16-bit words summed in 32 bits),
 * so the controller's helpers are checked against something they do not
 * share.  with_field: sum the checksum field as it is (the verification
 * sum, 0xffff when right) rather than as zero.
 */
static __u16 ref_sum(const __u8 *pkt, size_t len, bool pseudo_only,
		     bool with_field)
{
	__u8 buf[12 + 1600] = { 0 };
	size_t ihl = (pkt[0] & 0xf) * 4, tl = len - ihl, n = 12;
	__u32 sum = 0;

	memcpy(buf, pkt + 12, 8);
	buf[9] = IPPROTO_TCP;
	buf[10] = tl >> 8;
	buf[11] = tl & 0xff;
	if (!pseudo_only) {
		memcpy(buf + 12, pkt + ihl, tl);
		if (!with_field)
			buf[12 + 16] = buf[12 + 17] = 0;
		n += tl;
	}
	for (size_t i = 0; i < n; i += 2)
		sum += buf[i] << 8 | buf[i + 1];
	while (sum > 0xffff)
		sum = (sum & 0xffff) + (sum >> 16);
	return sum;
}

/* An IPv4 TCP segment (timestamps option) from src to dst with text. */
static size_t csum_segment(__u8 *pkt, __be32 src, __be32 dst, const char *text)
{
	static const __u8 hdr[52] = {
		0x45, 0, 0, 0, 0x12, 0x34, 0x40, 0, 64, IPPROTO_TCP, 0, 0,
		0, 0, 0, 0, 0, 0, 0, 0,
		0xb7, 0x4a, 0x1a, 0x0b, 0x96, 0xd3, 0x1c, 0x23,
		0x9d, 0x37, 0x6c, 0xba, 0x80, 0x18, 0x00, 0x3e, 0, 0, 0, 0,
		1, 1, 8, 10, 0x19, 0xf6, 0x9e, 0x5c, 0x7e, 0xd9, 0x38, 0x9b,
	};
	size_t len = sizeof(hdr) + strlen(text);

	memcpy(pkt, hdr, sizeof(hdr));
	memcpy(pkt + 12, &src, 4);
	memcpy(pkt + 16, &dst, 4);
	memcpy(pkt + sizeof(hdr), text, strlen(text));
	pkt[2] = len >> 8;
	pkt[3] = len & 0xff;
	return len;
}

static void set_field(__u8 *pkt, __u16 v)
{
	pkt[20 + 16] = v >> 8;
	pkt[20 + 17] = v & 0xff;
}

static __u16 get_field(const __u8 *pkt)
{
	return pkt[20 + 16] << 8 | pkt[20 + 17];
}

/*
 * A segment the controller sends on must leave with a complete checksum
 * whatever its field held on arrival: complete, or partial (a sender with
 * TX offload), odd payload lengths included; a damaged one is recognised
 * as such.
 */
static void test_tcp_csum(void)
{
	static const char *const texts[] = {
		"PRIVMSG outside :\001DCC SEND a.bin 167772419 5001 100\001\r\n",
		"PORT 10,0,1,3,19,137\r\n",	/* odd length */
		"",
	};
	__u8 pkt[1600];

	for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
		size_t len = csum_segment(pkt, ip("10.0.3.2"),
					  ip("198.51.100.1"), texts[i]);
		__u16 full, partial;
		char name[40];

		full = ~ref_sum(pkt, len, false, false) & 0xffff;
		partial = ref_sum(pkt, len, true, false);

		snprintf(name, sizeof(name), "tcp_csum_complete_%zu", i);
		set_field(pkt, full);
		if (tcp_csum_state(pkt, 20, len) != TCP_CSUM_COMPLETE ||
		    ref_sum(pkt, len, false, true) != 0xffff)
			fail(name, "a complete checksum %04x not recognised", full);
		else
			pass(name);

		snprintf(name, sizeof(name), "tcp_csum_partial_%zu", i);
		set_field(pkt, partial);
		if (tcp_csum_state(pkt, 20, len) != TCP_CSUM_PARTIAL)
			fail(name, "a partial checksum %04x not recognised",
			     partial);
		else
			pass(name);

		snprintf(name, sizeof(name), "tcp_csum_completed_%zu", i);
		tcp_csum_set(pkt, 20, len);
		if (get_field(pkt) != full)
			fail(name, "partial %04x became %04x, want %04x",
			     partial, get_field(pkt), full);
		else
			pass(name);

		snprintf(name, sizeof(name), "tcp_csum_damaged_%zu", i);
		pkt[len - 1] ^= 0x10;	/* a bit flipped on the way */
		if (tcp_csum_state(pkt, 20, len) != TCP_CSUM_BAD)
			fail(name, "a damaged segment passed as sound");
		else
			pass(name);
	}

	/* A pseudo-header that sums to 0xffff: a partial field of 0x0000
	 * or 0xffff is the same number. */
	{
		size_t len = csum_segment(pkt, 0, ip("198.51.100.1"), "x");
		__u16 rest = ref_sum(pkt, len, true, false);
		__be32 src = htonl(0xffff - rest);
		bool ok;

		memcpy(pkt + 12, &src, 4);
		ok = ref_sum(pkt, len, true, false) == 0xffff;
		set_field(pkt, 0);
		ok = ok && tcp_csum_state(pkt, 20, len) == TCP_CSUM_PARTIAL;
		set_field(pkt, 0xffff);
		ok = ok && tcp_csum_state(pkt, 20, len) == TCP_CSUM_PARTIAL;
		if (ok)
			pass("tcp_csum_partial_zero_is_ffff");
		else
			fail("tcp_csum_partial_zero_is_ffff",
			     "a partial field of 0 or 0xffff not recognised");
	}
}

/* The groups -t can name. */
static const struct {
	const char *name;
	void (*run)(void);
} groups[] = {
	{ "ftp-parse", test_ftp_parse },
	{ "ftp-rewrite", test_ftp_rewrite },
	{ "alg-replace", test_alg_replace },
	{ "irc-parse", test_irc_parse },
	{ "irc-rewrite", test_irc_rewrite },
	{ "forged", test_forged_helpers },
	{ "seqadj", test_seqadj },
	{ "tcp-csum", test_tcp_csum },
};

int main(int argc, char **argv)
{
	harness_init(argc, argv,
		     "  NAME: ftp-parse, ftp-rewrite, alg-replace, irc-parse,\n"
		     "  irc-rewrite, forged, seqadj, tcp-csum\n");
	for (size_t i = 0; i < ARRAY_LEN(groups); i++)
		if (test_selected(groups[i].name))
			groups[i].run();
	return harness_exit();
}
