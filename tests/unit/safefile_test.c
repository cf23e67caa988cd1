/*
 * common/safefile: every link, second name, foreign owner and open
 * directory that a daemon's user could plant is refused with a message
 * naming the path and what is wrong, and the file behind it is untouched.
 * Cases that need another uid (chown) run as root only, as CI does.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "common/safefile.h"
#include "unit.h"

#define OTHER_UID	12345	/* a user who is neither root nor us */
#define OTHER_GID	12345

static char tmp_dir[64];

static void
setup(void)
{
	umask(022);
	make_tmp_dir(tmp_dir, sizeof(tmp_dir), "mwg-safefile");
}

static void
teardown(void)
{
	remove_tree(tmp_dir);
}

TestSuite(safefile, .init = setup, .fini = teardown);

static void
need_root(void)
{
	if (geteuid() != 0)
		UNIT_SKIP("needs root to give files to another uid");
}

/* The file's bytes, for "untouched". */
static char *
slurp(const char *path)
{
	static char buf[4096];
	FILE *f = fopen(path, "r");
	size_t n;

	cr_assert_not_null(f, "%s", path);
	n = fread(buf, 1, sizeof(buf) - 1, f);
	buf[n] = '\0';
	fclose(f);
	return buf;
}

static void
expect_refused(int fd, const char *err, const char *want, int want_errno)
{
	cr_expect_eq(fd, -1, "opened: %s", want);
	cr_expect_str_eq(err, want);
	if (want_errno != 0)
		cr_expect_eq(errno, want_errno, "errno %d (%s), want %d",
		    errno, strerror(errno), want_errno);
	if (fd != -1)
		close(fd);
}

/* ---- files --------------------------------------------------------------- */

Test(safefile, opens_and_creates_a_plain_file)
{
	char path[PATH_MAX], want[PATH_MAX + 64], err[SAFEFILE_ERR_MAX] = "";
	struct stat sb;
	int fd, made = -1;

	path_in(path, tmp_dir, "audit.jsonl");
	fd = safefile_open(path, O_WRONLY | O_APPEND | O_CREAT, 0640, &made,
	    err, sizeof(err));
	cr_assert_geq(fd, 0, "%s", err);
	cr_expect_eq(made, 1);
	cr_assert_eq(fstat(fd, &sb), 0);
	cr_expect_eq(sb.st_mode & 07777, 0640);
	cr_expect_eq(write(fd, "a\n", 2), 2);
	/* Blocking again after the checks: O_NONBLOCK was only for them. */
	cr_expect_eq(fcntl(fd, F_GETFL) & O_NONBLOCK, 0);
	close(fd);
	fd = safefile_open(path, O_WRONLY | O_APPEND | O_CREAT, 0640, &made,
	    err, sizeof(err));
	cr_assert_geq(fd, 0, "%s", err);
	cr_expect_eq(made, 0, "an existing file is opened, not made");
	close(fd);
	cr_expect_str_eq(slurp(path), "a\n");
	/* O_CREAT | O_EXCL: the caller wants a new file, not this one. */
	fd = safefile_open(path, O_WRONLY | O_CREAT | O_EXCL, 0600, NULL,
	    err, sizeof(err));
	snprintf(want, sizeof(want), "%s: already exists (mwgd makes this "
	    "file itself)", path);
	expect_refused(fd, err, want, EEXIST);
}

Test(safefile, missing_file_without_create)
{
	char path[PATH_MAX], want[PATH_MAX + 64], err[SAFEFILE_ERR_MAX] = "";
	int fd;

	path_in(path, tmp_dir, "nothing");
	fd = safefile_open(path, O_RDONLY, 0, NULL, err, sizeof(err));
	snprintf(want, sizeof(want), "%s: No such file or directory", path);
	expect_refused(fd, err, want, ENOENT);
}

/*
 * A link under the file's name, to a file root may write: refused for
 * every way of opening it, dangling or not, and the target keeps its bytes.
 */
Test(safefile, symlink_is_never_followed)
{
	static const int flags[] = {
		O_RDONLY, O_WRONLY | O_APPEND | O_CREAT, O_WRONLY | O_TRUNC,
		O_RDWR | O_CREAT | O_TRUNC,
	};
	char target[PATH_MAX], path[PATH_MAX], gone[PATH_MAX];
	char want[PATH_MAX + 64], err[SAFEFILE_ERR_MAX];

	path_in(target, tmp_dir, "target");
	path_in(path, tmp_dir, "link");
	path_in(gone, tmp_dir, "dangling");
	write_file(target, "precious\n", 0);
	cr_assert_eq(symlink(target, path), 0);
	cr_assert_eq(symlink("/nonexistent-mwg-target", gone), 0);
	for (size_t i = 0; i < NELEM(flags); i++) {
		err[0] = '\0';
		snprintf(want, sizeof(want), "%s: is a symbolic link; refusing "
		    "to follow it", path);
		expect_refused(safefile_open(path, flags[i], 0600, NULL, err,
		    sizeof(err)), err, want, ELOOP);
		err[0] = '\0';
		snprintf(want, sizeof(want), "%s: is a symbolic link; refusing "
		    "to follow it", gone);
		expect_refused(safefile_open(gone, flags[i], 0600, NULL, err,
		    sizeof(err)), err, want, ELOOP);
	}
	cr_expect_str_eq(slurp(target), "precious\n");
	cr_expect_eq(access("/nonexistent-mwg-target", F_OK), -1);
}

/* A second name for a file (a hard link) could be any file of its owner;
 * O_TRUNC must not have cut it before the refusal. */
Test(safefile, hard_link_is_refused_before_truncating)
{
	char target[PATH_MAX], path[PATH_MAX], want[PATH_MAX + 96];
	char err[SAFEFILE_ERR_MAX] = "";

	path_in(target, tmp_dir, "target");
	path_in(path, tmp_dir, "second-name");
	write_file(target, "precious\n", 0);
	cr_assert_eq(link(target, path), 0);
	snprintf(want, sizeof(want), "%s has 2 hard links; refusing it "
	    "(another name could be any file)", path);
	expect_refused(safefile_open(path, O_WRONLY | O_TRUNC, 0, NULL, err,
	    sizeof(err)), err, want, EPERM);
	cr_expect_str_eq(slurp(target), "precious\n");
}

/* A FIFO would block the opener (and a device is no file of ours). */
Test(safefile, fifo_is_refused_without_blocking, .timeout = 10)
{
	char path[PATH_MAX], want[PATH_MAX + 64], err[SAFEFILE_ERR_MAX] = "";

	path_in(path, tmp_dir, "fifo");
	cr_assert_eq(mkfifo(path, 0600), 0);
	snprintf(want, sizeof(want), "%s: not a regular file; refusing it",
	    path);
	expect_refused(safefile_open(path, O_RDONLY, 0, NULL, err,
	    sizeof(err)), err, want, EPERM);
	err[0] = '\0';
	expect_refused(safefile_open("/dev/null", O_WRONLY, 0, NULL, err,
	    sizeof(err)), err, "/dev/null: not a regular file; refusing it",
	    EPERM);
}

Test(safefile, file_of_another_user, .init = setup, .fini = teardown)
{
	char path[PATH_MAX], want[PATH_MAX + 64], err[SAFEFILE_ERR_MAX] = "";
	int fd;

	need_root();
	path_in(path, tmp_dir, "theirs");
	write_file(path, "x", 0);
	cr_assert_eq(chown(path, OTHER_UID, OTHER_GID), 0);
	snprintf(want, sizeof(want), "%s is owned by uid %d; expected root",
	    path, OTHER_UID);
	expect_refused(safefile_open(path, O_RDONLY, 0, NULL, err,
	    sizeof(err)), err, want, EPERM);
	/* Once that uid is the daemon's, its files are fine. */
	safefile_trust(OTHER_UID, OTHER_GID);
	fd = safefile_open(path, O_RDONLY, 0, NULL, err, sizeof(err));
	cr_expect_geq(fd, 0, "%s", err);
	if (fd != -1)
		close(fd);
	/* And the message names both then. */
	safefile_trust(OTHER_UID + 1, OTHER_GID + 1);
	err[0] = '\0';
	snprintf(want, sizeof(want), "%s is owned by uid %d; expected root "
	    "or uid %d", path, OTHER_UID, OTHER_UID + 1);
	expect_refused(safefile_open(path, O_RDONLY, 0, NULL, err,
	    sizeof(err)), err, want, EPERM);
}

/* ---- directories --------------------------------------------------------- */

Test(safefile, directory_anyone_can_write)
{
	char dir[PATH_MAX], path[PATH_MAX], want[PATH_MAX + 128];
	char err[SAFEFILE_ERR_MAX] = "";

	path_in(dir, tmp_dir, "open");
	cr_assert_eq(mkdir(dir, 0700), 0);
	cr_assert_eq(chmod(dir, 0777), 0);
	path_in(path, dir, "f");
	snprintf(want, sizeof(want), "directory %s is writable by anyone "
	    "(mode 0777); refusing to use it", dir);
	expect_refused(safefile_open(path, O_WRONLY | O_CREAT, 0600, NULL, err,
	    sizeof(err)), err, want, EPERM);
	cr_expect_eq(access(path, F_OK), -1, "a file was made in %s", dir);
	/* Sticky (like /tmp) is fine on the way, not as the last one. */
	cr_assert_eq(chmod(dir, 01777), 0);
	err[0] = '\0';
	snprintf(want, sizeof(want), "directory %s is writable by anyone "
	    "(mode 1777); refusing to use it: give mwgd a directory of its "
	    "own", dir);
	expect_refused(safefile_dir_open(dir, err, sizeof(err)), err, want,
	    EPERM);
}

/* /tmp is on the way to every test directory: sticky ancestors pass. */
Test(safefile, sticky_ancestor_and_relative_path)
{
	char err[SAFEFILE_ERR_MAX] = "";
	int fd;

	fd = safefile_dir_open(tmp_dir, err, sizeof(err));
	cr_expect_geq(fd, 0, "%s", err);
	if (fd != -1)
		close(fd);
	cr_assert_eq(chdir(tmp_dir), 0);
	write_file("rel", "r", 0);
	fd = safefile_open("rel", O_RDONLY, 0, NULL, err, sizeof(err));
	cr_expect_geq(fd, 0, "%s", err);
	if (fd != -1)
		close(fd);
}

Test(safefile, directory_of_another_user_or_group)
{
	char dir[PATH_MAX], path[PATH_MAX], want[PATH_MAX + 96];
	char err[SAFEFILE_ERR_MAX] = "";

	need_root();
	path_in(dir, tmp_dir, "theirs");
	cr_assert_eq(mkdir(dir, 0755), 0);
	cr_assert_eq(chown(dir, OTHER_UID, 0), 0);
	path_in(path, dir, "f");
	snprintf(want, sizeof(want), "directory %s is owned by uid %d; "
	    "expected root", dir, OTHER_UID);
	expect_refused(safefile_open(path, O_WRONLY | O_CREAT, 0600, NULL, err,
	    sizeof(err)), err, want, EPERM);
	cr_assert_eq(chown(dir, 0, OTHER_GID), 0);
	cr_assert_eq(chmod(dir, 0775), 0);
	err[0] = '\0';
	snprintf(want, sizeof(want), "directory %s is writable by group %d "
	    "(mode 0775); refusing to use it (chmod g-w)", dir, OTHER_GID);
	expect_refused(safefile_open(path, O_WRONLY | O_CREAT, 0600, NULL, err,
	    sizeof(err)), err, want, EPERM);
	/* The daemon's group may write its own directory. */
	safefile_trust(OTHER_UID, OTHER_GID);
	err[0] = '\0';
	cr_expect_geq(safefile_dir_open(dir, err, sizeof(err)), 0, "%s", err);
	cr_expect_eq(access(path, F_OK), -1);
}

/*
 * The attack the module exists for: the daemon's user owns state-dir and
 * replaces a directory in it with a link to /etc (or the CA's folder).
 * Root must not follow it; a link root placed in its own directory is
 * followed (as /var/run -> /run is).
 */
Test(safefile, link_in_the_daemons_directory)
{
	char state[PATH_MAX], sub[PATH_MAX], real[PATH_MAX], target[PATH_MAX];
	char alias[PATH_MAX], path[PATH_MAX], want[PATH_MAX * 2];
	char err[SAFEFILE_ERR_MAX] = "";
	int fd;

	need_root();
	path_in(state, tmp_dir, "state");
	path_in(real, tmp_dir, "real");
	cr_assert_eq(mkdir(state, 0700), 0);
	cr_assert_eq(mkdir(real, 0700), 0);
	path_in(target, real, "key");
	write_file(target, "root only\n", 0);
	/* Root's own link in root's own directory: followed. */
	path_in(alias, tmp_dir, "alias");
	cr_assert_eq(symlink(real, alias), 0);
	path_in(path, alias, "key");
	fd = safefile_open(path, O_RDONLY, 0, NULL, err, sizeof(err));
	cr_expect_geq(fd, 0, "%s", err);
	if (fd != -1)
		close(fd);
	/* The daemon's link in the daemon's directory: refused. */
	cr_assert_eq(chown(state, OTHER_UID, OTHER_GID), 0);
	safefile_trust(OTHER_UID, OTHER_GID);
	path_in(sub, state, "keys");
	cr_assert_eq(symlink(real, sub), 0);
	cr_assert_eq(lchown(sub, OTHER_UID, OTHER_GID), 0);
	path_in(path, sub, "key");
	err[0] = '\0';
	snprintf(want, sizeof(want), "%s/keys is a symbolic link in a "
	    "directory that uid %d can change; refusing to follow it (name "
	    "the real directory instead)", state, OTHER_UID);
	expect_refused(safefile_open(path, O_RDONLY, 0, NULL, err,
	    sizeof(err)), err, want, ELOOP);
	cr_expect_str_eq(slurp(target), "root only\n");
}

Test(safefile, not_a_directory)
{
	char path[PATH_MAX], file[PATH_MAX], want[PATH_MAX + 64];
	char err[SAFEFILE_ERR_MAX] = "";

	path_in(file, tmp_dir, "plain");
	write_file(file, "x", 0);
	path_in(path, file, "f");
	snprintf(want, sizeof(want), "%s: not a directory (or it was replaced "
	    "while mwgd opened it)", file);
	expect_refused(safefile_open(path, O_RDONLY, 0, NULL, err,
	    sizeof(err)), err, want, ENOTDIR);
}

/* ---- whole-file helpers ------------------------------------------------ */

/* Replacing a name that is a link replaces the link, never its target;
 * a stale temporary that is a link is removed, not written through. */
Test(safefile, replace_never_writes_through_a_link)
{
	char target[PATH_MAX], path[PATH_MAX], tmp[PATH_MAX];
	char err[SAFEFILE_ERR_MAX] = "";
	struct stat sb;

	path_in(target, tmp_dir, "target");
	path_in(path, tmp_dir, "crl.pem");
	path_in(tmp, tmp_dir, ".crl.pem.tmp");
	write_file(target, "precious\n", 0);
	cr_assert_eq(symlink(target, path), 0);
	cr_assert_eq(symlink(target, tmp), 0);
	cr_assert_eq(safefile_replace(path, "new\n", 4, 0644, err,
	    sizeof(err)), 0, "%s", err);
	cr_expect_str_eq(slurp(target), "precious\n");
	cr_assert_eq(lstat(path, &sb), 0);
	cr_expect(S_ISREG(sb.st_mode));
	cr_expect_eq(sb.st_mode & 07777, 0644);
	cr_expect_str_eq(slurp(path), "new\n");
	cr_expect_eq(lstat(tmp, &sb), -1, "temporary left behind");
	cr_assert_eq(safefile_replace(path, "newer\n", 6, 0644, err,
	    sizeof(err)), 0, "%s", err);
	cr_expect_str_eq(slurp(path), "newer\n");
}

Test(safefile, read_whole_file_with_a_cap)
{
	char path[PATH_MAX], want[PATH_MAX + 64], err[SAFEFILE_ERR_MAX] = "";
	char *buf = NULL;
	size_t len = 0;

	path_in(path, tmp_dir, "key");
	write_file(path, "0123456789", 0);
	cr_assert_eq(safefile_read(path, 10, &buf, &len, err, sizeof(err)), 0,
	    "%s", err);
	cr_expect_eq(len, 10);
	cr_expect_str_eq(buf, "0123456789");
	free(buf);
	snprintf(want, sizeof(want), "%s: larger than expected; refusing it",
	    path);
	cr_expect_eq(safefile_read(path, 9, &buf, &len, err, sizeof(err)),
	    -1);
	cr_expect_str_eq(err, want);
	ASSERT_NO_LEAKS();
}

Test(safefile, split)
{
	static const struct {
		const char *path, *dir, *name;
	} cases[] = {
		{ "/var/log/mwg/audit.jsonl", "/var/log/mwg", "audit.jsonl" },
		{ "/audit.jsonl", "/", "audit.jsonl" },
		{ "audit.jsonl", ".", "audit.jsonl" },
		{ "log/audit.jsonl", "log", "audit.jsonl" },
		{ "/var/log/mwg/", NULL, NULL },
		{ "", NULL, NULL },
	};

	for (size_t i = 0; i < NELEM(cases); i++) {
		const char *name = NULL;
		char *dir = safefile_split(cases[i].path, &name);

		if (cases[i].dir == NULL) {
			cr_expect_null(dir, "%s", cases[i].path);
			continue;
		}
		cr_assert_not_null(dir, "%s", cases[i].path);
		cr_expect_str_eq(dir, cases[i].dir);
		cr_expect_str_eq(name, cases[i].name);
		free(dir);
	}
}
