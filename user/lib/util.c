// SPDX-License-Identifier: GPL-2.0
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <ifaddrs.h>
#include <limits.h>
#include <net/if.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <strings.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <time.h>
#include <linux/magic.h>
#include "extpool.h"
#include "util.h"

bool json_output;
bool pretty_output;
bool debug_output;
struct json jw;
static const char *err_where;

void p_err_where(const char *where)
{
	err_where = where;
}

void p_err(const char *fmt, ...)
{
	char msg[1024];
	va_list ap;
	int n = 0;

	if (err_where) {
		n = snprintf(msg, sizeof(msg), "%s: ", err_where);
		if (n >= (int)sizeof(msg) / 2)
			n = sizeof(msg) / 2;
	}
	va_start(ap, fmt);
	vsnprintf(msg + n, sizeof(msg) - n, fmt, ap);
	va_end(ap);
	if (json_output) {
		struct json ej;

		jw_init(&ej, stdout, pretty_output);
		jw_start_object(&ej);
		jw_kv_string(&ej, "error", msg);
		jw_end_object(&ej);
		jw_finish(&ej);
	} else {
		fprintf(stderr, "Error: %s\n", msg);
	}
}

void p_debug(const char *fmt, ...)
{
	va_list ap;

	if (!debug_output)
		return;
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

int parse_u32(const char *what, const char *s, __u32 min, __u32 max, __u32 *out)
{
	unsigned long v;
	char *end;

	/* strtoul() would take " 5", "+5" and "-5" too. */
	errno = 0;
	v = strtoul(s, &end, 10);
	if (!isdigit((unsigned char)s[0]) || *end || errno || v < min ||
	    v > max) {
		p_err("bad %s '%s': expected a number from %u to %u", what, s,
		      min, max);
		return -1;
	}
	*out = v;
	return 0;
}

int parse_name_list(const char *s, const char *(*name_of)(int i), int first,
		    int end, __u32 *mask)
{
	char buf[256], *tok, *save;

	*mask = 0;
	if (!*s || strlen(s) >= sizeof(buf))
		return -1;
	strcpy(buf, s);
	for (tok = strtok_r(buf, ",", &save); tok;
	     tok = strtok_r(NULL, ",", &save)) {
		const char *name;
		int i;

		for (i = first; i < end; i++) {
			name = name_of(i);
			if (name && !strcasecmp(tok, name))
				break;
		}
		if (i == end)
			return -1;
		*mask |= 1U << i;
	}
	return 0;
}

int parse_cidr(const char *what, const char *s, __be32 *addr, __u32 *prefixlen)
{
	char buf[64], *slash;
	struct in_addr in;
	unsigned int plen;
	char tail;

	if (strlen(s) >= sizeof(buf))
		goto bad;
	strcpy(buf, s);
	slash = strchr(buf, '/');
	if (slash)
		*slash = '\0';
	if (inet_pton(AF_INET, buf, &in) != 1)
		goto bad;
	/* "10.0.0.0" alone almost surely meant a /8 or a /24: taking it as
	 * one host would leave the rest untranslated. */
	if (!slash) {
		p_err("bad %s '%s': give the prefix length, like %s/24 (or %s/32 for the one host)",
		      what, s, s, s);
		return -1;
	}
	/* parse_u32() would name the length alone, not the option. */
	if (!isdigit((unsigned char)slash[1]) ||
	    sscanf(slash + 1, "%u%c", &plen, &tail) != 1 || plen > 32) {
		p_err("bad %s '%s': the prefix length must be a number from 0 to 32",
		      what, s);
		return -1;
	}
	*addr = in.s_addr;
	*prefixlen = plen;
	return 0;
bad:
	p_err("bad %s '%s': expected an IPv4 prefix like 10.0.0.0/8", what, s);
	return -1;
}

int parse_port_range(const char *what, const char *s, __u16 *lo, __u16 *hi)
{
	unsigned int a, b;
	char tail;

	if (sscanf(s, "%u-%u%c", &a, &b, &tail) != 2 || a < 1 || b > 65535 ||
	    a > b) {
		p_err("bad %s '%s': expected LO-HI with 1 <= LO <= HI <= 65535",
		      what, s);
		return -1;
	}
	*lo = a;
	*hi = b;
	return 0;
}

__be32 if_primary_ipv4(const char *ifname)
{
	struct ifaddrs *ifa, *it;
	__be32 addr = 0;

	if (getifaddrs(&ifa))
		return 0;
	/* The kernel dumps a device's primary address before its
	 * secondaries, and getifaddrs keeps that order. */
	for (it = ifa; it; it = it->ifa_next) {
		if (!it->ifa_addr || it->ifa_addr->sa_family != AF_INET ||
		    strcmp(it->ifa_name, ifname))
			continue;
		addr = ((struct sockaddr_in *)it->ifa_addr)->sin_addr.s_addr;
		break;
	}
	freeifaddrs(ifa);
	return addr;
}

bool if_has_ipv4(const char *ifname, __be32 addr)
{
	struct ifaddrs *ifa, *it;
	bool found = false;

	if (getifaddrs(&ifa))
		return false;
	for (it = ifa; it && !found; it = it->ifa_next)
		found = it->ifa_addr && it->ifa_addr->sa_family == AF_INET &&
			!strcmp(it->ifa_name, ifname) &&
			((struct sockaddr_in *)it->ifa_addr)->sin_addr.s_addr ==
				addr;
	freeifaddrs(ifa);
	return found;
}

__be32 wan_external(const char *ifname, const struct ext_spec *pool, int n)
{
	for (int i = 0; i < n; i++)
		if (if_has_ipv4(ifname, pool[i].addr))
			return pool[i].addr;
	return n ? 0 : if_primary_ipv4(ifname);
}

/* Decimal digits of v at p; the end. */
static char *put_uint(char *p, unsigned int v)
{
	char d[10];
	int n = 0;

	do
		d[n++] = '0' + v % 10;
	while (v /= 10);
	while (n)
		*p++ = d[--n];
	return p;
}

/* The event stream formats four endpoints a connection, tens of
 * thousands of connections a second: by hand, not through the printf
 * machinery that inet_ntop() and sprintf() both run. */
static char *put_addr(char *p, __be32 addr)
{
	const unsigned char *b = (const unsigned char *)&addr;

	for (int i = 0; i < 4; i++) {
		if (i)
			*p++ = '.';
		p = put_uint(p, b[i]);
	}
	return p;
}

char *fmt_addr(char *buf, __be32 addr)
{
	*put_addr(buf, addr) = '\0';
	return buf;
}

char *fmt_endpoint(char *buf, __be32 addr, __be16 port)
{
	char *p = put_addr(buf, addr);

	*p++ = ':';
	*put_uint(p, ntohs(port)) = '\0';
	return buf;
}

int raw_ip_socket(int mark)
{
	int fd = socket(AF_INET, SOCK_RAW | SOCK_CLOEXEC, IPPROTO_RAW);

	if (fd >= 0 && mark &&
	    setsockopt(fd, SOL_SOCKET, SO_MARK, &mark, sizeof(mark))) {
		close(fd);
		return -1;
	}
	return fd;
}

int ensure_bpffs(const char *dir)
{
	struct statfs st;

	if (!statfs(dir, &st) && st.f_type == BPF_FS_MAGIC)
		return 0;
	if (mkdir(dir, 0700) && errno != EEXIST) {
		p_err("cannot create %s: %s", dir, strerror(errno));
		return -1;
	}
	if (mount("bpf", dir, "bpf", 0, "mode=0700")) {
		p_err("cannot mount bpffs on %s: %s (is the kernel built with CONFIG_BPF_SYSCALL?)",
		      dir, strerror(errno));
		return -1;
	}
	return 0;
}

uint64_t now_coarse_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}
