/*
 * Posture collector "os": the distribution and its version from
 * os-release (ID, VERSION_ID; /etc first, then /usr/lib as the
 * os-release(5) manual says), and the running kernel's release from
 * /proc, or uname(2) on the live system when /proc cannot tell.
 */
#include <sys/utsname.h>

#include <stdlib.h>
#include <string.h>

#include "client/posture.h"

static char *
os_release(const char *root)
{
	char *text;

	if ((text = posture_read(root, "etc/os-release", NULL)) == NULL)
		text = posture_read(root, "usr/lib/os-release", NULL);
	return text;
}

static void
os_kernel(const char *root, struct posture_report *r)
{
	struct utsname u;
	char *text, *cursor, *line;

	if ((text = posture_read(root, "proc/sys/kernel/osrelease",
	    NULL)) != NULL) {
		cursor = text;
		if ((line = posture_next_line(&cursor)) != NULL)
			posture_text(r->kernel, line);
		free(text);
		return;
	}
	/* A tree's kernel is not ours: uname only for the live system. */
	if (posture_root_is_live(root) && uname(&u) == 0)
		posture_text(r->kernel, u.release);
}

int
posture_collect_os(const char *root, struct posture_report *r)
{
	char value[256], *text;

	os_kernel(root, r);
	if ((text = os_release(root)) == NULL)
		return -1;
	if (posture_shell_value(text, "ID", value, sizeof(value)))
		posture_text(r->os_id, value);
	/* Rolling releases (Arch, Debian sid) have no VERSION_ID. */
	if (posture_shell_value(text, "VERSION_ID", value, sizeof(value)))
		posture_text(r->os_version, value);
	free(text);
	return 0;
}
