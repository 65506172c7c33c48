// SPDX-License-Identifier: GPL-2.0
/*
 * libFuzzer target for the IRC DCC ALG parser.  Any input; every offer
 * found is rewritten (back to front, as the controller does) and the
 * result must parse back to the same offers with the new endpoints, with
 * nothing else in the payload changed.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>

#include "alg_irc.h"
#include "fuzz_input.h"

#define MAX_OFFERS 16

static __u32 hash(const uint8_t *data, size_t size)
{
	__u32 h = 2166136261u;
	size_t i;

	for (i = 0; i < size; i++)
		h = (h ^ data[i]) * 16777619u;
	return h;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char buf[MAX_INPUT + MAX_OFFERS * IRC_FMT_MAX];
	struct irc_dcc out[MAX_OFFERS], again[MAX_OFFERS];
	__u16 ports[MAX_OFFERS];
	char rep[IRC_FMT_MAX];
	__be32 addr;
	long newlen;
	int n, k, r, max;
	__u32 h;
	char *p = fuzz_input(data, size);

	if (!p)
		return 0;
	h = hash(data, size);
	addr = htonl(h * 2654435761u);
	/* A small max now and then exercises the truncation. */
	max = h % 7 == 0 ? 1 + (int)(h % 3) : MAX_OFFERS;

	n = irc_parse(p, size, out, max);
	CHECK(n >= ALG_PARTIAL && n <= max);
	if (n <= 0)
		goto out;

	for (k = 0; k < n; k++) {
		CHECK(out[k].type >= DCC_CHAT && out[k].type <= DCC_ACCEPT);
		CHECK(out[k].arg_off <= size && out[k].arg_len > 0 &&
		      out[k].arg_len <= size - out[k].arg_off);
		if (!irc_dcc_has_addr(out[k].type))
			CHECK(out[k].addr == 0);
		/* In payload order, never overlapping. */
		if (k > 0)
			CHECK(out[k].arg_off >=
			      out[k - 1].arg_off + out[k - 1].arg_len);
		ports[k] = (__u16)(h >> (k % 16));
	}

	memcpy(buf, p, size);
	newlen = (long)size;
	for (k = n - 1; k >= 0; k--) {
		r = irc_format(&out[k], addr, ports[k], rep, sizeof(rep));
		CHECK(r > 0 && r <= IRC_FMT_MAX);
		CHECK(irc_format(&out[k], addr, ports[k], rep,
				 (size_t)r - 1) == -1);
		newlen = alg_replace(buf, (size_t)newlen, sizeof(buf),
				     out[k].arg_off, out[k].arg_len, rep,
				     (size_t)r);
		CHECK(newlen >= 0);
	}
	/* Untouched before the first offer and after the last. */
	CHECK(!memcmp(buf, p, out[0].arg_off));
	{
		size_t tail = size - out[n - 1].arg_off - out[n - 1].arg_len;

		CHECK(!memcmp(buf + newlen - (long)tail, p + size - tail,
			      tail));
	}

	r = irc_parse(buf, (size_t)newlen, again, max);
	CHECK(r == n);
	for (k = 0; k < n; k++) {
		CHECK(again[k].type == out[k].type);
		CHECK(again[k].port == ports[k]);
		CHECK(again[k].addr ==
		      (irc_dcc_has_addr(out[k].type) ? addr : 0));
	}
out:
	free(p);
	return 0;
}
