/*
 * Dropping root, or the capabilities of a start as the user itself (the
 * systemd unit): look the user up while /etc is readable, then drop.
 */
#ifndef MWG_GW_PRIVDROP_H
#define MWG_GW_PRIVDROP_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* group may be NULL (the user's primary group). 0, or -1 with err. */
int privdrop_lookup(const char *user, const char *group, uid_t *uid,
    gid_t *gid, char *err, size_t errlen);
/* The gid of group; 0, or -1 with err. */
int privdrop_group(const char *group, gid_t *gid, char *err, size_t errlen);
/*
 * Irreversibly becomes uid:gid with no other groups, not dumpable (test
 * builds excepted). 0, or -1 with err.
 */
int privdrop_to(uid_t uid, gid_t gid, char *err, size_t errlen);

/*
 * As privdrop_to, but the capabilities in keep (a mask of 1 << CAP_*)
 * stay permitted, not effective: the monitor keeps what it needs to
 * start a network process as another user in an empty root, and nothing
 * else (root's other powers, e.g. reading any file, are gone). Started
 * as uid already, holding capabilities (ambient ones from a service
 * manager): every other capability goes, the ambient and inheritable
 * sets are emptied, and the same checks follow.
 */
int privdrop_to_keeping(uid_t uid, gid_t gid, uint64_t keep, char *err,
    size_t errlen);
/*
 * Sets the capability sets (masks of 1 << CAP_*): 0 or -1. privdrop_ambient
 * raises one capability in the ambient set, so that it survives the exec of
 * the network process (which is no set-uid program).
 */
int privdrop_caps(uint64_t permitted, uint64_t effective,
    uint64_t inheritable);
int privdrop_ambient(int cap);
/* The permitted set (a mask of 1 << CAP_*); 0 if it cannot be read. */
uint64_t privdrop_held(void);
/* 1 if the process's group or one of its supplementary groups is gid. */
int privdrop_in_group(gid_t gid);

#endif
