/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Load-time configuration.  `bpfmasq up` sets these through the skeleton's
 * rodata before loading, so the verifier prunes whatever a setting turns
 * off; a restarted controller reads them back from the .rodata map.
 */
#ifndef BPFMASQ_CONFIG_H
#define BPFMASQ_CONFIG_H

#include "defaults.h"

/* External port range (host order) that NAT may hand out.  The default stays
 * above the kernel's ephemeral range so that NAT ports never shadow the
 * gateway's own sockets. */
const volatile __u16 cfg_port_lo = BPFMASQ_DEF_PORT_LO;
const volatile __u16 cfg_port_hi = BPFMASQ_DEF_PORT_HI;

/* Endpoint-independent ("full cone") filtering instead of the default
 * address-and-port-dependent one. */
const volatile bool cfg_filter_cone = false;

/* No --internal given: every source that is not the WAN address is inside. */
const volatile bool cfg_match_all_sources = true;

/* The WAN's frames start at the IP header (PPP, TUN, WireGuard, GRE: no
 * Ethernet, no MAC, no ARP).  Such an interface gets no XDP: tc ingress
 * (masq_wan_in_tc) does the whole inbound path there. */
const volatile bool cfg_wan_l3 = false;

/* --lan-inbound: replies of established flows go from the WAN straight
 * into the --lan interfaces (XDP redirect), not through the stack. */
const volatile bool cfg_lan_inbound = false;

/* --lan-new: `up` attached masq_lan_open, whose XDP also opens new
 * connections (binding and flow) instead of leaving their first packet to
 * the stack's forwarding path, and with it to the gateway's forward rules.
 * Only recorded here, for `status`. */
const volatile bool cfg_lan_new = false;

/* --mss-clamp: the MSS option of SYN segments crossing the WAN is
 * lowered to this (MSS_CLAMP_AUTO: the WAN route's MTU - 40); 0 is off,
 * and then the verifier drops every bit of it. */
const volatile __u16 cfg_mss_clamp = 0;

/* Control connections the ALGs watch (server ports, host order; 0 ends
 * the list).  `--no-alg NAME` empties a list, so the verifier drops that
 * ALG's code entirely.  (ALG_MAX_PORTS: headers/defaults.h) */
const volatile __u16 cfg_ftp_ports[ALG_MAX_PORTS] = { BPFMASQ_DEF_FTP_PORT };
const volatile __u16 cfg_irc_ports[ALG_MAX_PORTS] = { BPFMASQ_DEF_IRC_PORT };

/* The kernel has nf_conntrack's BPF lookups (bpf_xdp_ct_lookup and
 * bpf_skb_ct_lookup): `up` sets it when their BTF is there.  On, a
 * reply that conntrack knows (netfilter's own NAT running beside
 * bpfmasq) is passed to the stack instead of dropped as unsolicited,
 * and port allocation avoids the ports conntrack uses. */
const volatile bool cfg_conntrack = false;

/* An earlier range (a reload changed --ports) whose ports bindings still
 * hold: replies to them are still NAT's, though no new mapping gets one.
 * 0-0 is none.  `reload` sets it to the hull of the range it replaces
 * and the ports still bound outside the new one. */
const volatile __u16 cfg_port_prev_lo = 0;
const volatile __u16 cfg_port_prev_hi = 0;

/*
 * The build that loaded the programs (user/lib/build.c fills them in; the
 * programs never read them): what `status` shows and what the next `up`
 * or `reload` compares itself with.  .rodata only ever grows at its end,
 * so that a newer build reads an older instance's as a prefix of its own
 * (zeros: a build from before these existed).
 */
const volatile char build_version[48] = {};
const volatile __u64 build_object = 0;	/* hash of the BPF object */
const volatile __u32 build_layout = 0;	/* BPFMASQ_LAYOUT_VERSION */
const volatile __u64 build_layout_hash = 0;

#endif
