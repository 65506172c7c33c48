/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Is an address an inside host, one bpfmasq masquerades?  The data plane
 * asks for every packet that might open a connection (bpf/nat.h), the CLI
 * before it installs a port forward to a host (user/cli/forward.c): the
 * two must not disagree, or a forward would point at a host whose
 * traffic leaves untranslated.  Plain inline C compiled into both sides.
 *
 * The includer first defines how it asks the --internal trie (an LPM trie
 * of struct internal_key), the one thing that differs between the sides:
 *
 *   static __always_inline bool internal_nets_has(const void *nets,
 *						  const struct internal_key *k);
 *
 * nets is passed through untouched (the map is a global in BPF; the CLI
 * passes its instance).
 */
#ifndef BPFMASQ_INSIDE_H
#define BPFMASQ_INSIDE_H

#ifndef __bpf__
#include <stdbool.h>
#include <linux/types.h>
#endif
#ifndef __always_inline
#define __always_inline	inline __attribute__((always_inline))
#endif

#include "bpfmasq.h"

/*
 * match_all_sources points at cfg_match_all_sources (no --internal given):
 * then every address but the external one, and 0.0.0.0, is inside;
 * otherwise the --internal prefixes decide.  (A pointer, read only here:
 * the programs compile as they did before this header existed.)
 */
static __always_inline bool addr_is_inside(__be32 addr, __be32 ext_addr,
					   const volatile bool *match_all_sources,
					   const void *nets)
{
	struct internal_key k = { .prefixlen = 32, .addr = addr };

	if (*match_all_sources)
		return addr != ext_addr && addr != 0;
	return internal_nets_has(nets, &k);
}

#endif
