/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The connection event stream outside the data plane: names of its
 * records' fields, records made from connections and bindings, the
 * mapping log's line, and the controller's socket through which `monitor`
 * subscribes and the CLI hands over what `conns delete` removed.
 *
 * The socket is an abstract unix socket, "@bpfmasq/IFNAME.events":
 * abstract names belong to the network namespace, as the interface does
 * (two namespaces may each have a wan0), and leave no file behind a
 * controller killed with -9.  SOCK_SEQPACKET: a client sends a struct
 * connev_hello first; a subscriber then receives arrays of struct
 * conn_event (1 to CONNEV_BATCH a message: what the controller published
 * since it last sent), a publisher sends arrays of them too.  Only root (or the
 * controller's own user) may connect: the records name inside hosts.
 */
#ifndef BPFMASQ_CONNEV_H
#define BPFMASQ_CONNEV_H

#include <stddef.h>
#include <sys/socket.h>
#include <sys/un.h>
#include "bpfmasq.h"
#include "flowtable.h"

#define CONNEV_MAGIC	0x31766562	/* "bev1" */

enum connev_role {
	CONNEV_SUBSCRIBE = 1,	/* monitor, mapping-log readers, state sync */
	CONNEV_PUBLISH = 2,	/* the CLI's conns delete and flush */
};

struct connev_hello {
	__u32 magic;
	__u32 role;
};

/* Records in one message, either way. */
#define CONNEV_BATCH	64

/* "new", "destroy", "map", "unmap", "drop", "lost" (-e takes these). */
const char *conn_event_type_name(int type);
const char *conn_gone_name(int reason);
const char *conn_state_str(int state);

/* A DESTROY record of connection c, an UNMAP record of binding k/v. */
void conn_event_of_conn(struct conn_event *r, const struct conn *c, int reason);
void conn_event_of_bind(struct conn_event *r, const struct bind_key *k,
			const struct bind_val *v, int reason);

/*
 * A gone_sink whose removals become DESTROY and UNMAP records, each handed
 * to put(ctx, r): the controller's stream publishes them, the CLI's
 * deletes send them to the controller.
 */
struct gone_recorder {
	struct gone_sink sink;
	void (*put)(void *ctx, struct conn_event *r);
	void *ctx;
};
void gone_recorder_init(struct gone_recorder *g,
			void (*put)(void *ctx, struct conn_event *r), void *ctx);

int connev_sockaddr(const char *ifname, struct sockaddr_un *sa,
		    socklen_t *len);
/* A connected socket that has said hello as role, or -1 with errno
 * (ECONNREFUSED or ENOENT: no controller listens). */
int connev_connect(const char *ifname, int role);
/* Hand n records to the controller: 0, or -1 with errno. */
int connev_publish(const char *ifname, const struct conn_event *r, size_t n);

/*
 * The mapping log's line for a record (MAP, UNMAP and LOST only; 0 for
 * any other), without newline:
 *   2026-12-04T18:01:02.345Z wan0 MAP tcp 10.0.1.2:40001 192.0.2.1:62225
 *   2026-12-04T18:09:12.020Z wan0 UNMAP tcp 10.0.1.2:40001 192.0.2.1:62225 unused
 *   2026-12-04T18:09:13.000Z wan0 LOST 17
 * Returns the length, 0 when the record is no mapping-log event.
 */
size_t maplog_format(char *buf, size_t len, const char *ifname,
		     const struct conn_event *r);

/* UTC, milliseconds, as the mapping log and monitor -j print it. */
void fmt_utc_ms(char *buf, size_t len, __u64 time_ns);

#endif
