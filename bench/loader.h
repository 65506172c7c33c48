/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What the bench's loaders (bmbench, connrate) share: dying with a message,
 * reading addresses from the command line and interfaces.  Define
 * LOADER_NAME before including it.
 */
#ifndef BMBENCH_LOADER_H
#define BMBENCH_LOADER_H

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <net/if.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <linux/types.h>

#define die(...)							\
	do {								\
		fprintf(stderr, LOADER_NAME ": " __VA_ARGS__);		\
		fputc('\n', stderr);					\
		exit(1);						\
	} while (0)

static int ifindex_of(const char *ifname)
{
	int i = if_nametoindex(ifname);

	if (!i)
		die("no interface %s in this namespace", ifname);
	return i;
}

static void parse_mac(const char *s, __u8 *mac)
{
	if (!s || sscanf(s, "%hhx:%hhx:%hhx:%hhx:%hhx:%hhx", &mac[0], &mac[1],
			 &mac[2], &mac[3], &mac[4], &mac[5]) != 6)
		die("bad MAC address '%s'", s ? s : "");
}

static void if_mac(const char *ifname, __u8 *mac)
{
	struct ifreq ifr = {};
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", ifname);
	if (fd < 0 || ioctl(fd, SIOCGIFHWADDR, &ifr))
		die("cannot read the MAC of %s: %s", ifname, strerror(errno));
	memcpy(mac, ifr.ifr_hwaddr.sa_data, 6);
	close(fd);
}

static __be32 parse_ip(const char *s)
{
	struct in_addr a;

	if (!s || inet_pton(AF_INET, s, &a) != 1)
		die("bad IPv4 address '%s'", s ? s : "");
	return a.s_addr;
}

static __u64 now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

#endif
