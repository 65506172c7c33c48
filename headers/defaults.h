/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Default settings of `bpfmasq up`, in one place for both sides: the BPF
 * object's rodata initialisers (bpf/config.h) and the CLI's option table
 * (user/cli/up_opts.c), which prints them in `bpfmasq help` and applies them.
 * Plain decimal literals: the option table turns them into the strings
 * it parses, so "--max-flows 131072" and the default go the same way.
 */
#ifndef BPFMASQ_DEFAULTS_H
#define BPFMASQ_DEFAULTS_H

/* --ports: above the kernel's ephemeral range (32768-60999), so NAT
 * ports never shadow the gateway's own sockets. */
#define BPFMASQ_DEF_PORT_LO		61000
#define BPFMASQ_DEF_PORT_HI		65535

/* --max-flows: connections the flow table holds (preallocated). */
#define BPFMASQ_DEF_MAX_FLOWS		131072

/* Idle timeouts in seconds: RFC 5382 REQ-5 (established TCP at least
 * 2 h 4 min), RFC 5382 (transitory at least 4 min), RFC 4787 REQ-5 (UDP,
 * 5 min recommended), RFC 5508 (ICMP query 60 s). */
#define BPFMASQ_DEF_TIMEOUT_TCP_EST	7440
#define BPFMASQ_DEF_TIMEOUT_TCP_TRANS	240
#define BPFMASQ_DEF_TIMEOUT_UDP		300
#define BPFMASQ_DEF_TIMEOUT_ICMP	60

/* The control ports the ALGs watch; at most ALG_MAX_PORTS each. */
#define BPFMASQ_DEF_FTP_PORT		21
#define BPFMASQ_DEF_IRC_PORT		6667
#define ALG_MAX_PORTS			4

#endif
