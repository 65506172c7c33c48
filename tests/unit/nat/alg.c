// SPDX-License-Identifier: GPL-2.0
/*
 * The data plane's share of the FTP and IRC ALGs (bpf/alg.h): a control
 * segment that may carry an address (PORT, EPRT, 227, 229 at its start, a
 * CTCP marker for IRC) is handed whole and untranslated to the controller
 * through the ring buffer (NAT_HELD: the program keeps it); everything
 * else on a control connection is translated as usual.
 */
#include "nat_test.h"

/* The segment the controller got last (alg_event_take()). */
static struct bpfmasq_alg_event alg_ev;
static int alg_events, other_events;

static int alg_event_seen(void *ctx, void *data, size_t size)
{
	const struct bpfmasq_alg_event *ev = data;

	if (size >= sizeof(*ev) && ev->type == EV_ALG_SEGMENT) {
		alg_ev = *ev;
		alg_events++;
	} else {
		other_events++;
	}
	return 0;
}

/* Read what the programs put in the ring since the last call. */
static void alg_events_take(struct env *e)
{
	struct ring_buffer *rb;

	alg_events = other_events = 0;
	rb = ring_buffer__new(bpf_map__fd(e->skel->maps.events),
			      alg_event_seen, NULL, NULL);
	if (!rb) {
		fail(e, "cannot read the events ring: %s", strerror(errno));
		return;
	}
	ring_buffer__consume(rb);
	ring_buffer__free(rb);
}

/*
 * The step's segment reached the controller once, whole and untranslated
 * (from its IP header on), with what the controller needs to rewrite it:
 * which ALG, which way, the flow's outbound key and external endpoint.
 */
static void handed_over(struct env *e, __u8 alg, bool to_server, __u8 dir,
			const struct flow_key *out_key, __u32 ext_port)
{
	static __u8 frame[PKT_MAX];
	struct pspec in = e->s->in;
	__u32 port;
	size_t len;

	if (!var_get(e, in.sport, &in.sport) || !var_get(e, in.dport, &in.dport))
		return;
	len = pkt_build(&in, frame);

	alg_events_take(e);
	if (!ASSERT_EQ(alg_events, 1, "segments handed to the controller") ||
	    !ASSERT_EQ(other_events, 0, "other events"))
		return;
	ASSERT_EQ(alg_ev.alg, alg, "event alg");
	ASSERT_EQ(alg_ev.to_server, to_server, "event to_server");
	ASSERT_EQ(alg_ev.dir, dir, "event dir");
	ASSERT_EQ(alg_ev.ext_addr, htonl(EXT), "event ext_addr");
	if (var_get(e, ext_port, &port))
		ASSERT_EQ(ntohs(alg_ev.ext_port), port, "event ext_port");
	ASSERT_TRUE(!memcmp(&alg_ev.out_key, out_key, sizeof(*out_key)),
		    "event out_key is the flow's outbound key");
	if (!ASSERT_EQ(alg_ev.len, len - ETH_LEN, "event len"))
		return;
	for (size_t i = 0; i < alg_ev.len; i++)
		if (alg_ev.pkt[i] != frame[ETH_LEN + i]) {
			fail(e, "event byte %zu (%s): 0x%02x, expected 0x%02x as the segment came",
			     i, pkt_field_name(&in, ETH_LEN + i), alg_ev.pkt[i],
			     frame[ETH_LEN + i]);
			break;
		}
}

static void nothing_handed_over(struct env *e)
{
	alg_events_take(e);
	ASSERT_EQ(alg_events, 0, "segments handed to the controller");
}

static void ftp_port_handed_over(struct env *e)
{
	struct flow_key k = flow_key_of(P_TCP, DIR_OUT, IN1, 40000, REM, 21);

	handed_over(e, ALG_FTP, true, DIR_OUT, &k, V0);
}

static void irc_dcc_handed_over(struct env *e)
{
	struct flow_key k = flow_key_of(P_TCP, DIR_OUT, IN1, 40001, REM, 6667);

	handed_over(e, ALG_IRC, true, DIR_OUT, &k, V1);
}

static void irc_resume_handed_over(struct env *e)
{
	struct flow_key k = flow_key_of(P_TCP, DIR_OUT, IN1, 40001, REM, 6667);

	handed_over(e, ALG_IRC, false, DIR_IN, &k, V1);
}

/*
 * What the controller does when it sent a segment on: the data plane may
 * translate this direction again once alg_sent reaches alg_handed.
 */
static void controller_caught_up(struct env *e, __u8 dir, __u32 s, __u32 sp,
				 __u32 d, __u32 dp)
{
	struct flow_key k = flow_key_of(P_TCP, dir, s, sp, d, dp);
	int handed = bpf_map__fd(e->skel->maps.alg_handed);
	int sent = bpf_map__fd(e->skel->maps.alg_sent);
	__u32 end;

	alg_events_take(e);
	if (bpf_map_lookup_elem(handed, &k, &end) ||
	    bpf_map_update_elem(sent, &k, &end, BPF_ANY))
		fail(e, "no segment of this direction was handed over");
}

static void ftp_caught_up(struct env *e)
{
	controller_caught_up(e, DIR_OUT, IN1, 40000, REM, 21);
}

static void irc_out_caught_up(struct env *e)
{
	controller_caught_up(e, DIR_OUT, IN1, 40001, REM, 6667);
}

static void irc_in_caught_up(struct env *e)
{
	__u32 ext_port;

	if (var_get(e, V1, &ext_port))
		controller_caught_up(e, DIR_IN, REM, 6667, EXT, ext_port);
}

#define PUNTED		{ CNT_ALG_PUNTED, 1 }
#define FTP_OUT(fl, ...)	TCP(IN1, 40000, REM, 21, fl, __VA_ARGS__)
#define FTP_XLATED(fl, ...)	TCP(EXT, V0, REM, 21, fl, __VA_ARGS__)
#define IRC_OUT(fl, ...)	TCP(IN1, 40001, REM, 6667, fl, __VA_ARGS__)
#define IRC_XLATED(fl, ...)	TCP(EXT, V1, REM, 6667, fl, __VA_ARGS__)
#define IRC_IN(fl, ...)		TCP(REM, 6667, EXT, V1, fl, __VA_ARGS__)
#define IRC_IN_XLATED(fl, ...)	TCP(REM, 6667, IN1, 40001, fl, __VA_ARGS__)

#define DCC_SEND	"PRIVMSG bob :\1DCC SEND f.txt 167772162 5000 10\1\r\n"
#define DCC_RESUME	":bob!b@h PRIVMSG me :\1DCC RESUME f.txt 5000 4\1\r\n"

static const struct step alg[] = {
	{
		.name = "ftp syn: translated, nothing to inspect",
		.prog = WAN_OUT,
		.in = FTP_OUT(F_SYN),
		.verdict = TC_ACT_OK,
		.out = FTP_XLATED(F_SYN),
		.cnt = { OUT_NEW },
		.after = nothing_handed_over,
	}, {
		.name = "ftp PORT: handed to the controller whole, not sent",
		.prog = WAN_OUT,
		.in = FTP_OUT(F_ACK, TEXT("PORT 10,0,0,2,156,64\r\n")),
		.verdict = TC_ACT_SHOT,
		.same = true,
		.cnt = { PUNTED },
		.after = ftp_port_handed_over,
	}, {
		.name = "ftp NOOP while the controller holds one: handed over too",
		.prog = WAN_OUT,
		.in = FTP_OUT(F_ACK, TEXT("NOOP\r\n")),
		.verdict = TC_ACT_SHOT,
		.same = true,
		.cnt = { PUNTED },
		.after = ftp_port_handed_over,
	}, {
		.name = "ftp NOOP once the controller caught up: translated",
		.prog = WAN_OUT,
		.before = ftp_caught_up,
		.in = FTP_OUT(F_ACK, TEXT("NOOP\r\n")),
		.verdict = TC_ACT_OK,
		.out = FTP_XLATED(F_ACK, TEXT("NOOP\r\n")),
		.cnt = { OUT_XLATED },
		.after = nothing_handed_over,
	}, {
		.name = "ftp eprt in lower case: handed over",
		.prog = WAN_OUT,
		.in = FTP_OUT(F_ACK, TEXT("eprt |1|10.0.0.2|40000|\r\n")),
		.verdict = TC_ACT_SHOT,
		.same = true,
		.cnt = { PUNTED },
		.after = ftp_port_handed_over,
	}, {
		.name = "ftp LIST: translated",
		.prog = WAN_OUT,
		.before = ftp_caught_up,
		.in = FTP_OUT(F_ACK, TEXT("LIST\r\n")),
		.verdict = TC_ACT_OK,
		.out = FTP_XLATED(F_ACK, TEXT("LIST\r\n")),
		.cnt = { OUT_XLATED },
		.after = nothing_handed_over,
	}, {
		.name = "ftp control segment on the lan fast path: left to tc",
		.prog = LAN_FAST,
		.in = FTP_OUT(F_ACK, TEXT("PORT 10,0,0,2,156,64\r\n")),
		.verdict = XDP_PASS,
		.same = true,
		.after = nothing_handed_over,
	}, {
		.name = "irc syn: translated",
		.prog = WAN_OUT,
		.in = IRC_OUT(F_SYN),
		.verdict = TC_ACT_OK,
		.out = IRC_XLATED(F_SYN),
		.cnt = { OUT_NEW },
		.after = nothing_handed_over,
	}, {
		.name = "irc message without a ctcp marker: translated",
		.prog = WAN_OUT,
		.in = IRC_OUT(F_ACK, TEXT("PRIVMSG bob :hi\r\n")),
		.verdict = TC_ACT_OK,
		.out = IRC_XLATED(F_ACK, TEXT("PRIVMSG bob :hi\r\n")),
		.cnt = { OUT_XLATED },
		.after = nothing_handed_over,
	}, {
		.name = "irc dcc send: handed to the controller",
		.prog = WAN_OUT,
		.in = IRC_OUT(F_ACK, TEXT(DCC_SEND)),
		.verdict = TC_ACT_SHOT,
		.same = true,
		.cnt = { PUNTED },
		.after = irc_dcc_handed_over,
	}, {
		.name = "irc dcc resume from the server: handed over, inbound",
		.prog = WAN_IN,
		.before = irc_out_caught_up,
		.in = IRC_IN(F_ACK, TEXT(DCC_RESUME)),
		.verdict = XDP_DROP,
		.same = true,
		.cnt = { PUNTED },
		.after = irc_resume_handed_over,
	}, {
		.name = "irc plain message from the server: translated",
		.prog = WAN_IN,
		.before = irc_in_caught_up,
		.in = IRC_IN(F_ACK, TEXT(":bob!b@h PRIVMSG me :hi\r\n")),
		.verdict = XDP_PASS,
		.out = IRC_IN_XLATED(F_ACK, TEXT(":bob!b@h PRIVMSG me :hi\r\n")),
		.cnt = { IN_XLATED },
		.after = nothing_handed_over,
	},
};

/* --no-alg ftp --no-alg irc: the same segments are only translated. */
static const struct step alg_off[] = {
	{
		.name = "ftp syn",
		.prog = WAN_OUT,
		.in = FTP_OUT(F_SYN),
		.verdict = TC_ACT_OK,
		.out = FTP_XLATED(F_SYN),
		.cnt = { OUT_NEW },
	}, {
		.name = "ftp PORT: translated, not handed over",
		.prog = WAN_OUT,
		.in = FTP_OUT(F_ACK, TEXT("PORT 10,0,0,2,156,64\r\n")),
		.verdict = TC_ACT_OK,
		.out = FTP_XLATED(F_ACK, TEXT("PORT 10,0,0,2,156,64\r\n")),
		.cnt = { OUT_XLATED },
		.after = nothing_handed_over,
	}, {
		.name = "irc syn",
		.prog = WAN_OUT,
		.in = IRC_OUT(F_SYN),
		.verdict = TC_ACT_OK,
		.out = IRC_XLATED(F_SYN),
		.cnt = { OUT_NEW },
	}, {
		.name = "irc dcc send: translated, not handed over",
		.prog = WAN_OUT,
		.in = IRC_OUT(F_ACK, TEXT(DCC_SEND)),
		.verdict = TC_ACT_OK,
		.out = IRC_XLATED(F_ACK, TEXT(DCC_SEND)),
		.cnt = { OUT_XLATED },
		.after = nothing_handed_over,
	},
};

static const struct group groups[] = {
	{ .name = "alg", STEPS(alg) },
	{ .name = "alg-off", .no_alg = true, STEPS(alg_off) },
};

FIXTURE(alg, groups);
