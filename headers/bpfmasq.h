/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The ABI shared by the BPF programs and the bpfmasq controller: map keys
 * and values, counters and drop reasons.  Plain __u32/__be32 types only, so
 * both sides (and `bpftool map dump`, through BTF) read the same bytes.
 */
#ifndef BPFMASQ_H
#define BPFMASQ_H

#ifndef __bpf__
#include <linux/types.h>
#endif
#include "seqadj.h"

/* Which way a flow entry or binding translates. */
enum bpfmasq_dir {
	DIR_OUT = 0,	/* inside -> outside: rewrite the source */
	DIR_IN = 1,	/* outside -> inside: rewrite the destination */
};

/*
 * One direction of a translated connection, keyed as the packet looks on
 * the WAN side before translation:
 *   DIR_OUT: inside addr:port -> remote addr:port
 *   DIR_IN:  remote addr:port -> external addr:port
 * For ICMP echo the identifier stands in for the inside/external port and
 * the remote "port" is 0.  Both directions of a connection are always
 * inserted and deleted together.
 */
struct flow_key {
	__be32 saddr;
	__be32 daddr;
	__be16 sport;
	__be16 dport;
	__u8 proto;
	__u8 dir;
	__u16 pad;
};

/* Bits of flow_val.seen: what this direction has carried so far. */
enum bpfmasq_seen {
	SEEN_SYN = 1 << 0,
	SEEN_FIN = 1 << 1,
	SEEN_RST = 1 << 2,
	SEEN_ACK = 1 << 3,
};

/*
 * Where the translated packets of a flow entry go next, as bpf_fib_lookup()
 * last said, so that the XDP fast path neither asks the FIB nor reads the
 * clock for every packet.  It is trusted only while the routing generation
 * is unchanged (nat_state.route_gen, bumped by the controller on every
 * route, neighbour and link change) and for less than NH_MAX_AGE jiffies,
 * which bounds how stale it gets when no controller runs.  Each refresh
 * also stamps the flow's last_seen_ns, so that stays as exact as
 * NH_MAX_AGE for flows on the fast path.
 */
struct flow_nexthop {
	__u8 dmac[6];
	__u8 smac[6];
	__u32 ifindex;		/* 0: nothing cached */
	__u16 len_ok;		/* IP lengths up to this fit the route MTU */
	__u16 gen;		/* low bits of nat_state.route_gen */
	__u32 stamp;		/* low bits of jiffies when cached */
};

/* Jiffies a cached next hop is used for: at most 100 ms (HZ >= 100). */
#define NH_MAX_AGE	10

/* What a flow entry rewrites to, and when it last carried a packet. */
struct flow_val {
	__be32 nat_addr;	/* new saddr (DIR_OUT) or daddr (DIR_IN) */
	__be16 nat_port;	/* new sport (DIR_OUT) or dport (DIR_IN) */
	__u8 seen;		/* enum bpfmasq_seen, only ever grows */
	__u8 flags;		/* enum flow_flags */
	__u64 last_seen_ns;	/* CLOCK_MONOTONIC_COARSE */
	struct flow_nexthop nh;	/* XDP fast path only */
};

enum flow_flags {
	FLOW_SEQADJ = 1 << 0,	/* an ALG changed a payload length: see the
				 * seqadj map */
};

/* The sequence adjustments of one flow entry (keyed like `flows`), for the
 * few connections an ALG rewrote: SEQ of this direction, and ACK/SACK
 * (which acknowledge the other direction). */
struct flow_seqadj {
	struct seqadj_dir seq;
	struct seqadj_dir ack;	/* the twin entry's seq */
};

/*
 * Endpoint-independent mapping (RFC 4787 REQ-1): one inside endpoint owns
 * one external port for every remote while any of its flows lives.
 *   DIR_OUT: inside addr:port   -> external addr:port
 *   DIR_IN:  external addr:port -> inside addr:port
 */
struct bind_key {
	__be32 addr;
	__be16 port;
	__u8 proto;
	__u8 dir;
};

struct bind_val {
	__be32 addr;
	__be16 port;
	__u16 flags;		/* enum bind_flags */
	__u64 last_used_ns;	/* last flow created on it; guards expiry races */
	__be32 peer;		/* BIND_EXPECT: the only remote that may use
				 * it (0: any) */
	__u32 state;		/* enum bind_state */
};

enum bind_flags {
	BIND_EXPECT = 1 << 1,	/* an ALG expectation (DIR_IN only): one
				 * connection from `peer` may open it, then
				 * it is an ordinary binding */
	BIND_STATIC = 1 << 0,	/* a port forward (`bpfmasq forward`): anyone
				 * may open flows to it, it never expires, and
				 * the controller moves it to a new external
				 * address */
};

/*
 * A binding the data plane makes is BIND_NEW until its first flow is
 * stored; if that fails (a full table) its maker removes it at once.
 * Another CPU that opens a flow on a BIND_NEW binding first claims it
 * (compare-and-swap to BIND_LIVE), so a rollback never takes a binding
 * that some stored flow uses.  The controller's bindings (forwards,
 * expectations) are zeroed, hence BIND_LIVE, and never rolled back.
 */
enum bind_state {
	BIND_LIVE = 0,
	BIND_NEW = 1,		/* its maker is storing the first flow */
	BIND_GONE = 2,		/* that failed: its maker is deleting it */
};

/* fwd_ports: one bit per external port that has a forward, so inbound
 * packets to ports outside the NAT range only look further for those. */
#define FWD_PORT_WORDS (65536 / 64)

#define BPFMASQ_MAX_LAN 8

/* --external given more than once: a pool of addresses (the ext_pool map,
 * keyed by address).  Eight: a gateway backing up the others of an
 * eight-gateway group holds all their addresses. */
#define BPFMASQ_MAX_EXT 8

struct ext_pool_val {
	/* The ports new mappings on this address take (RFC 4787 REQ-3
	 * classes within them); 0-0: --ports.  A block of a shared address
	 * that another gateway uses the rest of. */
	__u16 port_lo;
	__u16 port_hi;
	/* The block before a reload changed it: replies to mappings made
	 * in it still arrive (as cfg_port_prev_* for --ports). */
	__u16 prev_lo;
	__u16 prev_hi;
	__u8 rank;	/* its place among the --external addresses: new
			 * connections take the first one on the WAN */
	__u8 flags;	/* enum ext_flags */
	__u16 pad;
};

enum ext_flags {
	/* On the WAN here now: packets to it are ours to translate.  An
	 * address that is not (a VRRP address on a peer) keeps its flows
	 * and mappings for when it comes (failover) or comes back. */
	EXT_ON_WAN = 1 << 0,
};

/* Runtime state the controller changes while programs run; also where a
 * restarted controller finds what `up` attached. */
struct nat_state {
	/* The address new connections masquerade as: the WAN's primary
	 * address, or the first --external one on the WAN; 0 = none,
	 * translation stops. */
	__be32 ext_addr;
	__u32 controller_pid;	/* 0 when no controller is running */
	__u32 flags;		/* enum nat_state_flags */
	__u32 lan_ifindex[BPFMASQ_MAX_LAN];	/* --lan, 0-terminated */
	/* Idle timeouts in seconds, enforced by the controller. */
	__u32 timeout_tcp_est;
	__u32 timeout_tcp_trans;
	__u32 timeout_udp;
	__u32 timeout_icmp;
	/* Bumped by the controller whenever a route, neighbour or link
	 * changes: every cached flow_nexthop is asked again. */
	__u32 route_gen;
	/* The WAN: the LAN fast path only redirects what the FIB routes out
	 * of it.  State, not a setting, because a PPP reconnect or a VPN
	 * restart brings the same WAN back under a new ifindex. */
	__u32 wan_ifindex;
	/* Its name: how `down` finds an instance whose WAN is gone and whose
	 * controller waits for it to come back. */
	char wan_name[16];
	/* The --lan interfaces by name, all of them (lan_ifindex holds the
	 * ones that exist, attached): the controller attaches the LAN
	 * program to an interface of such a name when it appears, again
	 * when it comes back under a new ifindex (a container runtime
	 * deletes its bridge with its last container). */
	char lan_name[BPFMASQ_MAX_LAN][16];
	/* --external: the (first) address to masquerade as, one that can
	 * move to another gateway and back (a VRRP address); 0: the WAN's
	 * primary address.  Non-zero: every --external address, this one
	 * included, is in the ext_pool map, which says which are on the
	 * WAN; the flows of the others are kept. */
	__be32 ext_want;
	/* --sync-peer (0: none) and its port, for `status`. */
	__be32 sync_peer;
	__u16 sync_port;
	__u16 pad_sync;
};

enum nat_state_flags {
	STATE_OWN_CLSACT = 1 << 0,	/* `up` created the WAN's clsact qdisc */
	STATE_NO_HAIRPIN = 1 << 1,	/* --no-hairpin */
	STATE_GOING_DOWN = 1 << 2,	/* `down` is removing the instance */
};

/* What the data plane tells the controller through the `events` ring. */
enum bpfmasq_event_type {
	EV_PORTS_EXHAUSTED = 1,	/* answer with ICMP 3/13 (RFC 5508 REQ-8) */
	EV_FRAG_HOLD = 2,	/* a fragment came before its first fragment */
	EV_FRAG_RESOLVED = 3,	/* the first fragment came: release held ones */
	EV_ALG_SEGMENT = 4,	/* an FTP/IRC control segment to inspect */
};

/* Segments the controller sends back out carry this skb mark, so the
 * data plane translates them instead of handing them over again. */
#define BPFMASQ_ALG_MARK 0xb9a50a19

enum bpfmasq_alg {
	ALG_NONE = 0,
	ALG_FTP = 1,
	ALG_IRC = 2,
};

#define EV_QUOTE_MAX 68	/* IPv4 header with options + 8 bytes (RFC 792) */

struct bpfmasq_event {
	__u32 type;		/* enum bpfmasq_event_type */
	__u32 quote_len;	/* bytes of quote[] that are valid */
	__u8 quote[EV_QUOTE_MAX];	/* the packet's IP header onward */
};

/*
 * The connection event stream: what `bpfmasq monitor`, the mapping log
 * (--log-mappings) and a future state sync to a second gateway read.  The
 * data plane writes the *_NEW records (on creation only, never on the hit
 * path) and rate-limited DROP records into the `conn_events` ring; the
 * controller writes DESTROY/UNMAP (it expires flows and bindings, and
 * relays those `conns delete` removes) and LOST, stamps every record with
 * a sequence number and the wall clock, and passes the same struct to its
 * clients over its socket.  So one struct, same bytes everywhere.
 */
enum conn_event_type {
	CE_FLOW_NEW = 1,	/* a connection (both flow entries) stored */
	CE_FLOW_DESTROY = 2,	/* the controller or the CLI removed one */
	CE_BIND_NEW = 3,	/* an external port mapped to an inside endpoint */
	CE_BIND_DESTROY = 4,	/* that mapping released */
	CE_DROP = 5,		/* a packet dropped (reason: enum bpfmasq_counter) */
	CE_LOST = 6,		/* count records never made it (ring full, or
				 * no controller for the CLI's records) */
	CE_TYPE_MAX,
};

/* Why a flow or binding went (conn_event.reason of *_DESTROY). */
#define CONN_GONE_REASONS(X)						\
	X(GONE_TIMEOUT,	"timeout")	/* idle past its timeout */	\
	X(GONE_CLOSED,	"closed")	/* TCP FIN/RST seen, then idle */\
	X(GONE_DELETED,	"deleted")	/* conns delete / conns flush */	\
	X(GONE_ADDRESS,	"address-changed")	/* the WAN address changed */ \
	X(GONE_BROKEN,	"half-pair")	/* its twin entry was missing */	\
	X(GONE_UNUSED,	"unused")	/* binding: no flow uses it any more */ \
	X(GONE_DOWN,	"down")		/* `bpfmasq down` removes everything */

#define CONN_GONE_ENUM(sym, name) sym,
enum conn_gone_reason {
	GONE_NONE = 0,
	CONN_GONE_REASONS(CONN_GONE_ENUM)
	GONE_MAX
};
#undef CONN_GONE_ENUM

/* A connection's state as `conns` and `monitor` name it. */
#define CONN_STATES(X)							\
	X(CS_NONE,	"-")						\
	X(CS_SYN_SENT,	"SYN_SENT")					\
	X(CS_ESTABLISHED, "ESTABLISHED")				\
	X(CS_FIN_WAIT,	"FIN_WAIT")					\
	X(CS_CLOSE,	"CLOSE")					\
	X(CS_REPLIED,	"REPLIED")					\
	X(CS_UNREPLIED,	"UNREPLIED")

#define CONN_STATE_ENUM(sym, name) sym,
enum conn_state { CONN_STATES(CONN_STATE_ENUM) CS_MAX };
#undef CONN_STATE_ENUM

/* conn_event.flags */
enum conn_event_flags {
	CEF_INBOUND = 1 << 0,	/* opened from outside (forward, cone, ALG);
				 * DROP: the packet came in from the WAN */
	CEF_NEW_BINDING = 1 << 1,	/* FLOW_NEW in the ring: the flow made
					 * its binding too; the controller
					 * publishes a BIND_NEW after it */
};

/*
 * One record.  Endpoints as `conns` names them: inside, outside (the
 * external address and port), remote.  A DROP record has the packet's own
 * source as remote (CEF_INBOUND) or inside, and its destination as
 * outside or remote.  ICMP: the echo id is the inside/outside port.
 */
struct conn_event {
	__u64 seq;		/* controller: 1, 2, ... over its lifetime and
				 * the next controller's (0 in the ring) */
	__u64 time_ns;		/* data plane: CLOCK_MONOTONIC_COARSE at
				 * creation; controller: turned into UTC ns
				 * since the epoch */
	__u8 type;		/* enum conn_event_type */
	__u8 proto;
	__u8 reason;		/* DESTROY: enum conn_gone_reason; DROP: the
				 * enum bpfmasq_counter */
	__u8 flags;		/* enum conn_event_flags */
	__u8 state;		/* DESTROY: enum conn_state when it went */
	__u8 pad[3];
	__be32 in_addr;
	__be32 out_addr;
	__be32 rem_addr;
	__be16 in_port;
	__be16 out_port;
	__be16 rem_port;
	__u16 pad2;
	__u32 count;		/* LOST: records lost */
};

/* A record must not change size unnoticed: the ring, the socket and any
 * program reading either depend on it. */
#define CONN_EVENT_SIZE 48
_Static_assert(sizeof(struct conn_event) == CONN_EVENT_SIZE,
	       "struct conn_event changed size: update CONN_EVENT_SIZE and every reader");

/* The controller drains the conn_events ring this often; the data plane
 * wakes it sooner only when the ring fills past another multiple of this
 * (a quarter of its 1 MB, about 4,700 records). */
#define CONN_EVENTS_DRAIN_MS	100
#define CONN_EVENTS_WAKE_BYTES	(256 * 1024)
/* What one record takes in the ring: the ring's 8-byte header, and the
 * record rounded up to 8 bytes. */
#define CONN_EVENT_RING_BYTES	(8 + ((CONN_EVENT_SIZE + 7) & ~7))

/* DROP records a CPU may write in a second; the rest are counted
 * (suppressed_drop_events), as the kernel rate-limits its own messages. */
#define DROP_EVENTS_PER_SEC	20

/* A CPU's DROP records in the current second (the drop_budget map). */
struct drop_budget {
	__u64 second;		/* CLOCK_MONOTONIC_COARSE seconds */
	__u32 used;
	__u32 pad;
};

/*
 * Where the later fragments of an inbound datagram go (RFC 4787 REQ-14):
 * only the first fragment carries ports, so its translation is remembered
 * for the rest, by (remote, external, IP id, protocol).  With an
 * --external pool also the source of an outbound datagram's, by (inside,
 * remote, IP id, protocol), when it is not the address new connections
 * take (an endpoint mapped on another of the pool's).
 */
struct frag_key {
	__be32 saddr;
	__be32 daddr;
	__be16 id;
	__u8 proto;
	__u8 out;	/* 1: an outbound datagram's */
};

enum frag_flags {
	FRAG_TO_HOST = 1 << 0,	/* the gateway's own datagram: leave it */
	FRAG_PENDING = 1 << 1,	/* fragments wait in the controller */
};

struct frag_val {
	__be32 nat_addr;	/* inside address the datagram goes to */
	__u32 flags;		/* enum frag_flags */
	__u64 created_ns;
};

/* An ALG expectation nobody used is dropped after this long (Linux). */
#define EXPECT_TIMEOUT_NS (300ULL * 1000000000ULL)

/* Reassembly gives up after this long (Linux ipfrag_time); so do we. */
#define FRAG_TIMEOUT_NS (30ULL * 1000000000ULL)

#define EV_PKT_MAX 1518	/* an Ethernet MTU worth of IP packet */

struct bpfmasq_frag_event {
	__u32 type;		/* EV_FRAG_HOLD or EV_FRAG_RESOLVED */
	__u32 len;		/* EV_FRAG_HOLD: bytes in the pkt[] after it */
	struct frag_key key;
	struct frag_val val;	/* EV_FRAG_RESOLVED: where held ones go */
};

/* A fragment handed to the controller to hold, IP header onward. */
struct bpfmasq_frag_hold {
	struct bpfmasq_frag_event ev;
	__u8 pkt[EV_PKT_MAX];
};

/*
 * An ALG control segment, IP header onward, untranslated.  Outbound ones
 * (as the inside host sent them) the controller rewrites and sends on with
 * BPFMASQ_ALG_MARK; inbound ones (IRC, for DCC RESUME) it rewrites,
 * translates and delivers to the inside host itself.
 */
struct bpfmasq_alg_event {
	__u32 type;		/* EV_ALG_SEGMENT */
	__u32 len;		/* bytes in pkt[] */
	struct flow_key out_key;	/* the control connection, DIR_OUT */
	__be32 ext_addr;	/* its external endpoint */
	__be16 ext_port;
	__u8 alg;		/* enum bpfmasq_alg */
	__u8 to_server;		/* 1: client -> server (PORT, EPRT, DCC) */
	__u8 dir;		/* DIR_IN: from outside, untranslated; the
				 * controller translates and delivers it */
	__u8 pad[3];
	__u8 pkt[EV_PKT_MAX];
};

/* An --internal prefix (LPM trie key). */
struct internal_key {
	__u32 prefixlen;
	__be32 addr;
};

/*
 * Counters, one per-CPU slot each.  Drop reasons are named so that every
 * dropped packet is explained by `bpfmasq stats`.
 */
#define BPFMASQ_COUNTERS(X)						\
	X(CNT_OUT_TRANSLATED,	"out_translated")			\
	X(CNT_IN_TRANSLATED,	"in_translated")			\
	X(CNT_LAN_FASTPATH,	"lan_fastpath")				\
	X(CNT_WAN_FASTPATH,	"wan_fastpath")				\
	X(CNT_LAN_TC_FASTPATH,	"lan_tc_fastpath")			\
	X(CNT_WAN_TC_FASTPATH,	"wan_tc_fastpath")			\
	X(CNT_NEW_FLOWS,	"new_flows")				\
	X(CNT_NEW_BINDINGS,	"new_bindings")				\
	X(CNT_CONNS_DELETED,	"conns_deleted")	/* by the CLI */	\
	X(CNT_PASS_HOST,	"pass_host")				\
	X(CNT_ICMP_ERR_TRANSLATED, "icmp_errors_translated")		\
	X(CNT_FRAG_TRANSLATED,	"fragments_translated")			\
	X(CNT_FRAG_HELD,	"fragments_held")			\
	X(CNT_HAIRPINNED,	"hairpinned")				\
	X(CNT_ALG_PUNTED,	"alg_segments_to_controller")		\
	X(CNT_ALG_UNHANDLED,	"alg_segments_not_inspected")		\
	X(CNT_EXPECT_USED,	"alg_expectations_used")		\
	X(CNT_ALG_REWRITTEN,	"alg_rewritten")			\
	X(CNT_ALG_FORGED,	"alg_forged_left_alone")		\
	X(CNT_ALG_MALFORMED,	"alg_malformed_left_alone")		\
	X(CNT_ALG_PARTIAL,	"alg_split_command_dropped")		\
	X(CNT_ALG_BAD_CSUM,	"alg_bad_checksum_dropped")		\
	X(CNT_EXPECT_EXPIRED,	"alg_expectations_expired")		\
	X(CNT_MSS_CLAMPED,	"mss_clamped")				\
	X(CNT_EVENTS_LOST,	"events_lost")				\
	X(CNT_EVENTS_LOST_REPORTED, "events_lost_reported")		\
	X(CNT_DROP_EVENTS_SUPPRESSED, "suppressed_drop_events")		\
	X(CNT_EVENTS_PUBLISHED,	"events_published")			\
	X(CNT_MONITOR_DROPPED,	"monitor_events_dropped")		\
	X(CNT_SYNC_SENT,	"sync_records_sent")			\
	X(CNT_SYNC_ACKED,	"sync_records_acked")			\
	X(CNT_SYNC_APPLIED,	"sync_records_applied")			\
	X(CNT_SYNC_APPLY_FAILED, "sync_records_not_applied")		\
	X(CNT_SYNC_REJECTED,	"sync_messages_rejected")		\
	X(CNT_SYNC_AUTH_FAILED,	"sync_auth_failed")			\
	X(CNT_SYNC_SESSIONS,	"sync_sessions")			\
	X(CNT_SYNC_SESSIONS_LOST, "sync_sessions_lost")			\
	X(CNT_SYNC_RESYNCS,	"sync_bulk_resyncs")			\
	X(CNT_SYNC_OVERFLOWS,	"sync_peer_too_slow")			\
	X(DROP_MALFORMED_IP,	"drop_malformed_ip")			\
	X(DROP_MALFORMED_L4,	"drop_malformed_l4")			\
	X(DROP_FRAGMENT,	"drop_fragment")			\
	X(DROP_UNSUPPORTED_PROTO, "drop_unsupported_proto")		\
	X(DROP_NO_EXT_ADDR,	"drop_no_external_address")		\
	X(DROP_PORTS_EXHAUSTED,	"drop_ports_exhausted")			\
	X(DROP_TABLE_FULL,	"drop_table_full")			\
	X(DROP_UNSOLICITED,	"drop_unsolicited_to_inside")		\
	X(DROP_FILTERED,	"drop_filtered_remote")			\
	X(DROP_TCP_NOT_SYN,	"drop_tcp_new_without_syn")		\
	X(DROP_ICMP_BAD_CSUM,	"drop_icmp_bad_checksum")		\
	X(DROP_ICMP_NO_FLOW,	"drop_icmp_error_without_flow")		\
	X(DROP_NO_MAPPING,	"drop_unsolicited_no_mapping")		\
	X(DROP_NO_ROUTE,	"drop_no_route")			\
	X(DROP_TTL_EXPIRED,	"drop_ttl_expired")			\
	X(DROP_TOO_BIG,		"drop_too_big")				\
	X(DROP_NO_MEMORY,	"drop_no_memory")				\
	X(CNT_CONNS_EXPIRED,	"conns_expired")			\
	X(CNT_EXPIRY_WALKS,	"expiry_walks")				\
	X(CNT_EXPIRY_CHECKED,	"expiry_checked")			\
	BPFMASQ_TEST_COUNTERS(X)

/* A second build that differs from this one in a program and a counter,
 * for tests/lab/test_upgrade.sh (make BPFMASQ_EXTRA_CFLAGS=
 * -DBPFMASQ_UPGRADE_TEST): masq_wan_out counts what it sees there. */
#ifdef BPFMASQ_UPGRADE_TEST
#define BPFMASQ_TEST_COUNTERS(X) X(CNT_UPGRADE_TEST, "upgrade_test_packets")
#else
#define BPFMASQ_TEST_COUNTERS(X)
#endif

/*
 * The layout of the maps both builds of an upgrade share: bump it when a
 * map's key or value changes meaning without changing size, or a counter
 * is inserted rather than appended (stats are carried over by index).
 * A build refuses to run its programs on maps of another layout
 * (user/lib/build.c); sizes and types it compares itself.
 */
#ifdef BPFMASQ_UPGRADE_TEST_LAYOUT
#define BPFMASQ_LAYOUT_VERSION 2	/* a layout change, for the test */
#else
#define BPFMASQ_LAYOUT_VERSION 1
#endif

#define BPFMASQ_ENUM(sym, name) sym,
enum bpfmasq_counter {
	BPFMASQ_COUNTERS(BPFMASQ_ENUM)
	CNT_MAX
};
#undef BPFMASQ_ENUM

/*
 * The drop reasons are CNT_FIRST_DROP up to CNT_END_DROP (the differential
 * tests and the metrics tell drops from other counters by it).  A counter
 * added after a release goes at the end, after them: an upgrade in place
 * keeps the running `stats` map and copies it by index, so a counter
 * inserted before others would show their counts under its name.
 */
#define CNT_FIRST_DROP DROP_MALFORMED_IP
#define CNT_END_DROP CNT_CONNS_EXPIRED

/* cfg_mss_clamp (bpf/config.h): 0 is off, this is "auto" (the route MTU
 * minus 40), anything else the MSS itself.  No MSS reaches it: an IPv4
 * packet of 65535 bytes carries at most 65495. */
#define MSS_CLAMP_AUTO	0xffff
#define MSS_CLAMP_MIN	536	/* RFC 9293's default MSS, which every host
				 * must accept */
#define MSS_CLAMP_MAX	65495

#endif /* BPFMASQ_H */
