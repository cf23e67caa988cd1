/*
 * The tunnel engine of mwg connect, shared with mwg open and mwg proxy: a
 * listening socket whose every connection (from this OS user only) becomes
 * a CONNECT tunnel through the gateway with the session certificate, a
 * cut explained by GET /v1/closed. open and proxy add hooks: proxy picks
 * each connection's target from the browser's own CONNECT, and open shows
 * cuts as desktop notifications too.
 */
#ifndef MWG_CLIENT_TUNNEL_H
#define MWG_CLIENT_TUNNEL_H

#include "client/gw.h"

struct client_tunnels;

struct client_tunnel_hooks {
	/*
	 * Reads what the local program asks on fd, in the connection's
	 * thread: 1 with *t to open a tunnel to, 0 if it was answered here
	 * (nothing to tunnel), -1 if refused (answered and said here).
	 * sess is the session's TLS context this connection holds (for a
	 * request of its own), NULL if there is no valid session (a tunnel
	 * asked for is then refused as "not logged in"). NULL hook: every
	 * connection goes to the fixed target.
	 */
	int (*pick)(int fd, struct client_tls *sess, struct client_target *t,
	    void *arg);
	/* With pick: tells the local program the gateway's answer before
	 * the relay (status 200) or instead of it (reason). */
	void (*answered)(int fd, int status, const char *reason, void *arg);
	/* Every line said to the person about a tunnel (refusals, cuts),
	 * as printed on stderr, without "mwg: VERB: ". */
	void (*said)(const char *line, int is_cut, void *arg);
	void *arg;
};

/*
 * Everything before listening, as mwg connect does it: the state
 * directory (dir, or the default), the device (renewed if due), a valid
 * session, a fresh posture report. target is the fixed target (NULL with
 * hooks->pick), break_glass NULL or a checked reason. NULL after printing
 * "mwg: VERB: why" on stderr. With hooks->pick a missing session is only
 * a warning: one may come with the next mwg login.
 */
struct client_tunnels *client_tunnels_prepare(const char *verb,
    const char *dir, const struct client_target *target,
    const char *break_glass, int is_verbose,
    const struct client_tunnel_hooks *hooks);
/* The device loaded. Caller does not free. */
const struct client_device *client_tunnels_device(struct client_tunnels *ts);
/* The session's TLS context (for requests with the session certificate)
 * and its end, before serving; NULL if there is none. Caller does not
 * free; valid while ts is. */
struct client_tls *client_tunnels_session(struct client_tunnels *ts,
    time_t *not_after);
/* The fixed target (and break-glass reason), once it is known: before
 * serving. */
void client_tunnels_target(struct client_tunnels *ts,
    const struct client_target *t, const char *break_glass);
/* Accepts on lfd until a fatal error (returns CLIENT_EXIT_FAIL). */
int client_tunnels_serve(struct client_tunnels *ts, int lfd);
/*
 * Waits, at most secs seconds, until no tunnel is open (once the program
 * using them has exited, each ends as its local side closes). 1 if none
 * is left, 0 if some still were.
 */
int client_tunnels_wait(struct client_tunnels *ts, int secs);
/* A listening TCP socket on 127.0.0.1 at a port the kernel picks, that
 * port in *port. -1 after saying why. */
int client_tunnels_listen_any(const char *verb, int *port);

/* ---- what the person may reach: GET /v1/targets (client/targets.c) ---- */

#define CLIENT_TARGETS_PATH	"/v1/targets"
#define CLIENT_TARGETS_MAX	1000	/* as the gateway caps its answer */
#define CLIENT_TARGETS_FILE	"targets.json"	/* the last answer, in DIR */

struct client_reach {
	struct client_target	 t;		/* name.PRACTICE:port */
	char			 kind[8];	/* web, rdp, ssh, tcp */
	char			 host[CLIENT_HOST_MAX];	/* "" if none */
	char			 title[128];	/* the practice's name, or "" */
	int			 is_break_glass;	/* only with a reason */
};

struct client_reach_list {
	struct client_reach	*v;
	size_t			 n;
	int			 is_truncated;
};

/*
 * GET /v1/targets with the session's TLS context t. Every entry is
 * checked (names as NAME.PRACTICE:PORT, a known kind, a host name of
 * [a-z0-9.-]); one that is not is an error, as is a refusal (its reason
 * and status in err). 0 with *out filled (free with
 * client_reach_free), or -1.
 */
int client_reach_fetch(struct client_tls *t, struct client_reach_list *out,
    char *err, size_t errlen);
/*
 * The same, and the answer kept as DIR/targets.json for when there is no
 * session (mwg proxy's PAC file before a login). 
 */
int client_reach_fetch_keep(struct client_tls *t,
    const struct client_state *st, struct client_reach_list *out,
    char *err, size_t errlen);
/* The list last kept in DIR/targets.json. 0, or -1 with why. */
int client_reach_load_kept(const struct client_state *st,
    struct client_reach_list *out, char *err, size_t errlen);
void client_reach_free(struct client_reach_list *l);
/* The entry for NAME.PRACTICE (practice in any case), or NULL. */
const struct client_reach *client_reach_find(const struct client_reach_list *l,
    const char *name, const char *practice);

/* ---- mwg proxy (client/proxy.c) ---------------------------------------- */

#define CLIENT_PROXY_FILE	"proxy"		/* in DIR: its address */
#define CLIENT_PROXY_DEFAULT	"127.0.0.1:7411"

/*
 * 1 if an mwg proxy for dev's state directory accepts connections, with
 * its address ("127.0.0.1:7411") in addr; 0 if none does.
 */
int client_proxy_running(const struct client_device *dev, char *addr,
    size_t addrlen);

#endif
