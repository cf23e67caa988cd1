/*
 * Posture collector "disk": is the root filesystem encrypted? The device
 * mounted at / (from /proc's mount table) is followed through the device
 * mapper in /sys: a dm-crypt (LUKS or plain) layer on every path down to
 * the disk is yes; a plain disk partition anywhere below it is no; what
 * cannot be told (overlay, tmpfs, network or container roots, RAID, ZFS,
 * stacks deeper than DISK_DEPTH) stays unknown.
 */
#include <dirent.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client/posture.h"

#define DISK_DEPTH	4	/* device-mapper layers followed */
#define DISK_SLAVES_MAX	64	/* devices under one layer */
#define DISK_DM_MAX	4096	/* dm-N devices searched for a name */

/* The device of the last mount on "/" (a later mount hides an earlier). */
static int
disk_root_device(const char *root, char *dev, size_t devlen)
{
	char *text, *cursor, *line, *src, *dst, *save;
	int found = 0;

	if ((text = posture_read(root, "proc/self/mounts", NULL)) == NULL &&
	    (text = posture_read(root, "proc/mounts", NULL)) == NULL)
		return -1;
	cursor = text;
	while ((line = posture_next_line(&cursor)) != NULL) {
		if ((src = strtok_r(line, " \t", &save)) == NULL ||
		    (dst = strtok_r(NULL, " \t", &save)) == NULL ||
		    strcmp(dst, "/") != 0)
			continue;
		found = snprintf(dev, devlen, "%s", src) < (int)devlen;
	}
	free(text);
	return found ? 0 : -1;
}

/* sda2, vdb, xvda1, hda1, nvme0n1p3, mmcblk0p2: a disk or its partition. */
static int
disk_is_plain(const char *name)
{
	static const char *const prefixes[] = { "sd", "vd", "xvd", "hd",
	    "nvme", "mmcblk" };

	for (size_t i = 0; i < sizeof(prefixes) / sizeof(prefixes[0]); i++)
		if (strncmp(name, prefixes[i], strlen(prefixes[i])) == 0 &&
		    name[strlen(prefixes[i])] != '\0')
			return 1;
	return 0;
}

static int
disk_is_dm(const char *name)
{
	return strncmp(name, "dm-", 3) == 0 && name[3] != '\0' &&
	    strspn(name + 3, "0123456789") == strlen(name + 3);
}

static enum posture_tri disk_layer(const char *root, const char *rel,
    int depth);

/* Every device a layer sits on: any plain one is no, all crypt is yes. */
static enum posture_tri
disk_slaves(const char *root, const char *rel, int depth)
{
	char path[PATH_MAX], sub[PATH_MAX];
	enum posture_tri t, all = POSTURE_YES;
	struct dirent *de;
	int n = 0;
	DIR *d;

	if (posture_path(root, rel, path, sizeof(path)) == -1 ||
	    strlen(path) + sizeof("/slaves") > sizeof(path))
		return POSTURE_UNKNOWN;
	strcat(path, "/slaves");
	if ((d = opendir(path)) == NULL)
		return POSTURE_UNKNOWN;
	while (all != POSTURE_NO && (de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		if (++n > DISK_SLAVES_MAX)
			t = POSTURE_UNKNOWN;
		else if (disk_is_dm(de->d_name) && snprintf(sub, sizeof(sub),
		    "%s/slaves/%s", rel, de->d_name) < (int)sizeof(sub))
			t = disk_layer(root, sub, depth + 1);
		else
			t = disk_is_plain(de->d_name) ? POSTURE_NO :
			    POSTURE_UNKNOWN;
		if (t != POSTURE_YES)
			all = t == POSTURE_NO ? POSTURE_NO : POSTURE_UNKNOWN;
	}
	closedir(d);
	return n == 0 ? POSTURE_UNKNOWN : all;
}

/* A device-mapper device at rel ("sys/block/dm-1", or one of its slaves
 * seen through the link sysfs keeps for it). */
static enum posture_tri
disk_layer(const char *root, const char *rel, int depth)
{
	char path[PATH_MAX], *uuid;
	int is_crypt;

	if (depth > DISK_DEPTH || snprintf(path, sizeof(path), "%s/dm/uuid",
	    rel) >= (int)sizeof(path) ||
	    (uuid = posture_read(root, path, NULL)) == NULL)
		return POSTURE_UNKNOWN;
	/* cryptsetup names its mappings' uuids CRYPT-LUKS2-..., CRYPT-PLAIN-... */
	is_crypt = strncmp(uuid, "CRYPT-", 6) == 0;
	free(uuid);
	return is_crypt ? POSTURE_YES : disk_slaves(root, rel, depth);
}

/* The dm-N whose dm/name is name (what /dev/mapper/NAME points to). */
static int
disk_dm_by_name(const char *root, const char *name, char *dm, size_t dmlen)
{
	char path[PATH_MAX], rel[64], *text, *cursor, *line;
	struct dirent *de;
	int n = 0, found = 0;
	DIR *d;

	if (posture_path(root, "sys/block", path, sizeof(path)) == -1 ||
	    (d = opendir(path)) == NULL)
		return -1;
	while (!found && n++ < DISK_DM_MAX && (de = readdir(d)) != NULL) {
		if (!disk_is_dm(de->d_name) || snprintf(rel, sizeof(rel),
		    "sys/block/%s/dm/name", de->d_name) >= (int)sizeof(rel) ||
		    (text = posture_read(root, rel, NULL)) == NULL)
			continue;
		cursor = text;
		line = posture_next_line(&cursor);
		found = line != NULL && strcmp(line, name) == 0 &&
		    snprintf(dm, dmlen, "%s", de->d_name) < (int)dmlen;
		free(text);
	}
	closedir(d);
	return found ? 0 : -1;
}

int
posture_collect_disk(const char *root, struct posture_report *r)
{
	char dev[PATH_MAX], dm[64], rel[96];
	const char *name;

	if (disk_root_device(root, dev, sizeof(dev)) == -1)
		return -1;
	name = strncmp(dev, "/dev/", 5) == 0 ? dev + 5 : "";
	if (strncmp(name, "mapper/", 7) == 0) {
		if (disk_dm_by_name(root, name + 7, dm, sizeof(dm)) == -1)
			return 0;	/* unknown */
		name = dm;
	} else if (!disk_is_dm(name) || strlen(name) >= sizeof(dm)) {
		/* overlay, tmpfs, a network root, /dev/root: unknown. */
		if (disk_is_plain(name))
			r->disk_encryption = POSTURE_NO;
		return 0;
	}
	snprintf(rel, sizeof(rel), "sys/block/%.63s", name);
	r->disk_encryption = disk_layer(root, rel, 0);
	return 0;
}
