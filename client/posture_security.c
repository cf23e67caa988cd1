/*
 * Posture collector "security": how many security updates are pending,
 * where the system itself has counted them without us running apt:
 * Ubuntu's update-notifier leaves var/lib/update-notifier/updates-available
 * ("12 updates can be applied immediately." then "5 of these updates are
 * standard security updates."). Security updates it says need a
 * subscription ("additional ... with ESM Apps") cannot be applied and are
 * not counted. Without that file (Debian), unknown.
 */
#include <stdlib.h>
#include <string.h>

#include "client/posture.h"

#define SEC_FILE	"var/lib/update-notifier/updates-available"

/* The number a line starts with, or -1. */
static long
sec_leading(const char *line)
{
	char *end;
	long n;

	line += strspn(line, " \t");
	if (*line < '0' || *line > '9')
		return -1;
	n = strtol(line, &end, 10);
	return *end == ' ' && n <= POSTURE_COUNT_MAX ? n : -1;
}

/* The pending total line: "N updates can be applied immediately." (22.04
 * on), "N packages can be updated." (before), "N update(s) can be ...". */
static int
sec_is_total(const char *line)
{
	return strstr(line, " can be applied") != NULL ||
	    strstr(line, " can be updated") != NULL ||
	    strstr(line, " can be installed") != NULL;
}

int
posture_collect_security(const char *root, struct posture_report *r)
{
	char *text, *cursor, *line;
	long n, count = 0;
	int has_total = 0;

	if ((text = posture_read(root, SEC_FILE, NULL)) == NULL)
		return -1;
	cursor = text;
	while ((line = posture_next_line(&cursor)) != NULL) {
		if ((n = sec_leading(line)) == -1 ||
		    strstr(line, "additional") != NULL)
			continue;
		if (strstr(line, "security update") != NULL)
			count += n;
		else if (sec_is_total(line))
			has_total = 1;
	}
	free(text);
	/* A file that says neither is one we cannot read: unknown. */
	if (has_total)
		r->security_updates = count > POSTURE_COUNT_MAX ?
		    POSTURE_COUNT_MAX : (int)count;
	return 0;
}
