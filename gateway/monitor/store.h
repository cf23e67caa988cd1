/*
 * store: mwgd's state — devices, enrolment codes (hashed), TOTP secrets
 * (AES-256-GCM at rest), locks, issued sessions, posture reports and
 * throttle counters — in SQLite (WAL) under the state directory, or in a
 * PostgreSQL database that several nodes share (mwgd.conf: store {
 * postgres "CONNINFO" }). Both back-ends run the same statements, and
 * each shared rule (a TOTP step used once, a code used once, a key on one
 * device, a throttle count) is one atomic statement, so it holds across
 * threads, processes and nodes alike.
 *
 * Thread-safety: a struct store is one database connection guarded by a
 * mutex inside it, so any thread (a worker, the auth pool) may call any
 * function. List callbacks run with that mutex held and must not call the
 * store.
 *
 * Returns: 0 on success and -1 on failure with a one-line reason in err
 * (err may be NULL), unless a function documents more values. Functions
 * report rather than log (only store_close, which cannot report, warns);
 * no reason ever holds a secret, only identifiers. After a -1,
 * store_unavailable() tells a database outage (answer 503, try later)
 * from every other failure.
 */
#ifndef MWG_STORE_H
#define MWG_STORE_H

#include <sys/types.h>

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#define STORE_ERR_MAX 256 /* size of the err buffers below */
#define STORE_DB_FILE "state.db"
#define STORE_KEY_FILE "secrets.key"

/* String limits include the NUL; longer input is refused with -1. */
#define STORE_NAME_MAX 64   /* device id, user, practice, code id */
#define STORE_FPR_MAX 65    /* SHA-256 of SPKI DER, lowercase hex */
#define STORE_SERIAL_MAX 64 /* certificate serial, hex */
#define STORE_LABEL_MAX 128
#define STORE_REASON_MAX 256
#define STORE_THROTTLE_KEY_MAX 128 /* "user:NAME", "ip:ADDRESS" */
#define STORE_CODE_SECRET_MAX 128  /* enrolment code secret */
#define STORE_TOTP_SECRET_MAX 64   /* raw TOTP key bytes */
#define STORE_POSTURE_MAX 16384	   /* posture report JSON, bytes */

struct store;

/*
 * Opens (creating on first use) dir/state.db and dir/secrets.key, both 0600,
 * and brings the schema up to date. Refuses a database written by a newer
 * mwgd, a key file that is not exactly 32 bytes or that group or others can
 * read, and a missing key file while TOTP secrets exist (a new key could
 * not decrypt them). Returns NULL with the reason in err.
 */
struct store *store_open(const char *dir, char *err, size_t errlen);
/*
 * As store_open when pg_conninfo is NULL; else the tables live in the
 * PostgreSQL database that pg_conninfo (a libpq connection string or URI)
 * names, and dir keeps only secrets.key, which every node sharing that
 * database must hold alike: the first records the key's id, and a store
 * with another key is refused. The schema is brought up to date under an
 * advisory lock, so nodes starting together migrate it once. The
 * connection has bounded waits (connect_timeout 5 s, TCP keepalives and
 * tcp_user_timeout 10 s unless pg_conninfo sets them), and a lost one is
 * made again by the next call. Returns NULL with the reason in err.
 */
struct store *store_open_with(const char *dir, const char *pg_conninfo,
			      char *err, size_t errlen);
/* Closes and wipes the key; NULL is a no-op. */
void store_close(struct store *st);
/*
 * 1 while the database cannot be reached: the last statement on st met a
 * refused or lost connection, and no call since has made it again. A
 * function that returned -1 then failed because of the outage, not the
 * request: its caller answers 503 ("try again in a minute"). Always 0 for
 * SQLite, and for NULL.
 *
 * (Not a return value of its own: callers compare with -1, and a new
 * negative answer would read as success or "not found" in some of them.)
 */
int store_unavailable(struct store *st);
/* "sqlite" or "postgresql". */
const char *store_backend(const struct store *st);
/* Database errors met so far by every store of this process (monitoring). */
unsigned long long store_errors_total(void);

/* ---- devices ------------------------------------------------------------ */

struct store_device {
	char id[STORE_NAME_MAX];
	char user[STORE_NAME_MAX]; /* the person it was enrolled for */
	char practice[STORE_NAME_MAX];
	int is_managed;
	char key_fpr[STORE_FPR_MAX];
	char cert_serial[STORE_SERIAL_MAX];
	time_t enrolled_at;
	time_t expires_at;   /* of the current device certificate */
	time_t last_seen_at; /* 0: never */
	time_t revoked_at;   /* 0: not revoked */
	char revoke_reason[STORE_REASON_MAX];
};

/*
 * Adds d (last_seen_at, revoked_at and revoke_reason are ignored). Returns 0,
 * 1 if the id or the key fingerprint is already in the store (a key belongs
 * to one device for ever, even after revocation), or -1.
 */
int store_device_add(struct store *st, const struct store_device *d, char *err,
		     size_t errlen);
/* Both fill *out and return 1 if found, 0 if not, -1 on error. */
int store_device_get(struct store *st, const char *id, struct store_device *out,
		     char *err, size_t errlen);
int store_device_by_fpr(struct store *st, const char *key_fpr,
			struct store_device *out, char *err, size_t errlen);
/*
 * Renewal: a new certificate (and perhaps a new key) for the same device id.
 * Returns 0, 1 if there is no such unrevoked device or the key belongs to
 * another device, -1 on error.
 */
int store_device_renew(struct store *st, const char *id, const char *key_fpr,
		       const char *cert_serial, time_t expires_at, char *err,
		       size_t errlen);
/*
 * Marks the device revoked at `at` (> 0). Idempotent: a second revocation
 * keeps the first time and reason. Returns 0, 1 if there is no such
 * device, -1 on error.
 */
int store_device_revoke(struct store *st, const char *id, const char *reason,
			time_t at, char *err, size_t errlen);
/* Sets last_seen_at. Returns 0, 1 if there is no such device, -1. */
int store_device_touch(struct store *st, const char *id, time_t at, char *err,
		       size_t errlen);

/* Non-zero from a callback stops the walk; the list call then returns 0. */
typedef int (*store_device_cb)(const struct store_device *d, void *arg);
/* Every device, oldest enrolment first. */
int store_device_list(struct store *st, store_device_cb cb, void *arg,
		      char *err, size_t errlen);

/* ---- enrolment codes ---------------------------------------------------- */

struct store_code {
	char id[STORE_NAME_MAX]; /* public half of ID:SECRET */
	char user[STORE_NAME_MAX];
	char practice[STORE_NAME_MAX];
	char label[STORE_LABEL_MAX];
	int is_managed;
	time_t created_at;
	time_t expires_at;
	time_t used_at;	      /* 0: unused */
	uid_t created_by_uid; /* the admin, from SO_PEERCRED */
	time_t withdrawn_at;  /* 0: not withdrawn (mwgctl enrol-code withdraw) */
	/*
	 * Filled by store_code_list only: the device enrolled with the code,
	 * found as the device of the same person and practice enrolled at
	 * the second the code was used ("" if none, e.g. a failed enrolment
	 * that could not give the code back).
	 */
	char used_by[STORE_NAME_MAX];
};

/*
 * Adds code c (used_at is ignored) with its secret, which is kept only as
 * SHA-256(random salt | secret). Returns 0, 1 if the id exists, -1.
 */
int store_code_add(struct store *st, const struct store_code *c,
		   const char *secret, char *err, size_t errlen);
/*
 * Uses code id once, atomically: the secret must match, the code must be
 * unused, not withdrawn and unexpired at `now`. Returns 0 and fills *out;
 * or 1 for every refusal alike, with *why set to "unknown", "wrong
 * secret", "used", "withdrawn" or "expired" for the audit record only
 * (never tell the client which); or -1 on error. *out is only filled on 0.
 */
int store_code_consume(struct store *st, const char *id, const char *secret,
		       time_t now, struct store_code *out, const char **why,
		       char *err, size_t errlen);
/*
 * Undoes a consumption at used_at that ended in an internal error after
 * it (no certificate was delivered), so the person can try again. Returns
 * 0, 1 if the code is not marked used at used_at (someone else's use, or
 * no such code), -1 on error.
 */
int store_code_restore(struct store *st, const char *id, time_t used_at,
		       char *err, size_t errlen);
/* Non-zero from a callback stops the walk; the list call then returns 0. */
typedef int (*store_code_cb)(const struct store_code *c, void *arg);
/* Every code, used, expired and withdrawn ones too, oldest first; never
 * a secret or its hash. */
int store_code_list(struct store *st, store_code_cb cb, void *arg, char *err,
		    size_t errlen);
/*
 * Withdraws code id at `at` (> 0), so that it can never be used, in one
 * statement with the check that it is unused (a racing enrolment either
 * used it first or finds it withdrawn). Returns 0 withdrawn, 1 if there
 * is no such code, 2 if it was used or withdrawn already (*out says
 * which), -1. *out (may be NULL) is filled on 0 and 2.
 */
int store_code_withdraw(struct store *st, const char *id, time_t at,
			struct store_code *out, char *err, size_t errlen);

/* ---- TOTP --------------------------------------------------------------- */

struct store_totp_info {
	unsigned int digits; /* 6..8 */
	unsigned int period; /* seconds per step, 1..300 */
	int64_t last_step;   /* the last accepted time step, 0: none */
	int failures;	     /* consecutive */
	time_t disabled_at;  /* 0: enabled */
	time_t enrolled_at;  /* set or replaced; 0: before mwg recorded it */
};

/*
 * Sets (or replaces) user's TOTP secret, encrypted with secrets.key; the
 * user name is the associated data, so a ciphertext moved to another row
 * does not decrypt. Resets last_step, failures and disabled_at.
 */
int store_totp_set(struct store *st, const char *user,
		   const unsigned char *secret, size_t len, unsigned int digits,
		   unsigned int period, char *err, size_t errlen);
/*
 * Decrypts user's secret into secret (STORE_TOTP_SECRET_MAX bytes), its
 * length into *lenp, and the rest into *info. Returns 1, 0 if the user has
 * no TOTP, -1 on error, including a ciphertext that does not authenticate.
 * The caller wipes secret with OPENSSL_cleanse after use.
 */
int store_totp_get(struct store *st, const char *user,
		   unsigned char secret[STORE_TOTP_SECRET_MAX], size_t *lenp,
		   struct store_totp_info *info, char *err, size_t errlen);
/*
 * The replay rule: accepts a verified code's time step only if it is newer
 * than the last accepted one and TOTP is enabled, and then resets failures.
 * One conditional UPDATE, so of two logins racing with the same code (in
 * this process or another) exactly one wins. Returns 0 accepted, 1 refused,
 * -1 on error.
 */
int store_totp_accept_step(struct store *st, const char *user, int64_t step,
			   char *err, size_t errlen);
/*
 * Counts one more consecutive failure into *count. Returns 0, 1 if the user
 * has no TOTP (*count = 0), -1. Disabling after N failures is the caller's.
 */
int store_totp_failure(struct store *st, const char *user, int *count,
		       char *err, size_t errlen);
/* Disables user's TOTP from `at` (> 0) until set again. 0, 1 none, -1. */
int store_totp_disable(struct store *st, const char *user, time_t at, char *err,
		       size_t errlen);
/* Called with each person's TOTP state (never the secret); non-zero stops. */
typedef int (*store_totp_cb)(const char *user,
			     const struct store_totp_info *info, void *arg);
/* Every person with a TOTP secret, by name. 0 or -1. */
int store_totp_list(struct store *st, store_totp_cb cb, void *arg, char *err,
		    size_t errlen);
/* Deletes user's TOTP secret and state. 0, 1 if user had none, -1. */
int store_totp_remove(struct store *st, const char *user, char *err,
		      size_t errlen);

/* ---- locks -------------------------------------------------------------- */

enum store_lock_kind {
	STORE_LOCK_USER,
	STORE_LOCK_DEVICE,
};

struct store_lock {
	enum store_lock_kind kind;
	char name[STORE_NAME_MAX];
	char reason[STORE_REASON_MAX];
	uid_t created_by_uid;
	time_t created_at;
	time_t until; /* 0: until removed */
};

/* Adds l, replacing an existing lock on the same kind and name. */
int store_lock_add(struct store *st, const struct store_lock *l, char *err,
		   size_t errlen);
/* Returns 0 removed, 1 if there was none, -1. */
int store_lock_remove(struct store *st, enum store_lock_kind kind,
		      const char *name, char *err, size_t errlen);
/*
 * Returns 1 if name is locked at `now` (until is 0 or later than now) and
 * copies its reason into reason (STORE_REASON_MAX bytes) unless NULL; 0 if
 * not; -1 on error.
 */
int store_locked(struct store *st, enum store_lock_kind kind, const char *name,
		 time_t now, char *reason, char *err, size_t errlen);
/* The lock row on (kind, name), expired or not: 1 found, 0 none, -1. */
int store_lock_get(struct store *st, enum store_lock_kind kind,
		   const char *name, struct store_lock *out, char *err,
		   size_t errlen);
typedef int (*store_lock_cb)(const struct store_lock *l, void *arg);
/* Every lock row, expired ones included; non-zero from cb stops. */
int store_lock_list(struct store *st, store_lock_cb cb, void *arg, char *err,
		    size_t errlen);

/* ---- sessions issued ---------------------------------------------------- */

struct store_session {
	char serial[STORE_SERIAL_MAX];
	char user[STORE_NAME_MAX];
	char device_id[STORE_NAME_MAX];
	time_t issued_at;
	time_t expires_at;
	time_t ended_at;	/* mwg logout; 0: not ended */
};

/* Returns 0, 1 if the serial exists or the device is unknown, -1. */
int store_session_add(struct store *st, const struct store_session *s,
		      char *err, size_t errlen);
/* Returns 1 and fills *out, 0 if not found, -1. */
int store_session_get(struct store *st, const char *serial,
		      struct store_session *out, char *err, size_t errlen);
/*
 * Whether device_id holds a session certificate for user that is valid at
 * now (issued at or before now, expiring after it, not ended by mwg
 * logout): the SSH listener reuses the two factors of that login.
 * Returns 1, 0 if none, -1.
 */
int store_session_live(struct store *st, const char *device_id,
		       const char *user, time_t now, char *err, size_t errlen);
/* Called with each session ended (serial and expiry filled); non-zero
 * stops. */
typedef int (*store_session_cb)(const struct store_session *s, void *arg);
/*
 * mwg logout: ends every session of user on device_id that is live at
 * now (ended_at = now), so the SSH listener's live-session path no longer
 * finds one; cb (may be NULL) hears of each. Returns how many, or -1.
 */
int store_session_end(struct store *st, const char *device_id,
		      const char *user, time_t now, store_session_cb cb,
		      void *arg, char *err, size_t errlen);
/*
 * Every session ended early whose certificate is still valid at now: the
 * TLS listener refuses them until they expire. 0, or -1.
 */
int store_session_ended_list(struct store *st, time_t now,
			     store_session_cb cb, void *arg, char *err,
			     size_t errlen);

/* ---- posture ------------------------------------------------------------ */

/*
 * Keeps report (JSON text, at most STORE_POSTURE_MAX bytes) as the device's
 * latest unless a report received later is already stored. Returns 0,
 * 1 if the device is unknown, -1.
 */
int store_posture_put(struct store *st, const char *device_id,
		      const char *report, time_t received_at, char *err,
		      size_t errlen);
/*
 * Returns 1 with *reportp (caller frees) and *received_at, 0 if the device
 * has no report, -1.
 */
int store_posture_get(struct store *st, const char *device_id, char **reportp,
		      time_t *received_at, char *err, size_t errlen);

/* ---- throttle ----------------------------------------------------------- */

/* Plain counters; the throttling policy belongs to the caller. */
struct store_throttle {
	int failures;
	time_t window_start;
	time_t next_allowed_at;
};

/* Returns 1 and fills *t, 0 (and *t zeroed) if key has no row, -1. */
int store_throttle_get(struct store *st, const char *key,
		       struct store_throttle *t, char *err, size_t errlen);
/* Inserts or replaces key's row. */
int store_throttle_put(struct store *st, const char *key,
		       const struct store_throttle *t, char *err,
		       size_t errlen);
/*
 * One more failure for key at now, counted by one statement (INSERT ...
 * ON CONFLICT DO UPDATE ... RETURNING), so failures racing on any thread
 * or node all count. A new key, or one whose window began `window`
 * seconds or more before now (or after now), starts again: failures 1,
 * window_start and next_allowed_at now. Fills *t with the row after the
 * change. 0 or -1.
 */
int store_throttle_count(struct store *st, const char *key, time_t now,
			 time_t window, struct store_throttle *t, char *err,
			 size_t errlen);
/*
 * Moves key's next_allowed_at on to `until`, never back (a racing
 * failure that asked for less does not shorten it). 0 (also if key has
 * no row), or -1.
 */
int store_throttle_hold(struct store *st, const char *key, time_t until,
			char *err, size_t errlen);
/* Deletes key's row (after a success); no row is not an error. */
int store_throttle_clear(struct store *st, const char *key, char *err,
			 size_t errlen);
typedef int (*store_throttle_cb)(const char *key,
				 const struct store_throttle *t, void *arg);
/* Every throttle row (stale ones too: the caller judges), by key; non-zero
 * from cb stops. 0 or -1. */
int store_throttle_list(struct store *st, store_throttle_cb cb, void *arg,
			char *err, size_t errlen);

/* ---- revoked certificates (the CRL) ------------------------------------ */

struct store_revoked {
	char serial[STORE_SERIAL_MAX];
	time_t revoked_at;  /* the device's revocation, or the renewal */
	time_t expires_at;  /* of the certificate: an expired one may go */
	int is_superseded;  /* replaced at renewal; the device not revoked */
};

typedef int (*store_revoked_cb)(const struct store_revoked *r, void *arg);
/*
 * Every certificate the gateway refuses because of revocation or renewal:
 * each certificate a revoked device ever held, the session certificates
 * issued to it, and device certificates replaced at renewal. Expired ones
 * included (the caller filters); non-zero from cb stops. 0 or -1.
 */
int store_revoked_list(struct store *st, store_revoked_cb cb, void *arg,
		       char *err, size_t errlen);

/* ---- changes made by other nodes (PostgreSQL) ---------------------------- */

/*
 * With PostgreSQL every change that the nodes' in-memory state mirrors
 * (a lock or unlock, a device enrolled, renewed or revoked, a session
 * ended, a posture report) is announced by a trigger in the changing
 * transaction (NOTIFY, delivered at its commit). A listener is a second
 * connection that LISTENs (on the channel of the store's schema); it
 * names what changed, and the caller reads
 * the row again from the store: the notice carries no state of its own.
 */
enum store_change_kind {
	STORE_CHANGE_LOCK,    /* is_user, name */
	STORE_CHANGE_DEVICE,  /* name: the device id */
	STORE_CHANGE_SESSION, /* name: the certificate serial (ended) */
	STORE_CHANGE_POSTURE, /* name: the device id */
};

struct store_change {
	enum store_change_kind kind;
	int is_user;		   /* STORE_CHANGE_LOCK: a person, else a device */
	char name[STORE_NAME_MAX]; /* a serial fits: STORE_SERIAL_MAX */
	int is_own;		   /* made through st's own connection */
};

typedef void (*store_change_fn)(const struct store_change *c, void *arg);
struct store_listener;

/* A listener on st's database; NULL (no error) for SQLite: one node. */
struct store_listener *store_listen_new(struct store *st);
/*
 * Waits up to timeout_ms (or until wake_fd, if not -1, is readable: the
 * caller's stop) for changes and calls fn on each. Returns 0; 1 when the
 * listening connection was made (again) since the last call, so changes
 * may have been missed: the caller reloads what it mirrors; -1 while the
 * database cannot be reached (err set; one try a second).
 */
int store_listen_wait(struct store_listener *l, int wake_fd, int timeout_ms,
		      store_change_fn fn, void *arg, char *err, size_t errlen);
void store_listen_free(struct store_listener *l);

#endif /* MWG_STORE_H */
