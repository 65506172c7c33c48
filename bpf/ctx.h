/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The one context layer: what code serving both hooks needs to read and
 * write a packet, whether its context is an XDP frame (struct xdp_md) or
 * an skb at tc (struct __sk_buff).  Code written once takes `void *ctx,
 * bool xdp`; the flag is a constant once inlined, so each program keeps
 * only its own hook's branch.  What must be verified on its own (a loop,
 * a frame of its own) becomes a pair of global functions, one per hook,
 * made by HOOK_TWINS() and nothing else.
 */
#ifndef BPFMASQ_CTX_H
#define BPFMASQ_CTX_H

/*
 * Packet pointers read straight from the context.  clang likes to keep
 * &ctx->data in a register and dereference it later as a modified context
 * pointer, which the verifier refuses; a fresh load each time cannot be
 * rewritten that way.
 */
#define CTX_LOAD_PTR(ctx, field)					\
	({								\
		__u64 __v;						\
		asm volatile("%0 = *(u32 *)(%1 + %2)"			\
			     : "=r"(__v)				\
			     : "r"(ctx), "i"(offsetof(typeof(*(ctx)), field))); \
		(void *)(long)__v;					\
	})
#define ctx_data(ctx)		CTX_LOAD_PTR(ctx, data)
#define ctx_data_end(ctx)	CTX_LOAD_PTR(ctx, data_end)

static __always_inline void *pkt_data(void *ctx, bool xdp)
{
	return xdp ? ctx_data((struct xdp_md *)ctx) :
		     ctx_data((struct __sk_buff *)ctx);
}

static __always_inline void *pkt_end(void *ctx, bool xdp)
{
	return xdp ? ctx_data_end((struct xdp_md *)ctx) :
		     ctx_data_end((struct __sk_buff *)ctx);
}

/* A hook's verdicts for "on to the stack" and "dropped". */
#define ACT_PASS(xdp)	((xdp) ? XDP_PASS : TC_ACT_OK)
#define ACT_DROP(xdp)	((xdp) ? XDP_DROP : TC_ACT_SHOT)

/* Where the packet came in. */
static __always_inline __u32 pkt_ifindex(void *ctx, bool xdp)
{
	return xdp ? ((struct xdp_md *)ctx)->ingress_ifindex :
		     ((struct __sk_buff *)ctx)->ingress_ifindex;
}

/* Bytes at any offset, linear or not. */
static __always_inline int pkt_load(void *ctx, bool xdp, __u32 off, void *buf,
				    __u32 len)
{
	return xdp ? bpf_xdp_load_bytes(ctx, off, buf, len) :
		     bpf_skb_load_bytes(ctx, off, buf, len);
}

/* Bounds-checked pointer into an XDP frame; off is always < 256 here. */
#define FRAME_PTR(data, data_end, off, type)				\
	({								\
		type *__p = (data) + ((off) & 0xff);			\
		(void *)(__p + 1) > (data_end) ? NULL : __p;		\
	})
#define XDP_PTR(ctx, off, type)						\
	FRAME_PTR(ctx_data(ctx), ctx_data_end(ctx), off, type)

/*
 * Store 4 bytes of the L4 header at off (below 256) and update the L4
 * checksum at csum_off with them: 0, or -DROP_MALFORMED_L4.  XDP frames
 * carry complete checksums, updated incrementally here; at tc the
 * kernel's helper knows whether the skb's checksum is partial (then the
 * field covers the header later, and it leaves it alone).  Byte stores
 * on XDP: off need not be aligned.
 */
static __always_inline int pkt_store4_l4csum(void *ctx, bool xdp, __u32 off,
					     __u32 csum_off, __be32 old,
					     __be32 new)
{
	if (xdp) {
		__u8 *f = (__u8 *)XDP_PTR((struct xdp_md *)ctx, off, __be32);
		__sum16 *sum = XDP_PTR((struct xdp_md *)ctx, csum_off, __sum16);

		if (!f || !sum)
			return -DROP_MALFORMED_L4;
		csum_replace4(sum, old, new);
		__builtin_memcpy(f, &new, sizeof(new));
		return 0;
	}
	if (bpf_l4_csum_replace(ctx, csum_off, old, new, sizeof(new)) ||
	    bpf_skb_store_bytes(ctx, off, &new, sizeof(new), 0))
		return -DROP_MALFORMED_L4;
	return 0;
}

/*
 * HOOK_TWINS(type, name, (params), (args)): the global functions
 * name##_xdp() and name##_tc(), each running the always-inline
 * name##_body(ctx, xdp, args) for its hook, and name(ctx, xdp, args),
 * which calls its hook's one.  Global, so that the verifier checks the
 * body once, on its own and in its own stack frame, rather than inside
 * every path of the programs that call it; one per hook, because a
 * global function's context argument has one program type.  Their other
 * arguments must be scalars: a flow key travels as two words
 * (flow_key_pack()).  A program takes only the twin it calls.
 */
#define HOOK_ARGS(...)	__VA_ARGS__
#define HOOK_TWINS(type, name, params, args)				\
__attribute__((noinline)) type name##_xdp(struct xdp_md *ctx,		\
					  HOOK_ARGS params)		\
{									\
	return name##_body(ctx, true, HOOK_ARGS args);			\
}									\
__attribute__((noinline)) type name##_tc(struct __sk_buff *ctx,	\
					 HOOK_ARGS params)		\
{									\
	return name##_body(ctx, false, HOOK_ARGS args);			\
}									\
static __always_inline type name(void *ctx, bool xdp, HOOK_ARGS params)	\
{									\
	return xdp ? name##_xdp(ctx, HOOK_ARGS args) :			\
		     name##_tc(ctx, HOOK_ARGS args);			\
}

/* A flow key as the two words a global function can take, and back; a
 * binding's key as one. */
_Static_assert(sizeof(struct flow_key) == 2 * sizeof(__u64),
	       "struct flow_key travels as two words");

static __always_inline void flow_key_pack(const struct flow_key *key,
					  __u64 w[2])
{
	__builtin_memcpy(w, key, sizeof(*key));
}

static __always_inline void flow_key_unpack(struct flow_key *key, __u64 w0,
					    __u64 w1)
{
	__builtin_memcpy(key, &w0, sizeof(w0));
	__builtin_memcpy((char *)key + sizeof(w0), &w1, sizeof(w1));
}

_Static_assert(sizeof(struct bind_key) == sizeof(__u64),
	       "struct bind_key travels as one word");

static __always_inline __u64 bind_key_pack(const struct bind_key *key)
{
	__u64 w;

	__builtin_memcpy(&w, key, sizeof(w));
	return w;
}

static __always_inline void bind_key_unpack(struct bind_key *key, __u64 w)
{
	__builtin_memcpy(key, &w, sizeof(w));
}

#endif
