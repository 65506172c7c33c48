// SPDX-License-Identifier: GPL-2.0
/*
 * bpfmasq-portmap: a CNI plugin, chained after the one that gives the
 * container its address (bridge), that turns the runtime's port mappings
 * (`runtimeConfig.portMappings`, the `portMappings` capability, as
 * Debian's `portmap` plugin takes them) into `bpfmasq forward`s on the
 * WAN, and removes them when the container goes.  A forward names the
 * container's IP; the runtime calls ADD with the new IP each time the
 * container starts, so the forward follows it.
 *
 * It runs the bpfmasq CLI rather than linking its code: the CLI's checks
 * (the target must be masqueraded, the port must be free) and its error
 * messages stay in one place, and the plugin does not have to be rebuilt
 * in step with the BPF map layout.
 *
 * Which forwards a container owns is kept in a state file per attachment
 * (network, container id, interface) under /run/bpfmasq/cni/, written
 * before the forwards are added, so that DEL removes exactly those even
 * after a crash in between.  DEL removes a forward only while it still
 * points at the target recorded: a port another container took since is
 * left alone.  Invocations are serialised by a lock file.
 *
 * Config keys: "wanInterface" (required: the interface of `bpfmasq up`),
 * "bpfmasq" (the CLI's path; default BPFMASQ_PATH).  Spec:
 * https://github.com/containernetworking/cni/blob/main/SPEC.md
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <jansson.h>

#ifndef BPFMASQ_PATH
#define BPFMASQ_PATH "/usr/local/sbin/bpfmasq"
#endif
#define STATE_DIR "/run/bpfmasq/cni"
#define MAX_FWDS 256

/* The CNI spec's error codes (1-99 are the spec's, 100+ the plugin's). */
enum {
	CNI_ERR_VERSION = 1,	/* incompatible CNI version */
	CNI_ERR_ENV = 4,	/* invalid necessary environment variables */
	CNI_ERR_IO = 5,		/* I/O failure */
	CNI_ERR_DECODE = 6,	/* failed to decode content */
	CNI_ERR_CONFIG = 7,	/* invalid network config */
	CNI_ERR_BPFMASQ = 100,	/* bpfmasq refused or failed */
	CNI_ERR_CHECK = 101,	/* CHECK: a forward is not what it should be */
};

static const char *const supported_versions[] = {
	"0.3.0", "0.3.1", "0.4.0", "1.0.0", NULL
};

/* One forward: external PROTO PORT to TARGET ("IP:PORT"). */
struct fwd {
	char proto[4];
	unsigned int port;
	char target[24];
};

static const char *cni_version = "1.0.0";

static void __attribute__((noreturn, format(printf, 2, 3)))
cni_fail(int code, const char *fmt, ...)
{
	char msg[2048];
	va_list ap;
	json_t *e;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	/* The CLI's messages end in a newline; a message is one line. */
	for (char *p = msg; *p; p++)
		if (*p == '\n')
			*p = p[1] ? ' ' : '\0';
	e = json_pack("{s:s, s:i, s:s}", "cniVersion", cni_version,
		      "code", code, "msg", msg);
	json_dumpf(e, stdout, JSON_COMPACT);
	fputc('\n', stdout);
	exit(1);
}

static const char *env_need(const char *name)
{
	const char *v = getenv(name);

	if (!v || !*v)
		cni_fail(CNI_ERR_ENV, "%s is not set (this program is a CNI plugin: a container runtime runs it)",
			 name);
	return v;
}

/* A name that may be part of a file name: network, container id, ifname. */
static void check_name(const char *what, const char *s)
{
	size_t n = strlen(s);

	if (!n || n > 128 || s[0] == '.')
		goto bad;
	for (size_t i = 0; i < n; i++)
		if (!isalnum((unsigned char)s[i]) && !strchr("_.-", s[i]))
			goto bad;
	return;
bad:
	cni_fail(CNI_ERR_ENV, "%s '%s': expected 1 to 128 of A-Z a-z 0-9 _ . - (not starting with a dot)",
		 what, s);
}

/* ---- running the bpfmasq CLI ------------------------------------------ */

static char *read_memfd(int fd)
{
	off_t len = lseek(fd, 0, SEEK_END);
	char *buf;

	if (len < 0 || !(buf = calloc(1, len + 1)))
		return strdup("");
	if (pread(fd, buf, len, 0) < 0)
		buf[0] = '\0';
	return buf;
}

/*
 * Run BPFMASQ with ARGV (NULL-terminated, without argv[0]); its stdout and
 * stderr are collected (memfds: no pipe to drain while waiting) and
 * returned in *OUT and *ERR (the caller frees them).  Exit status, or -1.
 */
static int run_bpfmasq(const char *bpfmasq, const char *const *args,
		       char **out, char **err)
{
	const char *argv[12] = { bpfmasq };
	int ofd, efd, st, i;
	pid_t pid;

	for (i = 0; args[i] && i < 10; i++)
		argv[i + 1] = args[i];
	argv[i + 1] = NULL;
	ofd = memfd_create("bpfmasq-out", MFD_CLOEXEC);
	efd = memfd_create("bpfmasq-err", MFD_CLOEXEC);
	if (ofd < 0 || efd < 0)
		cni_fail(CNI_ERR_IO, "memfd_create: %s", strerror(errno));
	fflush(stdout);
	pid = fork();
	if (pid < 0)
		cni_fail(CNI_ERR_IO, "fork: %s", strerror(errno));
	if (!pid) {
		int null = open("/dev/null", O_RDONLY);

		dup2(null, 0);
		dup2(ofd, 1);
		dup2(efd, 2);
		execv(bpfmasq, (char *const *)argv);
		fprintf(stderr, "cannot run %s: %s (set \"bpfmasq\" in the plugin's config to the CLI's path)\n",
			bpfmasq, strerror(errno));
		_exit(127);
	}
	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR)
			cni_fail(CNI_ERR_IO, "waitpid: %s", strerror(errno));
	*out = read_memfd(ofd);
	*err = read_memfd(efd);
	close(ofd);
	close(efd);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static const char *strip_error(const char *s)
{
	return strncmp(s, "Error: ", 7) ? s : s + 7;
}

/* What a failed `bpfmasq -j` said: {"error": MSG} on stdout. */
static const char *json_error_msg(const char *out, const char *err)
{
	static char msg[1024];
	const char *e = NULL;
	json_t *j = json_loads(out, JSON_DISABLE_EOF_CHECK, NULL);

	if (json_unpack(j, "{s:s}", "error", &e) || !e)
		e = strip_error(err);
	snprintf(msg, sizeof(msg), "%s", e);
	json_decref(j);
	return msg;
}

/*
 * The live forwards of WAN, from `bpfmasq -j forward list`.  False when
 * WAN is not up (no forwards can exist then); fails otherwise.
 */
static bool live_forwards(const char *bpfmasq, const char *wan,
			  struct fwd *f, int *n)
{
	const char *args[] = { "-j", "forward", "list", wan, NULL };
	char *out, *err;
	json_error_t je;
	json_t *a, *row;
	size_t i;
	int rc;

	*n = 0;
	rc = run_bpfmasq(bpfmasq, args, &out, &err);
	if (rc) {
		const char *msg = json_error_msg(out, err);

		/* The CLI's words for an interface nobody brought up. */
		if (strstr(msg, " is not up")) {
			free(out);
			free(err);
			return false;
		}
		cni_fail(CNI_ERR_BPFMASQ, "bpfmasq forward list %s: %s", wan,
			 msg);
	}
	a = json_loads(out, 0, &je);
	if (!json_is_array(a))
		cni_fail(CNI_ERR_BPFMASQ, "bpfmasq -j forward list %s printed no JSON array: %s",
			 wan, out);
	json_array_foreach(a, i, row) {
		const char *proto, *inside, *outside, *colon;

		if (*n == MAX_FWDS)
			break;
		if (json_unpack(row, "{s:s, s:s, s:s}", "proto", &proto,
				"inside", &inside, "outside", &outside) ||
		    !(colon = strrchr(outside, ':')))
			continue;
		snprintf(f[*n].proto, sizeof(f[*n].proto), "%s", proto);
		f[*n].port = strtoul(colon + 1, NULL, 10);
		snprintf(f[*n].target, sizeof(f[*n].target), "%s", inside);
		(*n)++;
	}
	json_decref(a);
	free(out);
	free(err);
	return true;
}

static const struct fwd *fwd_find(const struct fwd *f, int n, const char *proto,
				  unsigned int port)
{
	for (int i = 0; i < n; i++)
		if (!strcmp(f[i].proto, proto) && f[i].port == port)
			return &f[i];
	return NULL;
}

static int forward_cmd(const char *bpfmasq, const char *wan, const char *verb,
		       const struct fwd *f, char **err)
{
	char port[8];
	const char *args[] = { "forward", verb, wan, f->proto, port,
			       !strcmp(verb, "add") ? f->target : NULL, NULL };
	char *out;
	int rc;

	snprintf(port, sizeof(port), "%u", f->port);
	rc = run_bpfmasq(bpfmasq, args, &out, err);
	free(out);
	return rc;
}

/* Delete each of F that still points where it did; count what went. */
static void remove_forwards(const char *bpfmasq, const char *wan,
			    const struct fwd *f, int n)
{
	struct fwd live[MAX_FWDS];
	const struct fwd *l;
	int nlive;
	char *err;

	if (!n || !live_forwards(bpfmasq, wan, live, &nlive))
		return;
	for (int i = 0; i < n; i++) {
		l = fwd_find(live, nlive, f[i].proto, f[i].port);
		if (!l || strcmp(l->target, f[i].target))
			continue;	/* gone, or another container's now */
		if (forward_cmd(bpfmasq, wan, "del", &f[i], &err))
			cni_fail(CNI_ERR_BPFMASQ, "bpfmasq forward del %s %s %u: %s",
				 wan, f[i].proto, f[i].port, strip_error(err));
		free(err);
	}
}

/* ---- state files -------------------------------------------------------- */

static char state_path[PATH_MAX];

static int lock_state_dir(void)
{
	int fd;

	if ((mkdir("/run/bpfmasq", 0755) && errno != EEXIST) ||
	    (mkdir(STATE_DIR, 0700) && errno != EEXIST))
		cni_fail(CNI_ERR_IO, "cannot create %s: %s", STATE_DIR,
			 strerror(errno));
	fd = open(STATE_DIR "/.lock", O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0 || flock(fd, LOCK_EX))
		cni_fail(CNI_ERR_IO, "cannot lock %s/.lock: %s", STATE_DIR,
			 strerror(errno));
	return fd;
}

/* The forwards recorded for this attachment, and the WAN they are on. */
static int state_read(struct fwd *f, char *wan, size_t wansz)
{
	json_error_t je;
	json_t *s, *fw, *e;
	const char *w;
	size_t i;
	int n = 0;

	s = json_load_file(state_path, 0, &je);
	if (!s) {
		if (access(state_path, F_OK) && errno == ENOENT)
			return 0;
		cni_fail(CNI_ERR_IO, "cannot read %s: %s", state_path, je.text);
	}
	if (json_unpack(s, "{s:s, s:o}", "wanInterface", &w, "forwards", &fw) ||
	    !json_is_array(fw))
		cni_fail(CNI_ERR_DECODE, "%s is not a state file of this plugin; delete it",
			 state_path);
	snprintf(wan, wansz, "%s", w);
	json_array_foreach(fw, i, e) {
		const char *p, *t;
		int port;

		if (n == MAX_FWDS ||
		    json_unpack(e, "{s:s, s:i, s:s}", "protocol", &p,
				"hostPort", &port, "target", &t))
			continue;
		snprintf(f[n].proto, sizeof(f[n].proto), "%s", p);
		f[n].port = port;
		snprintf(f[n].target, sizeof(f[n].target), "%s", t);
		n++;
	}
	json_decref(s);
	return n;
}

static void state_write(const char *wan, const char *cid, const struct fwd *f,
			int n)
{
	char tmp[PATH_MAX + 8];
	json_t *s, *a;

	a = json_array();
	for (int i = 0; i < n; i++)
		json_array_append_new(a, json_pack("{s:s, s:i, s:s}",
				      "protocol", f[i].proto, "hostPort", (int)f[i].port,
				      "target", f[i].target));
	s = json_pack("{s:s, s:s, s:o}", "wanInterface", wan,
		      "containerId", cid, "forwards", a);
	snprintf(tmp, sizeof(tmp), "%s.tmp", state_path);
	if (json_dump_file(s, tmp, JSON_INDENT(1)) || rename(tmp, state_path))
		cni_fail(CNI_ERR_IO, "cannot write %s: %s", state_path,
			 strerror(errno));
	json_decref(s);
}

/* ---- the network config ------------------------------------------------- */

struct config {
	json_t *root;
	const char *wan;
	const char *bpfmasq;
	json_t *prev;		/* prevResult, or NULL */
	json_t *mappings;	/* runtimeConfig.portMappings, or NULL */
};

static void config_read(struct config *c, bool need_wan)
{
	const char *ver = NULL, *name = NULL;
	json_t *rc = NULL;
	json_error_t je;
	bool ok = false;

	memset(c, 0, sizeof(*c));
	c->root = json_loadf(stdin, 0, &je);
	if (!c->root)
		cni_fail(CNI_ERR_DECODE, "the network config on stdin is not JSON: %s (line %d, column %d)",
			 je.text, je.line, je.column);
	if (json_unpack_ex(c->root, &je, 0, "{s:s, s:s, s?s, s?s, s?o, s?o}",
			   "cniVersion", &ver, "name", &name,
			   "wanInterface", &c->wan, "bpfmasq", &c->bpfmasq,
			   "prevResult", &c->prev, "runtimeConfig", &rc))
		cni_fail(CNI_ERR_CONFIG, "bad network config: %s", je.text);
	for (int i = 0; supported_versions[i]; i++)
		ok |= !strcmp(ver, supported_versions[i]);
	if (!ok)
		cni_fail(CNI_ERR_VERSION, "cniVersion %s is not supported (0.3.0, 0.3.1, 0.4.0, 1.0.0 are)",
			 ver);
	cni_version = ver;
	check_name("network name", name);
	if (need_wan && !c->wan)
		cni_fail(CNI_ERR_CONFIG, "the config has no \"wanInterface\": name the interface bpfmasq masquerades on (that of 'bpfmasq up IFNAME')");
	if (c->wan && (!*c->wan || strlen(c->wan) >= 16 || strchr(c->wan, '/')))
		cni_fail(CNI_ERR_CONFIG, "\"wanInterface\" '%s' is not an interface name",
			 c->wan);
	if (!c->bpfmasq)
		c->bpfmasq = BPFMASQ_PATH;
	if (c->bpfmasq[0] != '/')
		cni_fail(CNI_ERR_CONFIG, "\"bpfmasq\" '%s': give the absolute path of the bpfmasq CLI",
			 c->bpfmasq);
	if (c->prev && !json_is_object(c->prev))
		cni_fail(CNI_ERR_CONFIG, "\"prevResult\" is not an object");
	if (rc && json_is_object(rc))
		c->mappings = json_object_get(rc, "portMappings");
	if (c->mappings && !json_is_array(c->mappings) && !json_is_null(c->mappings))
		cni_fail(CNI_ERR_CONFIG, "runtimeConfig.portMappings is not an array");
	if (json_is_null(c->mappings))
		c->mappings = NULL;
	snprintf(state_path, sizeof(state_path), "%s/%s-%s-%s", STATE_DIR,
		 name, getenv("CNI_CONTAINERID"), getenv("CNI_IFNAME"));
}

/*
 * The container's IPv4 address from prevResult: the first one on an
 * interface inside the sandbox (the bridge plugin also lists the host's
 * bridge and veth), else the first IPv4 address.
 */
static bool container_ip(json_t *prev, char *ip, size_t sz)
{
	json_t *ips = json_object_get(prev, "ips");
	json_t *ifs = json_object_get(prev, "interfaces");
	bool found = false;
	json_t *e;
	size_t i;

	json_array_foreach(ips, i, e) {
		const char *addr, *sandbox = NULL;
		struct in_addr a;
		char buf[INET_ADDRSTRLEN + 4];
		json_int_t idx = -1;

		if (json_unpack(e, "{s:s, s?I}", "address", &addr,
				"interface", &idx))
			continue;
		snprintf(buf, sizeof(buf), "%s", addr);
		buf[strcspn(buf, "/")] = '\0';
		if (inet_pton(AF_INET, buf, &a) != 1)
			continue;
		if (idx >= 0)
			json_unpack(json_array_get(ifs, idx), "{s?s}",
				    "sandbox", &sandbox);
		if (!found || (sandbox && *sandbox)) {
			inet_ntop(AF_INET, &a, ip, sz);
			found = true;
		}
		if (sandbox && *sandbox)
			break;
	}
	return found;
}

/* The WAN's external address, for mappings that name a hostIP. */
static void wan_address(const struct config *c, char *addr, size_t sz)
{
	const char *args[] = { "-j", "status", c->wan, NULL };
	const char *ext = "";
	char *out, *err;
	json_t *s;

	if (run_bpfmasq(c->bpfmasq, args, &out, &err))
		cni_fail(CNI_ERR_BPFMASQ, "bpfmasq status %s: %s", c->wan,
			 json_error_msg(out, err));
	s = json_loads(out, 0, NULL);
	if (json_is_array(s))
		json_unpack(json_array_get(s, 0), "{s?s}", "external", &ext);
	else
		json_unpack(s, "{s?s}", "external", &ext);
	snprintf(addr, sz, "%s", ext);
	json_decref(s);
	free(out);
	free(err);
}

/*
 * The forwards the port mappings ask for, to IP.  A mapping bound to a
 * host address other than the WAN's (127.0.0.1, an IPv6 one), or of
 * another protocol (sctp), is not bpfmasq's to serve: it is left to
 * the plugins chained beside this one (portmap), and said on stderr.
 */
static int wanted_forwards(const struct config *c, const char *ip,
			   struct fwd *f)
{
	char ext[INET_ADDRSTRLEN] = "";
	json_t *m;
	size_t i;
	int n = 0;

	json_array_foreach(c->mappings, i, m) {
		const char *proto = "tcp", *host_ip = "";
		json_error_t je;
		json_int_t hp, cp;

		if (json_unpack_ex(m, &je, 0, "{s:I, s:I, s?s, s?s}",
				   "hostPort", &hp, "containerPort", &cp,
				   "protocol", &proto, "hostIP", &host_ip))
			cni_fail(CNI_ERR_CONFIG, "bad runtimeConfig.portMappings[%zu]: %s",
				 i, je.text);
		if (hp < 1 || hp > 65535 || cp < 1 || cp > 65535)
			cni_fail(CNI_ERR_CONFIG, "runtimeConfig.portMappings[%zu]: ports must be 1-65535",
				 i);
		if (strcasecmp(proto, "tcp") && strcasecmp(proto, "udp")) {
			fprintf(stderr, "bpfmasq-portmap: %s port %lld left alone: bpfmasq forwards tcp and udp\n",
				proto, (long long)hp);
			continue;
		}
		if (*host_ip && strcmp(host_ip, "0.0.0.0")) {
			if (!*ext)
				wan_address(c, ext, sizeof(ext));
			if (strcmp(host_ip, ext)) {
				fprintf(stderr, "bpfmasq-portmap: %s port %lld on %s left alone: bpfmasq forwards on %s's address %s only\n",
					proto, (long long)hp, host_ip, c->wan, ext);
				continue;
			}
		}
		if (n == MAX_FWDS)
			cni_fail(CNI_ERR_CONFIG, "more than %d port mappings",
				 MAX_FWDS);
		snprintf(f[n].proto, sizeof(f[n].proto), "%s",
			 strcasecmp(proto, "tcp") ? "udp" : "tcp");
		f[n].port = hp;
		snprintf(f[n].target, sizeof(f[n].target), "%s:%lld", ip,
			 (long long)cp);
		for (int j = 0; j < n; j++)
			if (!strcmp(f[j].proto, f[n].proto) && f[j].port == f[n].port)
				cni_fail(CNI_ERR_CONFIG, "%s port %u is mapped twice",
					 f[n].proto, f[n].port);
		n++;
	}
	return n;
}

/* ---- the commands ------------------------------------------------------- */

static void print_result(json_t *prev)
{
	json_t *r = json_deep_copy(prev);

	json_object_set_new(r, "cniVersion", json_string(cni_version));
	json_dumpf(r, stdout, JSON_COMPACT);
	fputc('\n', stdout);
	json_decref(r);
}

/* What ADD and CHECK read first: the runtime's variables and the network
 * config, which must carry a prevResult (no_prev: the error without one).
 * Returns the container's id. */
static const char *request_read(struct config *c, const char *no_prev)
{
	const char *cid;

	env_need("CNI_NETNS");
	cid = env_need("CNI_CONTAINERID");
	check_name("CNI_CONTAINERID", cid);
	check_name("CNI_IFNAME", env_need("CNI_IFNAME"));
	config_read(c, true);
	if (!c->prev)
		cni_fail(CNI_ERR_CONFIG, "%s", no_prev);
	return cid;
}

/* The forwards the mappings ask for, to the container's address (ip, of
 * INET_ADDRSTRLEN bytes) as prevResult gives it. */
static int container_forwards(const struct config *c, char *ip,
			      struct fwd *want)
{
	if (!container_ip(c->prev, ip, INET_ADDRSTRLEN))
		cni_fail(CNI_ERR_CONFIG, "prevResult has no IPv4 address for the container");
	return wanted_forwards(c, ip, want);
}

static int cmd_add(void)
{
	struct fwd want[MAX_FWDS], live[MAX_FWDS], old[MAX_FWDS];
	char ip[INET_ADDRSTRLEN], old_wan[16];
	bool added[MAX_FWDS] = { false };
	struct config c;
	const char *cid;
	int n, nlive, nold, i;
	char *err;

	cid = request_read(&c, "no prevResult: chain this plugin after one that gives the container its address (bridge)");
	if (!c.mappings || !json_array_size(c.mappings)) {
		print_result(c.prev);
		return 0;
	}
	n = container_forwards(&c, ip, want);
	lock_state_dir();
	/* An ADD again without a DEL (a runtime's retry): the old ones go. */
	nold = state_read(old, old_wan, sizeof(old_wan));
	if (nold)
		remove_forwards(c.bpfmasq, old_wan, old, nold);
	if (!n) {
		unlink(state_path);
		print_result(c.prev);
		return 0;
	}
	if (!live_forwards(c.bpfmasq, c.wan, live, &nlive))
		cni_fail(CNI_ERR_BPFMASQ, "%s is not up: bring bpfmasq up on it ('bpfmasq up %s') before containers with published ports start",
			 c.wan, c.wan);
	state_write(c.wan, cid, want, n);
	for (i = 0; i < n; i++) {
		const struct fwd *l = fwd_find(live, nlive, want[i].proto,
					       want[i].port);

		if (l && !strcmp(l->target, want[i].target))
			continue;
		if (forward_cmd(c.bpfmasq, c.wan, "add", &want[i], &err))
			break;
		added[i] = true;
		free(err);
	}
	if (i < n) {
		/* Undo what this ADD added: a failed ADD leaves nothing. */
		char msg[1024];
		int k = 0;

		snprintf(msg, sizeof(msg), "%s", strip_error(err));
		for (int j = 0; j < i; j++)
			if (added[j])
				want[k++] = want[j];
		remove_forwards(c.bpfmasq, c.wan, want, k);
		unlink(state_path);
		cni_fail(CNI_ERR_BPFMASQ, "bpfmasq forward add %s %s %u %s: %s",
			 c.wan, want[i].proto, want[i].port, want[i].target, msg);
	}
	print_result(c.prev);
	return 0;
}

static int cmd_del(void)
{
	struct fwd old[MAX_FWDS];
	char wan[16] = "";
	struct config c;
	int n;

	check_name("CNI_CONTAINERID", env_need("CNI_CONTAINERID"));
	check_name("CNI_IFNAME", env_need("CNI_IFNAME"));
	config_read(&c, false);
	lock_state_dir();
	n = state_read(old, wan, sizeof(wan));
	if (!n && c.wan && c.prev && c.mappings) {
		/* No state file (lost): what the config and prevResult say. */
		char ip[INET_ADDRSTRLEN];

		if (container_ip(c.prev, ip, sizeof(ip)))
			n = wanted_forwards(&c, ip, old);
		snprintf(wan, sizeof(wan), "%s", c.wan);
	}
	remove_forwards(c.bpfmasq, wan, old, n);
	if (unlink(state_path) && errno != ENOENT)
		cni_fail(CNI_ERR_IO, "cannot remove %s: %s", state_path,
			 strerror(errno));
	return 0;
}

static int cmd_check(void)
{
	struct fwd want[MAX_FWDS], live[MAX_FWDS], rec[MAX_FWDS];
	char ip[INET_ADDRSTRLEN], wan[16];
	struct config c;
	int n, nlive, nrec;

	request_read(&c, "CHECK needs a prevResult");
	if (!c.mappings || !json_array_size(c.mappings))
		return 0;
	n = container_forwards(&c, ip, want);
	lock_state_dir();
	nrec = state_read(rec, wan, sizeof(wan));
	if (n && !live_forwards(c.bpfmasq, c.wan, live, &nlive))
		cni_fail(CNI_ERR_CHECK, "%s is not up: its forwards are gone",
			 c.wan);
	for (int i = 0; i < n; i++) {
		const struct fwd *l = fwd_find(live, nlive, want[i].proto,
					       want[i].port);

		if (!l || strcmp(l->target, want[i].target))
			cni_fail(CNI_ERR_CHECK, "%s port %u of %s should be forwarded to %s, %s%s",
				 want[i].proto, want[i].port, c.wan,
				 want[i].target, l ? "is to " : "is not forwarded",
				 l ? l->target : "");
		if (!fwd_find(rec, nrec, want[i].proto, want[i].port))
			cni_fail(CNI_ERR_CHECK, "%s port %u is not recorded in %s",
				 want[i].proto, want[i].port, state_path);
	}
	return 0;
}

static int cmd_version(void)
{
	json_t *v = json_array();

	for (int i = 0; supported_versions[i]; i++)
		json_array_append_new(v, json_string(supported_versions[i]));
	json_dumpf(json_pack("{s:s, s:o}", "cniVersion", "1.0.0",
			     "supportedVersions", v), stdout, JSON_COMPACT);
	fputc('\n', stdout);
	return 0;
}

int main(int argc, char **argv)
{
	const char *cmd = getenv("CNI_COMMAND");

	if (!cmd || !*cmd) {
		fprintf(stderr,
			"bpfmasq-portmap: a CNI plugin (chained after bridge, with the portMappings\n"
			"capability) that keeps 'bpfmasq forward's in step with containers.\n"
			"Container runtimes run it with CNI_COMMAND=ADD|DEL|CHECK|VERSION and the\n"
			"network config on stdin; see bpfmasq's README, 'Container hosts'.\n");
		cni_fail(CNI_ERR_ENV, "CNI_COMMAND is not set");
	}
	if (!strcmp(cmd, "ADD"))
		return cmd_add();
	if (!strcmp(cmd, "DEL"))
		return cmd_del();
	if (!strcmp(cmd, "CHECK"))
		return cmd_check();
	if (!strcmp(cmd, "VERSION"))
		return cmd_version();
	cni_fail(CNI_ERR_ENV, "CNI_COMMAND %s is not supported (ADD, DEL, CHECK, VERSION are)",
		 cmd);
}
