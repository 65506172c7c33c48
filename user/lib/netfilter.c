// SPDX-License-Identifier: GPL-2.0
/*
 * The kernel's own NAT beside bpfmasq.  With a container runtime's
 * masquerade left on, netfilter translates first and bpfmasq sees only
 * the WAN address as source; the data plane then must leave replies that
 * conntrack knows to the stack (cfg_conntrack), and the admin should hear
 * that two NATs run on one interface.
 */
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <bpf/btf.h>
#include "netfilter.h"

static bool btf_has_func(struct btf *btf, const char *name)
{
	return btf && btf__find_by_name_kind(btf, name, BTF_KIND_FUNC) >= 0;
}

bool nf_ct_kfuncs_available(void)
{
	struct btf *vmlinux = btf__load_vmlinux_btf(), *mod = NULL;
	bool ok;

	if (!vmlinux)
		return false;
	ok = btf_has_func(vmlinux, "bpf_xdp_ct_lookup") &&
	     btf_has_func(vmlinux, "bpf_skb_ct_lookup");
	/* nf_conntrack as a module: its BTF is there while it is loaded. */
	if (!ok && access("/sys/kernel/btf/nf_conntrack", R_OK) == 0) {
		mod = btf__parse_split("/sys/kernel/btf/nf_conntrack", vmlinux);
		ok = btf_has_func(mod, "bpf_xdp_ct_lookup") &&
		     btf_has_func(mod, "bpf_skb_ct_lookup");
		btf__free(mod);
	}
	btf__free(vmlinux);
	return ok;
}

/*
 * Does the rule's output-interface match (if any) let packets leaving
 * wan through?  nft prints `oifname "x"`, `oifname != "x"`, `oifname {
 * "x", "y" }` (and `oif` the same); a name ending in * is a prefix.
 */
static bool name_matches(const char *pat, size_t n, const char *wan)
{
	if (n && pat[n - 1] == '*')
		return strncmp(pat, wan, n - 1) == 0;
	return strlen(wan) == n && strncmp(pat, wan, n) == 0;
}

static bool oif_lets_through(const char *rule, const char *wan)
{
	const char *p = strstr(rule, "oifname ");
	bool neg, hit = false;
	size_t skip = 8;

	if (!p) {
		p = strstr(rule, "oif ");
		skip = 4;
	}
	if (!p)
		return true;	/* no interface match: every interface */
	p += skip;
	neg = strncmp(p, "!= ", 3) == 0;
	if (neg)
		p += 3;
	if (*p == '{') {
		const char *end = strchr(p, '}');

		for (const char *q = p; q && (!end || q < end);) {
			const char *a = strchr(q, '"'), *b;

			if (!a || (end && a > end))
				break;
			b = strchr(a + 1, '"');
			if (!b)
				break;
			hit |= name_matches(a + 1, b - a - 1, wan);
			q = b + 1;
		}
	} else if (*p == '"') {
		const char *b = strchr(p + 1, '"');

		hit = b && name_matches(p + 1, b - p - 1, wan);
	} else {
		size_t n = strcspn(p, " ");

		hit = name_matches(p, n, wan);
	}
	return neg ? !hit : hit;
}

static bool is_nat_rule(const char *rule)
{
	return strstr(rule, " masquerade") || strncmp(rule, "masquerade", 10) == 0 ||
	       strstr(rule, "snat ") || strncmp(rule, "snat ", 5) == 0;
}

bool nf_masq_find(const char *wan, char *buf, size_t len)
{
	char line[1024], table[128] = "", chain[128] = "";
	bool found = false;
	FILE *f;

	f = popen("nft list ruleset 2>/dev/null", "r");
	if (!f)
		return false;
	while (fgets(line, sizeof(line), f)) {
		char *s = line + strspn(line, " \t"), a[64], b[64];

		s[strcspn(s, "\n")] = 0;
		if (sscanf(s, "table %63s %63s {", a, b) == 2) {
			snprintf(table, sizeof(table), "%s %s", a, b);
		} else if (sscanf(s, "chain %63s {", a) == 1) {
			snprintf(chain, sizeof(chain), "%s", a);
		} else if (!found && *table && *chain && is_nat_rule(s) &&
			   oif_lets_through(s, wan)) {
			snprintf(buf, len, "table %s, chain %s: %s", table,
				 chain, s);
			found = true;
		}
	}
	pclose(f);
	return found;
}

void nf_masq_warning(const char *wan, const char *rule, char *buf, size_t len)
{
	snprintf(buf, len,
		 "Warning: netfilter also masquerades on %s (%s); bpfmasq leaves the connections it translates to it. To let bpfmasq translate them, switch the container runtime's masquerade off (Docker: network option com.docker.network.bridge.enable_ip_masquerade=false) or delete the rule (nft -a list ruleset shows its handle; nft delete rule FAMILY TABLE CHAIN handle N)",
		 wan, rule);
}
