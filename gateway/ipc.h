/*
 * The channel between the monitor and the network process (DESIGN §10):
 * one stream socketpair carrying frames
 *
 *     u32 length | u16 type | u16 flags | u64 id | length bytes of JSON
 *
 * whose payload is one JSON object of at most IPC_PAYLOAD_MAX bytes. A
 * side sends notices (no answer), calls (answered by a reply with the
 * call's id) and replies. Each side has one reader thread that takes
 * frames off the socket: replies go to whoever waits for them, anything
 * else to the side's handler. The type table is fixed; the receiver
 * checks every field of every message itself (ipc_str, ipc_int, ...).
 */
#ifndef MWG_GW_IPC_H
#define MWG_GW_IPC_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#define IPC_HDR_LEN		16
#define IPC_PAYLOAD_MAX		(16 * 1024 * 1024)

#define IPC_F_CALL		0x1	/* the sender waits for a reply */
#define IPC_F_REPLY		0x2	/* an answer to call `id` */

enum ipc_type {
	IPC_CLOSED = 0,		/* (local only) the peer is gone */
	/* the network process asks the monitor */
	IPC_AUDIT = 1,		/* append a record; a call waits until durable */
	IPC_JOB,		/* run an API request handler (login, EST, ...) */
	IPC_SSH_DEVICE,		/* the enrolled device of an SSH key */
	IPC_SSH_SESSION,	/* does this device hold a live session for u */
	IPC_SSH_THROTTLE,	/* must this person or address wait */
	IPC_SSH_KBDINT,		/* check a password and a code */
	IPC_SSH_GROUPS,		/* a person's groups (NSS) */
	IPC_TLS_SIGN,		/* sign a handshake's digest with the server key */
	IPC_NET_LAST,
	/* the monitor tells or asks the network process */
	IPC_INIT = 32,		/* the configuration, keys and listeners */
	IPC_RELOAD,		/* a new configuration */
	IPC_STATE,		/* a lock, unlock, revocation, device change */
	IPC_SESSIONS,		/* list the live tunnels */
	IPC_KILL,		/* close one tunnel */
	IPC_CLOSE_WHOSE,	/* close a person's or a device's tunnels */
	IPC_CLOSE_SERIALS,	/* close the tunnels of session certificates */
	IPC_REDECIDE,		/* decide tunnels again (policy, posture) */
	IPC_COUNTERS,		/* connection counters for mwgctl status */
	IPC_QUIT,		/* close every tunnel and exit */
	IPC_DRAIN,		/* refuse new connections (mwgctl drain) */
	IPC_MON_LAST,
};

struct ipc_hdr {
	uint32_t len;
	uint16_t type;
	uint16_t flags;
	uint64_t id;
};

struct ipc;

/*
 * A request (call or notice) on the reader thread. The handler owns msg;
 * a call must be answered once with ipc_reply (from any thread).
 */
typedef void (*ipc_handler_fn)(struct ipc *ch, int type, uint64_t id,
    int is_call, json_t *msg, void *arg);
/* A reply to ipc_call_async, on the reader thread (msg NULL: no reply, the
 * peer is gone). The callback owns msg. */
typedef void (*ipc_reply_fn)(json_t *msg, void *arg);

/* The channel on fd (a stream socket); starts its reader thread, which
 * accepts the types the other side may send (from_net: we are the
 * monitor). */
struct ipc *ipc_start(int fd, int from_net, ipc_handler_fn h, void *arg);
/* Stops the reader, fails every waiting call, closes fd, frees. */
void ipc_free(struct ipc *ch);
/* Whether the peer is still there. */
int ipc_alive(struct ipc *ch);

/* A notice (msg's reference is taken). 0 or -1 (peer gone). */
int ipc_send(struct ipc *ch, int type, json_t *msg);
/* A call: waits up to timeout_ms (0: no limit) for the reply (NULL on
 * timeout or if the peer went). msg's reference is taken. */
json_t *ipc_call(struct ipc *ch, int type, json_t *msg, int timeout_ms);
/* ipc_call in two steps: the frame is written by ipc_call_begin (so that
 * a caller can order it against other writes), the reply awaited by
 * ipc_call_end (which accepts NULL: the call could not be sent). */
struct ipc_pending;
struct ipc_pending *ipc_call_begin(struct ipc *ch, int type, json_t *msg);
json_t *ipc_call_end(struct ipc *ch, struct ipc_pending *p, int timeout_ms);
/* A call whose reply goes to fn(reply, arg) on the reader thread. */
int ipc_call_async(struct ipc *ch, int type, json_t *msg, ipc_reply_fn fn,
    void *arg);
/* Answers call id (msg's reference is taken). */
int ipc_reply(struct ipc *ch, uint64_t id, json_t *msg);

/*
 * Checks a frame's header and parses its payload: 0 with *msg a new
 * object, or -1 with why. Pure: the reader and the fuzz harness use it.
 * from_net: the reader is the monitor (the types the network process
 * may send).
 */
int ipc_decode(const unsigned char *hdr, const unsigned char *payload,
    size_t len, int from_net, struct ipc_hdr *h, json_t **msg, char *err,
    size_t errlen);
int ipc_hdr_parse(const unsigned char *buf, int from_net, struct ipc_hdr *h,
    char *err, size_t errlen);

/* Field readers for handlers: NULL/-1 if absent, of the wrong type, or
 * out of bounds. A string must be at most max bytes and hold no NUL. */
const char *ipc_str(json_t *msg, const char *key, size_t max);
int ipc_int(json_t *msg, const char *key, long long min, long long max,
    long long *out);
int ipc_bool(json_t *msg, const char *key, int *out);
/* Base64 field decoded into a new buffer (free it): NULL if bad or > max. */
unsigned char *ipc_b64(json_t *msg, const char *key, size_t max,
    size_t *len);
/*
 * Makes every later free of a JSON value wipe its bytes first: messages
 * carry passwords, codes and enrolment secrets, and neither process may
 * keep them in freed memory. Call once, before any JSON is made.
 */
void ipc_wipe_allocator(void);

/* Base64 of len bytes, as a new JSON string. */
json_t *ipc_b64_new(const void *p, size_t len);

#endif
