/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The data plane's constants, in one place: what the kernel's UAPI
 * headers would give (vmlinux.h has types, not macros), the results the
 * translation core returns, and the bounds the verifier needs.  The
 * settings `up` chooses are not here: they are rodata (config.h), their
 * defaults in headers/defaults.h.
 */
#ifndef BPFMASQ_CONSTS_H
#define BPFMASQ_CONSTS_H

/* ---- the kernel's (uapi headers the BPF side cannot include) ---- */
#define EEXIST		17
#define AF_INET		2
#define ETH_P_IP	0x0800
#define ETH_ALEN	6
#define ETH_HLEN	14
#define IP_MF		0x2000
#define IP_OFFSET	0x1fff
#define ICMP_ECHOREPLY	0
#define ICMP_DEST_UNREACH 3
#define ICMP_ECHO	8
#define ICMP_TIME_EXCEEDED 11
#define ICMP_PARAMETERPROB 12
#define TCPOPT_EOL	0
#define TCPOPT_NOP	1
#define TCPOPT_MSS	2
#define TCPOPT_SACK	5
#define TCPOLEN_MSS	4
#define TC_ACT_UNSPEC	(-1)
#define TC_ACT_OK	0
#define TC_ACT_SHOT	2
/* The first size of struct bpf_ct_opts (no zone): every kernel that has
 * nf_conntrack's BPF lookups takes it. */
#define CT_OPTS_SZ	12

/*
 * What the translation core (nat.h, icmp.h, frag.h, alg.h) answers, and
 * what a program's finish step (finish()) turns into its hook's verdict.
 * Besides these: a negative enum bpfmasq_counter, the drop reason.
 */
#define NAT_PASS	0	/* not ours: leave it to the stack */
#define NAT_XLATE	1	/* rewrite it as struct xlate says */
#define NAT_HELD	2	/* handed to the controller: drop it here */
/* host_owns(): ask the gateway's sockets too, not only conntrack (a bit
 * above the protocol in its `how`). */
#define HOST_OWNS_SOCK	0x100

/* ---- bounds and tunables ---- */
/* How many external ports to try before calling the range exhausted. */
#define PORT_TRIES	32
/* Write last_seen at most this often: the field shares a cache line
 * between CPUs and per-packet writes would bounce it. */
#define TOUCH_NS	(100 * 1000 * 1000ULL)
/* RFC 1812 keeps ICMP errors within 576 bytes; allow a full Ethernet MTU. */
#define ICMP_ERR_MAX_LEN 1480
/* Fields one ICMP error's translation stores (struct edits). */
#define MAX_EDITS	8
/* SACK edges the sequence adjustment rewrites: four blocks. */
#define SACK_MAX_EDGES	8
/* How far into an IRC segment a CTCP marker is looked for. */
#define IRC_SCAN_MAX	512
/* IPv4 and TCP headers without options: what the kernel's own advmss and
 * nftables' rt mtu take off the MTU (options are the sender's to fit). */
#define MSS_HDRS	40

#endif
