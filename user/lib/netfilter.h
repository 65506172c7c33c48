/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The kernel's own NAT beside bpfmasq: whether the data plane can ask
 * conntrack (nf_conntrack's BPF kfuncs), and whether netfilter rules
 * masquerade on the same WAN (a container runtime's default).
 */
#ifndef BPFMASQ_NETFILTER_H
#define BPFMASQ_NETFILTER_H

#include <stdbool.h>
#include <stddef.h>

/* The kernel (or a loaded module) has bpf_xdp_ct_lookup and
 * bpf_skb_ct_lookup, so cfg_conntrack may be set. */
bool nf_ct_kfuncs_available(void);

/*
 * The first masquerade or snat rule of this namespace's nftables ruleset
 * (iptables-nft rules included) that may apply to packets leaving wan,
 * as "table FAMILY NAME, chain CHAIN: RULE" in buf.  False when there is
 * none, or no nft to ask.
 */
bool nf_masq_find(const char *wan, char *buf, size_t len);

/* The one-line warning `up` prints about such a rule (no newline). */
void nf_masq_warning(const char *wan, const char *rule, char *buf, size_t len);

#endif
