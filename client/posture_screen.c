/*
 * Posture collector "screen": does the screen lock itself when idle?
 * dconf's database is binary and a person's own settings can override the
 * system's, so only what they cannot override counts as yes:
 *
 * GNOME: the system database "local" (etc/dconf/profile/user names
 * system-db:local) sets org/gnome/desktop/screensaver lock-enabled=true in
 * etc/dconf/db/local.d/ keyfiles, idle-delay (org/gnome/desktop/session)
 * is not 0, and both keys are locked in local.d/locks/. lock-enabled=false
 * or idle-delay=0 there is no. Set but not locked is unknown.
 *
 * KDE: home/ANY/.config/kscreenlockerrc, a person's own file: [Daemon]
 * Autolock=false is no; the file without it is yes (Autolock defaults on).
 *
 * Any no wins; then any yes; nothing found is unknown.
 */
#include <dirent.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client/posture.h"
#include "common/xmalloc.h"

#define SCREEN_FILES_MAX	128	/* keyfiles, lock files or homes read */
#define SCREEN_SECTION_MAX	128
#define SCREEN_PROFILE		"etc/dconf/profile/user"
#define SCREEN_LOCAL_D		"etc/dconf/db/local.d"
#define SCREEN_LOCKS_D		"etc/dconf/db/local.d/locks"
#define SCREEN_SAVER		"org/gnome/desktop/screensaver"
#define SCREEN_SESSION		"org/gnome/desktop/session"
#define SCREEN_KDE_RC		".config/kscreenlockerrc"

/* What local.d says, after every keyfile in name order (later wins). */
struct screen_gnome {
	int	lock_enabled;		/* -1 not set, 0 false, 1 true */
	long	idle_delay;		/* seconds; -1 not set */
	int	is_lock_locked;		/* lock-enabled is in locks/ */
	int	is_idle_locked;		/* idle-delay is in locks/ */
};

typedef void (*screen_kv_cb)(const char *section, const char *key,
    const char *value, void *arg);

static int
screen_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The entries of root/rel, sorted, hidden ones left out, at most
 * SCREEN_FILES_MAX. Returns how many; free with screen_list_free. */
static size_t
screen_list(const char *root, const char *rel, char ***namesp)
{
	char path[PATH_MAX], **names;
	struct dirent *de;
	size_t n = 0;
	DIR *d;

	*namesp = NULL;
	if (posture_path(root, rel, path, sizeof(path)) == -1 ||
	    (d = opendir(path)) == NULL)
		return 0;
	names = xcalloc(SCREEN_FILES_MAX, sizeof(*names));
	while (n < SCREEN_FILES_MAX && (de = readdir(d)) != NULL)
		if (de->d_name[0] != '.')
			names[n++] = xstrdup(de->d_name);
	closedir(d);
	qsort(names, n, sizeof(*names), screen_cmp);
	*namesp = names;
	return n;
}

static void
screen_list_free(char **names, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
}

static char *
screen_trim(char *s)
{
	size_t len;

	s += strspn(s, " \t");
	len = strlen(s);
	while (len > 0 && (s[len - 1] == ' ' || s[len - 1] == '\t' ||
	    s[len - 1] == '\r'))
		s[--len] = '\0';
	return s;
}

/* Every key=value line of an ini-style text, with its [section]. */
static void
screen_ini(char *text, screen_kv_cb cb, void *arg)
{
	char section[SCREEN_SECTION_MAX] = "", *cursor = text, *line, *end;

	while ((line = posture_next_line(&cursor)) != NULL) {
		line = screen_trim(line);
		if (*line == '[' && (end = strchr(line, ']')) != NULL) {
			*end = '\0';
			snprintf(section, sizeof(section), "%s", line + 1);
		} else if (*line != '#' && *line != ';' &&
		    (end = strchr(line, '=')) != NULL) {
			*end = '\0';
			cb(section, screen_trim(line), screen_trim(end + 1),
			    arg);
		}
	}
}

/* "300", "uint32 300": seconds; -1 if neither. */
static long
screen_seconds(const char *v)
{
	char *end;
	long n;

	if (strncmp(v, "uint32 ", 7) == 0)
		v += 7;
	if (*v < '0' || *v > '9')
		return -1;
	n = strtol(v, &end, 10);
	return *end == '\0' && n >= 0 ? n : -1;
}

static void
screen_gnome_kv(const char *section, const char *key, const char *value,
    void *arg)
{
	struct screen_gnome *g = arg;

	if (strcmp(section, SCREEN_SAVER) == 0 &&
	    strcmp(key, "lock-enabled") == 0) {
		if (strcmp(value, "true") == 0)
			g->lock_enabled = 1;
		else if (strcmp(value, "false") == 0)
			g->lock_enabled = 0;
	} else if (strcmp(section, SCREEN_SESSION) == 0 &&
	    strcmp(key, "idle-delay") == 0)
		g->idle_delay = screen_seconds(value);
}

/* local.d/locks/FILE: one key path a line. */
static void
screen_gnome_locks(const char *root, struct screen_gnome *g)
{
	char rel[PATH_MAX], **names, *text, *cursor, *line;
	size_t n = screen_list(root, SCREEN_LOCKS_D, &names);

	for (size_t i = 0; i < n; i++) {
		snprintf(rel, sizeof(rel), "%s/%s", SCREEN_LOCKS_D, names[i]);
		if ((text = posture_read(root, rel, NULL)) == NULL)
			continue;
		cursor = text;
		while ((line = posture_next_line(&cursor)) != NULL) {
			line = screen_trim(line);
			if (strcmp(line, "/" SCREEN_SAVER "/lock-enabled") == 0)
				g->is_lock_locked = 1;
			if (strcmp(line, "/" SCREEN_SESSION "/idle-delay") == 0)
				g->is_idle_locked = 1;
		}
		free(text);
	}
	screen_list_free(names, n);
}

/* 1 if the profile makes dconf read the system database "local". */
static int
screen_gnome_profile(const char *root)
{
	char *text, *cursor, *line;
	int found = 0;

	if ((text = posture_read(root, SCREEN_PROFILE, NULL)) == NULL)
		return 0;
	cursor = text;
	while ((line = posture_next_line(&cursor)) != NULL)
		if (strcmp(screen_trim(line), "system-db:local") == 0)
			found = 1;
	free(text);
	return found;
}

static enum posture_tri
screen_gnome(const char *root)
{
	struct screen_gnome g = { -1, -1, 0, 0 };
	char rel[PATH_MAX], **names, *text;
	size_t n;

	if (!screen_gnome_profile(root))
		return POSTURE_UNKNOWN;
	n = screen_list(root, SCREEN_LOCAL_D, &names);
	for (size_t i = 0; i < n; i++) {
		snprintf(rel, sizeof(rel), "%s/%s", SCREEN_LOCAL_D, names[i]);
		/* locks/ is a directory: posture_read leaves it out. */
		if ((text = posture_read(root, rel, NULL)) == NULL)
			continue;
		screen_ini(text, screen_gnome_kv, &g);
		free(text);
	}
	screen_list_free(names, n);
	screen_gnome_locks(root, &g);
	if (g.lock_enabled == 0 || g.idle_delay == 0)
		return POSTURE_NO;
	if (g.lock_enabled == 1 && g.is_lock_locked && g.is_idle_locked)
		return POSTURE_YES;
	return POSTURE_UNKNOWN;
}

static void
screen_kde_kv(const char *section, const char *key, const char *value,
    void *arg)
{
	/* "Autolock[$i]" is the same key, made immutable. */
	if (strcmp(section, "Daemon") == 0 && strncmp(key, "Autolock", 8) ==
	    0 && (key[8] == '\0' || key[8] == '[') &&
	    strcmp(value, "false") == 0)
		*(int *)arg = 1;
}

/* Any person whose kscreenlockerrc turns Autolock off is no. */
static enum posture_tri
screen_kde(const char *root)
{
	enum posture_tri t = POSTURE_UNKNOWN;
	char rel[PATH_MAX], **homes, *text;
	size_t n = screen_list(root, "home", &homes);
	int is_off;

	for (size_t i = 0; i < n && t != POSTURE_NO; i++) {
		snprintf(rel, sizeof(rel), "home/%s/%s", homes[i],
		    SCREEN_KDE_RC);
		if ((text = posture_read(root, rel, NULL)) == NULL)
			continue;
		is_off = 0;
		screen_ini(text, screen_kde_kv, &is_off);
		free(text);
		t = is_off ? POSTURE_NO : POSTURE_YES;
	}
	screen_list_free(homes, n);
	return t;
}

int
posture_collect_screen(const char *root, struct posture_report *r)
{
	enum posture_tri gnome = screen_gnome(root), kde = screen_kde(root);

	if (gnome == POSTURE_NO || kde == POSTURE_NO)
		r->screen_lock = POSTURE_NO;
	else if (gnome == POSTURE_YES || kde == POSTURE_YES)
		r->screen_lock = POSTURE_YES;
	return 0;
}
