/* Dropping root: look the user up while /etc is readable, then drop. */
#ifndef MWG_GW_PRIVDROP_H
#define MWG_GW_PRIVDROP_H

#include <stddef.h>
#include <sys/types.h>

/* group may be NULL (the user's primary group). 0, or -1 with err. */
int privdrop_lookup(const char *user, const char *group, uid_t *uid,
    gid_t *gid, char *err, size_t errlen);
/* The gid of group; 0, or -1 with err. */
int privdrop_group(const char *group, gid_t *gid, char *err, size_t errlen);
/* Irreversibly becomes uid:gid with no other groups. 0, or -1 with err. */
int privdrop_to(uid_t uid, gid_t gid, char *err, size_t errlen);

#endif
