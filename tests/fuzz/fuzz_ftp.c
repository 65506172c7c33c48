// SPDX-License-Identifier: GPL-2.0
/*
 * libFuzzer target for the FTP ALG parser.  Any input, both directions;
 * for every match, rewrite it the way the controller does and check that
 * the result parses back to exactly the new endpoint, with the rest of
 * the payload untouched.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>

#include "alg_ftp.h"
#include "fuzz_input.h"

/* A new endpoint derived from the input, so the fuzzer explores lengths. */
static void pick_endpoint(const uint8_t *data, size_t size, __be32 *addr,
			  __u16 *port)
{
	__u32 h = 2166136261u;
	size_t i;

	for (i = 0; i < size; i++)
		h = (h ^ data[i]) * 16777619u;
	*addr = htonl(h);
	*port = (__u16)(h % 65535 + 1);
}

static void check_direction(const char *p, size_t len, bool dir_client,
			    __be32 addr, __u16 port)
{
	static char buf[MAX_INPUT + FTP_FMT_MAX];
	char rep[FTP_FMT_MAX];
	struct ftp_match m, m2;
	size_t end;
	long newlen;
	int r, n;

	r = ftp_parse(p, len, dir_client, &m);
	CHECK(r == ALG_MATCH || r == ALG_NO_MATCH || r == ALG_MALFORMED ||
	      r == ALG_PARTIAL);
	if (r != ALG_MATCH)
		return;

	CHECK(m.arg_off <= len && m.arg_len > 0 &&
	      m.arg_len <= len - m.arg_off);
	CHECK(m.port != 0);
	CHECK(dir_client ? (m.kind == FTP_PORT || m.kind == FTP_EPRT) :
			   (m.kind == FTP_227 || m.kind == FTP_229));
	if (m.kind == FTP_229)
		CHECK(m.addr == 0);
	/* The argument was whole: its line ends right after it, or later. */
	end = m.arg_off + m.arg_len;
	CHECK(end < len);

	/* Formatting the announced endpoint gives back a parseable argument
	 * of the same kind; formatting into too small a buffer fails. */
	n = ftp_format(&m, addr, port, rep, sizeof(rep));
	CHECK(n > 0 && n <= FTP_FMT_MAX);
	CHECK(ftp_format(&m, addr, port, rep, (size_t)n - 1) == -1);

	memcpy(buf, p, len);
	newlen = alg_replace(buf, len, sizeof(buf), m.arg_off, m.arg_len, rep,
			     (size_t)n);
	CHECK(newlen == (long)(len - m.arg_len + (size_t)n));
	CHECK(!memcmp(buf, p, m.arg_off));
	CHECK(!memcmp(buf + m.arg_off + n, p + end, len - end));

	r = ftp_parse(buf, (size_t)newlen, dir_client, &m2);
	CHECK(r == ALG_MATCH);
	CHECK(m2.kind == m.kind && m2.arg_off == m.arg_off &&
	      m2.arg_len == (size_t)n && m2.port == port);
	CHECK(m2.addr == (m.kind == FTP_229 ? 0 : addr));
	if (m.kind == FTP_EPRT || m.kind == FTP_229)
		CHECK(m2.delim == m.delim);

	/* The documented way to look for another command in the segment. */
	r = ftp_parse(p + end, len - end, dir_client, &m2);
	CHECK(r == ALG_MATCH || r == ALG_NO_MATCH || r == ALG_MALFORMED ||
	      r == ALG_PARTIAL);
	if (r == ALG_MATCH)
		CHECK(m2.arg_off > 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	__be32 addr;
	__u16 port;
	char *p = fuzz_input(data, size);

	if (!p)
		return 0;
	pick_endpoint(data, size, &addr, &port);
	check_direction(p, size, true, addr, port);
	check_direction(p, size, false, addr, port);
	free(p);
	return 0;
}
