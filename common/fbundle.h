/*
 * A file bundle: the configuration files one process read, carried to
 * another as data. The monitor records every file its parse of mwgd.conf
 * reads (the policy, includes, the TLS certificate, key and CA); the
 * network process, which cannot open files, parses the same names from
 * the bundle and so gets exactly the monitor's result.
 *
 * Recording and serving are process-wide and meant for one thread at a
 * time (the thread that loads the configuration).
 */
#ifndef MWG_FBUNDLE_H
#define MWG_FBUNDLE_H

#include <glob.h>
#include <stddef.h>

#include <jansson.h>

#define FBUNDLE_ERR_MAX	4352	/* a path (PATH_MAX) and why */

/* Every later fbundle_read/fbundle_glob is added to b (NULL: stop). */
void fbundle_record(json_t *b);
/* Reads come from b only (NULL: from the file system again). */
void fbundle_serve(json_t *b);
/* A new, empty bundle. */
json_t *fbundle_new(void);
/*
 * Reads path (a regular file of at most max bytes) into a NUL-terminated
 * malloc'd buffer. 0, or -1 with why in err ("cannot open P: E", "P: not a
 * regular file", "P: larger than N bytes", "P: read error").
 */
int fbundle_read(const char *path, size_t max, char **buf, size_t *len,
    char *err, size_t errlen);
/* glob(3) with GLOB_ERR, through the bundle; free with globfree. */
int fbundle_glob(const char *pattern, glob_t *g);
/*
 * Takes path's bytes out of b and marks it withheld: the server key stays
 * in the monitor, which signs for the network process. 1 if it was there.
 */
int fbundle_withhold(json_t *b, const char *path);
/* Whether path was withheld from the bundle being served. */
int fbundle_withheld(const char *path);
/* Whether a bundle is well formed (the network process checks it). */
int fbundle_valid(json_t *b);

#endif
