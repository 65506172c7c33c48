/* SPDX-License-Identifier: GPL-2.0 */
/* Output modes, errors and the small parsers every command shares. */
#ifndef BPFMASQ_UTIL_H
#define BPFMASQ_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <linux/types.h>
#include "inet_csum.h"
#include "json.h"

extern bool json_output;
extern bool pretty_output;
extern bool debug_output;
extern struct json jw;		/* stdout, valid when json_output */

/* One line to stderr ("Error: ..."), or {"error": ...} in JSON mode. */
void p_err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Where the errors that follow come from ("FILE:LINE"), put in front of
 * each message; NULL again when done. */
void p_err_where(const char *where);
void p_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* External ports, host order, lo <= hi. */
struct port_range {
	__u16 lo, hi;
};

/* ADDR/LEN, the length required; what names the option in errors. */
int parse_cidr(const char *what, const char *s, __be32 *addr, __u32 *prefixlen);
int parse_port_range(const char *what, const char *s, __u16 *lo, __u16 *hi);
int parse_u32(const char *what, const char *s, __u32 min, __u32 max, __u32 *out);
/*
 * A comma-separated list of names (case ignored) into a mask: bit i for
 * the word name_of(i) returns, i from first up to end (name_of may return
 * NULL for a number that is no choice).  -1, with no message (the caller
 * knows the option), for an empty or overlong list or a word that names
 * nothing.
 */
int parse_name_list(const char *s, const char *(*name_of)(int i), int first,
		    int end, __u32 *mask);

/* The interface's primary IPv4 address, or 0 when it has none. */
__be32 if_primary_ipv4(const char *ifname);
/* addr is one of ifname's IPv4 addresses. */
bool if_has_ipv4(const char *ifname, __be32 addr);
struct ext_spec;
/* The address new connections masquerade as: the first of the --external
 * pool[0..n) on the WAN, or without a pool the WAN's primary one (0:
 * none). */
__be32 wan_external(const char *ifname, const struct ext_spec *pool, int n);

/* "a.b.c.d:port" into buf (at least 22 bytes). */
char *fmt_endpoint(char *buf, __be32 addr, __be16 port);
char *fmt_addr(char *buf, __be32 addr);

/* A socket to send whole IPv4 packets (we write the IP header) with skb
 * mark `mark` (0: none); -1 with errno. */
int raw_ip_socket(int mark);

/* Make sure `dir` is a bpffs, mounting one there if it is not. */
int ensure_bpffs(const char *dir);

/* CLOCK_MONOTONIC_COARSE, the clock bpf_ktime_get_coarse_ns() reads. */
uint64_t now_coarse_ns(void);

/* How long before now a data-plane stamp was made.  The data plane keeps
 * stamping after the controller read now, so a stamp may be newer: that
 * is age 0, not 584 years. */
static inline uint64_t age_ns(uint64_t stamp, uint64_t now)
{
	return now > stamp ? now - stamp : 0;
}

#endif
