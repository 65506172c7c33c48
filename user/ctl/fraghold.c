// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include "fraghold.h"
#include "log.h"
#include "util.h"

struct held {
	bool used;
	struct frag_key key;
	__u64 deadline_ns;
	__u32 len;
	__u8 pkt[EV_PKT_MAX];
};

struct fraghold {
	int raw_fd;		/* IPPROTO_RAW: we write the IP header */
	unsigned int n;
	struct held slot[FRAGHOLD_SLOTS];
};

struct fraghold *fraghold_new(void)
{
	struct fraghold *fh = calloc(1, sizeof(*fh));

	if (!fh)
		return NULL;
	fh->raw_fd = raw_ip_socket(0);
	if (fh->raw_fd < 0) {
		free(fh);
		return NULL;
	}
	return fh;
}

void fraghold_free(struct fraghold *fh)
{
	if (!fh)
		return;
	close(fh->raw_fd);
	free(fh);
}

bool fraghold_add(struct fraghold *fh, const struct bpfmasq_frag_hold *h,
		  __u64 now_ns)
{
	if (h->ev.len < 20 || h->ev.len > EV_PKT_MAX)
		return false;
	for (int i = 0; i < FRAGHOLD_SLOTS; i++) {
		struct held *s = &fh->slot[i];

		if (s->used)
			continue;
		s->used = true;
		s->key = h->ev.key;
		s->deadline_ns = now_ns + FRAGHOLD_NS;
		s->len = h->ev.len;
		memcpy(s->pkt, h->pkt, h->ev.len);
		fh->n++;
		return true;
	}
	return false;
}

void frag_set_daddr(__u8 *pkt, __be32 daddr)
{
	__be16 check;

	memcpy(pkt + 16, &daddr, 4);
	pkt[10] = pkt[11] = 0;
	check = csum_finish(csum_add(0, pkt, (pkt[0] & 0xf) * 4));
	memcpy(pkt + 10, &check, 2);
}

static void drop_slot(struct fraghold *fh, struct held *s)
{
	s->used = false;
	fh->n--;
}

unsigned int fraghold_release(struct fraghold *fh,
			      const struct bpfmasq_frag_event *ev)
{
	unsigned int sent = 0;

	for (int i = 0; i < FRAGHOLD_SLOTS && fh->n; i++) {
		struct held *s = &fh->slot[i];
		struct sockaddr_in to = { .sin_family = AF_INET };

		if (!s->used || memcmp(&s->key, &ev->key, sizeof(s->key)))
			continue;
		/* To the host: as it came.  Else where the first went. */
		if (!(ev->val.flags & FRAG_TO_HOST))
			frag_set_daddr(s->pkt, ev->val.nat_addr);
		memcpy(&to.sin_addr, s->pkt + 16, 4);
		if (sendto(fh->raw_fd, s->pkt, s->len, 0,
			   (struct sockaddr *)&to, sizeof(to)) < 0)
			log_err("cannot send a held fragment on: %s",
				strerror(errno));
		else
			sent++;
		drop_slot(fh, s);
	}
	return sent;
}

unsigned int fraghold_expire(struct fraghold *fh, __u64 now_ns)
{
	unsigned int dropped = 0;

	for (int i = 0; i < FRAGHOLD_SLOTS && fh->n; i++) {
		struct held *s = &fh->slot[i];

		if (s->used && now_ns >= s->deadline_ns) {
			drop_slot(fh, s);
			dropped++;
		}
	}
	return dropped;
}

bool fraghold_empty(const struct fraghold *fh)
{
	return !fh->n;
}
