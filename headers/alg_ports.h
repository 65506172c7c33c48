/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Which TCP connections are ALG control connections: the data plane asks
 * for every outbound segment (bpf/alg.h), `bpfmasq conns` to name a
 * connection's ALG.  Plain inline C compiled into both sides, so what the
 * listing says is what the programs do.
 *
 * The port lists are the load-time settings cfg_ftp_ports and
 * cfg_irc_ports (bpf/config.h): server ports in host order, 0 ends the
 * list, ALG_MAX_PORTS at most.  In BPF they are read-only globals the
 * verifier knows, so an empty list (`--no-alg NAME`) prunes that ALG.
 */
#ifndef BPFMASQ_ALG_PORTS_H
#define BPFMASQ_ALG_PORTS_H

#ifdef __bpf__
#define alg_ntohs(x)	bpf_ntohs(x)
#else
#include <stdbool.h>
#include <arpa/inet.h>
#include <linux/types.h>
#define alg_ntohs(x)	ntohs(x)
#endif
#ifndef __always_inline
#define __always_inline	inline __attribute__((always_inline))
#endif

#include "defaults.h"
#include "bpfmasq.h"

static __always_inline bool alg_port_listed(const volatile __u16 *list,
					    __be16 port)
{
	__u16 p = alg_ntohs(port);

	for (int i = 0; i < ALG_MAX_PORTS; i++)
		if (list[i] && list[i] == p)
			return true;
	return false;
}

/*
 * The ALG (ALG_FTP, ALG_IRC or ALG_NONE: headers/bpfmasq.h) of a TCP
 * connection seen from its outbound side (sport the inside port, dport the
 * remote's), and whether an outbound segment goes to the server.  FTP also
 * counts with the server inside, behind a port forward: its replies (227,
 * 229) carry an address too.  IRC servers are always outside.
 */
static __always_inline __u8 alg_of_conn(__u8 proto, __be16 sport, __be16 dport,
					const volatile __u16 *ftp_ports,
					const volatile __u16 *irc_ports,
					bool *to_server)
{
	if (proto != IPPROTO_TCP)
		return ALG_NONE;
	*to_server = true;
	if (alg_port_listed(ftp_ports, dport))
		return ALG_FTP;
	if (alg_port_listed(irc_ports, dport))
		return ALG_IRC;
	*to_server = false;
	if (alg_port_listed(ftp_ports, sport))
		return ALG_FTP;
	return ALG_NONE;
}

#endif
