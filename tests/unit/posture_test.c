/*
 * Device posture: mwg's collectors against the fixture trees in
 * tests/fixtures/posture/ (see its README.md) and against small trees
 * made here for the cases between them, the report's JSON and the stamp
 * that says when the next is due, and the gateway's strict parser
 * (gateway/posture_parse.c) with good, stale, malformed and oversized
 * reports. The client's files are not in the libraries the unit tests
 * link, so they are compiled in here.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <criterion/criterion.h>
#include <jansson.h>

#include "client/posture_file.c"
#include "client/posture_os.c"
#include "client/posture_disk.c"
#include "client/posture_screen.c"
#include "client/posture_firewall.c"
#include "client/posture_updates.c"
#include "client/posture_security.c"
#include "client/posture_report.c"
#include "gateway/posture.h"
#include "unit.h"

#define FIX		"tests/fixtures/posture/"
#define DAY		86400
#define NOW		((time_t)1795000000)	/* 2026-11-18T11:06:40Z */

/* ---- small trees made for a test --------------------------------------- */

/* Writes root/rel (parents made) with text. */
static void
tree_file(const char *root, const char *rel, const char *text)
{
	char path[PATH_MAX];

	cr_assert(snprintf(path, sizeof(path), "%s/%s", root, rel) <
	    (int)sizeof(path));
	for (char *p = path + strlen(root) + 1; (p = strchr(p, '/')) != NULL;
	    p++) {
		*p = '\0';
		cr_assert(mkdir(path, 0755) == 0 || errno == EEXIST, "%s",
		    path);
		*p = '/';
	}
	write_file(path, text, 0);
}

/* root/rel (parents made) as a symbolic link to target. */
static void
tree_link(const char *root, const char *rel, const char *target)
{
	char path[PATH_MAX];

	tree_file(root, rel, "");
	cr_assert(snprintf(path, sizeof(path), "%s/%s", root, rel) <
	    (int)sizeof(path));
	cr_assert_eq(unlink(path), 0);
	cr_assert_eq(symlink(target, path), 0, "%s", path);
}

static void
tree_mtime(const char *root, const char *rel, time_t t)
{
	struct timespec ts[2] = { { t, 0 }, { t, 0 } };
	char path[PATH_MAX];

	cr_assert(snprintf(path, sizeof(path), "%s/%s", root, rel) <
	    (int)sizeof(path));
	cr_assert_eq(utimensat(AT_FDCWD, path, ts, 0), 0, "%s", path);
}

static time_t
file_mtime(const char *path)
{
	struct stat sb;

	cr_assert_eq(stat(path, &sb), 0, "%s", path);
	return sb.st_mtime;
}

static const char *
tri(enum posture_tri t)
{
	return report_tri(t);
}

/* A fresh report with only collector c run below root. */
static void
run_one(int (*c)(const char *, struct posture_report *), const char *root,
    struct posture_report *r)
{
	posture_report_init(r, NOW);
	(void)c(root, r);
}

/* ---- the fixture trees ---------------------------------------------------- */

struct fixture {
	const char *name;
	const char *os_id, *os_version, *kernel;
	enum posture_tri disk, screen, firewall;
	const char *age_from;	/* the file whose mtime sets the age; NULL */
	int security;
};

static const struct fixture fixtures[] = {
	{ "debian12-luks-lvm", "debian", "12", "6.1.0-26-amd64",
	    POSTURE_YES, POSTURE_YES, POSTURE_YES,
	    "var/lib/apt/periodic/update-success-stamp", -1 },
	{ "debian12-overlay", "debian", "12", "6.1.0-26-cloud-amd64",
	    POSTURE_UNKNOWN, POSTURE_UNKNOWN, POSTURE_NO,
	    "var/log/dpkg.log", -1 },
	{ "fedora40-crypt", "fedora", "40", "6.8.5-301.fc40.x86_64",
	    POSTURE_YES, POSTURE_NO, POSTURE_UNKNOWN, NULL, -1 },
	{ "ubuntu2404-plain", "ubuntu", "24.04", "6.8.0-48-generic",
	    POSTURE_NO, POSTURE_NO, POSTURE_YES, "var/lib/apt/lists", 5 },
};

Test(posture_fixtures, every_collector_on_every_tree)
{
	for (size_t i = 0; i < NELEM(fixtures); i++) {
		const struct fixture *f = &fixtures[i];
		struct posture_report r;
		char root[PATH_MAX], stamp[PATH_MAX];
		time_t now = NOW;

		snprintf(root, sizeof(root), FIX "%s", f->name);
		/* Checkouts set mtimes: the age is counted from the file. */
		if (f->age_from != NULL)
			now = file_mtime(path_in(stamp, root, f->age_from)) +
			    3 * DAY + 3600;
		posture_report_init(&r, now);
		posture_collect(root, &r);
		cr_expect_str_eq(r.os_id, f->os_id, "%s", f->name);
		cr_expect_str_eq(r.os_version, f->os_version, "%s", f->name);
		cr_expect_str_eq(r.kernel, f->kernel, "%s", f->name);
		cr_expect_str_eq(tri(r.disk_encryption), tri(f->disk), "%s disk",
		    f->name);
		cr_expect_str_eq(tri(r.screen_lock), tri(f->screen),
		    "%s screen", f->name);
		cr_expect_str_eq(tri(r.firewall), tri(f->firewall),
		    "%s firewall", f->name);
		cr_expect_eq(r.update_age_days, f->age_from ? 3 : -1,
		    "%s age %d", f->name, r.update_age_days);
		cr_expect_eq(r.security_updates, f->security, "%s security %d",
		    f->name, r.security_updates);
		cr_expect_str_eq(r.client_version, MWG_VERSION);
		cr_expect_eq(r.collected_at, now);
	}
}

/* Each collector fills its own fields and leaves every other alone. */
Test(posture_fixtures, collectors_touch_only_their_fields)
{
	struct posture_report base, r;
	const char *root = FIX "debian12-luks-lvm";

	posture_report_init(&base, NOW);
	run_one(posture_collect_disk, root, &r);
	cr_expect_eq(r.disk_encryption, POSTURE_YES);
	r.disk_encryption = POSTURE_UNKNOWN;
	cr_expect_eq(memcmp(&r, &base, sizeof(r)), 0, "disk");

	run_one(posture_collect_screen, root, &r);
	cr_expect_eq(r.screen_lock, POSTURE_YES);
	r.screen_lock = POSTURE_UNKNOWN;
	cr_expect_eq(memcmp(&r, &base, sizeof(r)), 0, "screen");

	run_one(posture_collect_firewall, root, &r);
	cr_expect_eq(r.firewall, POSTURE_YES);
	r.firewall = POSTURE_UNKNOWN;
	cr_expect_eq(memcmp(&r, &base, sizeof(r)), 0, "firewall");

	run_one(posture_collect_updates, root, &r);
	cr_expect_geq(r.update_age_days, 0);
	r.update_age_days = -1;
	cr_expect_eq(memcmp(&r, &base, sizeof(r)), 0, "updates");

	run_one(posture_collect_security, FIX "ubuntu2404-plain", &r);
	cr_expect_eq(r.security_updates, 5);
	r.security_updates = -1;
	cr_expect_eq(memcmp(&r, &base, sizeof(r)), 0, "security");

	run_one(posture_collect_os, root, &r);
	cr_expect_str_eq(r.os_id, "debian");
	cr_expect_str_eq(r.kernel, "6.1.0-26-amd64");
	cr_expect_eq(r.disk_encryption, POSTURE_UNKNOWN);
	cr_expect_eq(r.update_age_days, -1);
}

/* A tree with nothing in it: everything unknown, nothing made up. */
Test(posture_fixtures, empty_tree_is_all_unknown)
{
	struct posture_report r;
	char root[64];

	make_tmp_dir(root, sizeof(root), "posture-empty");
	posture_report_init(&r, NOW);
	posture_collect(root, &r);
	cr_expect_str_eq(r.os_id, "unknown");
	cr_expect_str_eq(r.os_version, "unknown");
	cr_expect_str_eq(r.kernel, "unknown");	/* no uname: not the live root */
	cr_expect_eq(r.disk_encryption, POSTURE_UNKNOWN);
	cr_expect_eq(r.screen_lock, POSTURE_UNKNOWN);
	cr_expect_eq(r.firewall, POSTURE_UNKNOWN);
	cr_expect_eq(r.update_age_days, -1);
	cr_expect_eq(r.security_updates, -1);
	remove_tree(root);
}

/* A root given as "tree/" or "tree//" is the same tree. */
Test(posture_fixtures, trailing_slashes)
{
	struct posture_report r;

	run_one(posture_collect_disk, FIX "fedora40-crypt//", &r);
	cr_expect_eq(r.disk_encryption, POSTURE_YES);
	run_one(posture_collect_os, FIX "fedora40-crypt/", &r);
	cr_expect_str_eq(r.os_id, "fedora");
}

/* ---- os ------------------------------------------------------------------- */

struct os_case {
	const char *os_release;		/* etc/os-release */
	const char *id, *version;
};

static const struct os_case os_cases[] = {
	{ "ID=debian\nVERSION_ID=\"12\"\n", "debian", "12" },
	{ "ID='rhel'\nVERSION_ID='9.4'\n", "rhel", "9.4" },
	{ "  ID=arch\nBUILD_ID=rolling\n", "arch", "unknown" },
	{ "ID=a\nID=b\n", "b", "unknown" },		/* the last wins */
	{ "# ID=commented\nVERSION_ID=1\n", "unknown", "1" },
	{ "ID=\"\"\nVERSION_ID=\n", "unknown", "unknown" },
	{ "ID=\"quoted \\\"inner\\\"\"\n", "quoted \"inner\"", "unknown" },
	{ "ID=abcdefghijklmnopqrstuvwxyz0123456789\n",
	    "abcdefghijklmnopqrstuvwxyz01234", "unknown" },	/* cut to 31 */
	{ "ID=deb\tian\r\nVERSION_ID=1\x01\n", "deb?ian", "1?" },
	{ "IDENTITY=x\nVERSION_ID_LIKE=2\n", "unknown", "unknown" },
};

Test(posture_os, os_release_table)
{
	for (size_t i = 0; i < NELEM(os_cases); i++) {
		struct posture_report r;
		char root[64];

		make_tmp_dir(root, sizeof(root), "posture-os");
		tree_file(root, "etc/os-release", os_cases[i].os_release);
		run_one(posture_collect_os, root, &r);
		cr_expect_str_eq(r.os_id, os_cases[i].id, "os[%zu]", i);
		cr_expect_str_eq(r.os_version, os_cases[i].version,
		    "os[%zu]", i);
		remove_tree(root);
	}
}

Test(posture_os, usr_lib_fallback_and_kernel_first_line)
{
	struct posture_report r;
	char root[64];

	make_tmp_dir(root, sizeof(root), "posture-os");
	tree_file(root, "usr/lib/os-release", "ID=fedora\nVERSION_ID=41\n");
	tree_file(root, "proc/sys/kernel/osrelease", "6.11.4-301.fc41\nx\n");
	run_one(posture_collect_os, root, &r);
	cr_expect_str_eq(r.os_id, "fedora");
	cr_expect_str_eq(r.os_version, "41");
	cr_expect_str_eq(r.kernel, "6.11.4-301.fc41");
	/* etc/ wins over usr/lib/ */
	tree_file(root, "etc/os-release", "ID=debian\n");
	run_one(posture_collect_os, root, &r);
	cr_expect_str_eq(r.os_id, "debian");
	cr_expect_str_eq(r.os_version, "unknown");
	remove_tree(root);
}

/* ---- disk ----------------------------------------------------------------- */

/* A dm device in tree: sys/block/NAME/dm/{name,uuid}, and its slaves
 * ("dm-0 sda2": links as sysfs makes them). */
static void
tree_dm(const char *root, const char *dm, const char *name,
    const char *uuid, const char *slaves)
{
	char rel[PATH_MAX], target[PATH_MAX], list[256], *save, *s;

	snprintf(rel, sizeof(rel), "sys/block/%s/dm/name", dm);
	tree_file(root, rel, name);
	snprintf(rel, sizeof(rel), "sys/block/%s/dm/uuid", dm);
	tree_file(root, rel, uuid);
	snprintf(list, sizeof(list), "%s", slaves);
	for (s = strtok_r(list, " ", &save); s; s = strtok_r(NULL, " ",
	    &save)) {
		snprintf(rel, sizeof(rel), "sys/block/%s/slaves/%s", dm, s);
		snprintf(target, sizeof(target), "../../%s", s);
		tree_link(root, rel, target);
	}
}

struct disk_case {
	const char *mounts;	/* proc/self/mounts; NULL: none */
	const char *want;
};

/* The trees below have: dm-0 LUKS on sda3, dm-1 LVM on dm-0, dm-2 LVM on
 * sdb1 (plain), dm-3 LVM on dm-0 and sdb2 (half plain), dm-4 LVM whose
 * slave dm-5 is LVM without slaves (cannot tell), dm-6..dm-11 a stack
 * deeper than DISK_DEPTH ending in crypt. */
static const struct disk_case disk_cases[] = {
	{ "/dev/mapper/cryptroot / ext4 rw 0 0\n", "yes" },
	{ "/dev/mapper/vg0-root / ext4 rw 0 0\n", "yes" },
	{ "/dev/dm-1 / ext4 rw 0 0\n", "yes" },
	{ "/dev/mapper/plain-root / ext4 rw 0 0\n", "no" },
	{ "/dev/mapper/half-root / xfs rw 0 0\n", "no" },
	{ "/dev/mapper/odd-root / ext4 rw 0 0\n", "unknown" },
	{ "/dev/dm-6 / ext4 rw 0 0\n", "unknown" },
	{ "/dev/dm-9 / ext4 rw 0 0\n", "yes" },
	{ "/dev/mapper/missing / ext4 rw 0 0\n", "unknown" },
	{ "/dev/dm-99 / ext4 rw 0 0\n", "unknown" },
	{ "/dev/sda1 / ext4 rw 0 0\n", "no" },
	{ "/dev/nvme0n1p2 / ext4 rw 0 0\n", "no" },
	{ "/dev/vda / ext4 rw 0 0\n", "no" },
	{ "/dev/mmcblk0p2 / ext4 rw 0 0\n", "no" },
	{ "/dev/root / ext4 rw 0 0\n", "unknown" },
	{ "/dev/md0 / ext4 rw 0 0\n", "unknown" },
	{ "tmpfs / tmpfs rw 0 0\n", "unknown" },
	{ "rpool/ROOT/ubuntu / zfs rw 0 0\n", "unknown" },
	{ "10.0.0.1:/srv/root / nfs rw 0 0\n", "unknown" },
	{ "/dev/sda1 / ext4 rw 0 0\noverlay / overlay rw 0 0\n", "unknown" },
	{ "overlay / overlay rw 0 0\n/dev/mapper/cryptroot / ext4 rw 0 0\n",
	    "yes" },
	{ "/dev/sda1 /home ext4 rw 0 0\n", "unknown" },	/* no root */
	{ "", "unknown" },
	{ NULL, "unknown" },
};

static void
disk_tree(const char *root)
{
	char dm[16], slave[16];

	tree_dm(root, "dm-0", "cryptroot", "CRYPT-LUKS2-00aa-cryptroot",
	    "sda3");
	tree_dm(root, "dm-1", "vg0-root", "LVM-abc", "dm-0");
	tree_dm(root, "dm-2", "plain-root", "LVM-def", "sdb1");
	tree_dm(root, "dm-3", "half-root", "LVM-ghi", "dm-0 sdb2");
	tree_dm(root, "dm-4", "odd-root", "LVM-jkl", "dm-5");
	tree_dm(root, "dm-5", "odd-pv", "LVM-mno", "");
	/* dm-6 on dm-7 on ... on dm-11 (crypt): 6 layers. */
	for (int i = 6; i <= 11; i++) {
		snprintf(dm, sizeof(dm), "dm-%d", i);
		snprintf(slave, sizeof(slave), "dm-%d", i + 1);
		tree_dm(root, dm, dm, i == 11 ? "CRYPT-PLAIN-x" : "LVM-x",
		    i == 11 ? "sdc1" : slave);
	}
}

Test(posture_disk, root_device_table)
{
	char root[64];

	make_tmp_dir(root, sizeof(root), "posture-disk");
	disk_tree(root);
	for (size_t i = 0; i < NELEM(disk_cases); i++) {
		struct posture_report r;
		char path[PATH_MAX];

		if (disk_cases[i].mounts != NULL)
			tree_file(root, "proc/self/mounts",
			    disk_cases[i].mounts);
		else
			unlink(path_in(path, root, "proc/self/mounts"));
		run_one(posture_collect_disk, root, &r);
		cr_expect_str_eq(tri(r.disk_encryption), disk_cases[i].want,
		    "disk[%zu] %s", i, disk_cases[i].mounts ?
		    disk_cases[i].mounts : "(no mounts)");
	}
	remove_tree(root);
}

/* proc/mounts when proc/self/mounts is not there. */
Test(posture_disk, proc_mounts_fallback)
{
	struct posture_report r;
	char root[64];

	make_tmp_dir(root, sizeof(root), "posture-disk");
	disk_tree(root);
	tree_file(root, "proc/mounts", "/dev/mapper/cryptroot / ext4 rw 0 0\n");
	run_one(posture_collect_disk, root, &r);
	cr_expect_eq(r.disk_encryption, POSTURE_YES);
	remove_tree(root);
}

/* ---- screen lock ---------------------------------------------------------- */

#define GNOME_PROFILE	"user-db:user\nsystem-db:local\n"
#define GNOME_ON	"[org/gnome/desktop/screensaver]\nlock-enabled=true\n"
#define GNOME_LOCKS	"/org/gnome/desktop/screensaver/lock-enabled\n" \
			"/org/gnome/desktop/session/idle-delay\n"

struct screen_case {
	const char *profile;		/* etc/dconf/profile/user */
	const char *keyfile00, *keyfile10;	/* local.d/00-x, 10-y */
	const char *locks;		/* local.d/locks/x */
	const char *kde_a, *kde_b;	/* home/{a,b}/.config/kscreenlockerrc */
	const char *want;
};

static const struct screen_case screen_cases[] = {
	{ GNOME_PROFILE, GNOME_ON, NULL, GNOME_LOCKS, NULL, NULL, "yes" },
	{ GNOME_PROFILE, GNOME_ON "[org/gnome/desktop/session]\n"
	    "idle-delay=uint32 600\n", NULL, GNOME_LOCKS, NULL, NULL, "yes" },
	{ " system-db:local \n", " [org/gnome/desktop/screensaver]\n"
	    "lock-enabled = true \n", NULL, " " GNOME_LOCKS, NULL, NULL,
	    "yes" },
	/* Not locked: a person can turn it off in their own settings. */
	{ GNOME_PROFILE, GNOME_ON, NULL, NULL, NULL, NULL, "unknown" },
	{ GNOME_PROFILE, GNOME_ON, NULL,
	    "/org/gnome/desktop/screensaver/lock-enabled\n", NULL, NULL,
	    "unknown" },
	/* The system database is not read without the profile line. */
	{ NULL, GNOME_ON, NULL, GNOME_LOCKS, NULL, NULL, "unknown" },
	{ "user-db:user\n", GNOME_ON, NULL, GNOME_LOCKS, NULL, NULL,
	    "unknown" },
	{ GNOME_PROFILE, "[org/gnome/desktop/screensaver]\n"
	    "lock-enabled=false\n", NULL, GNOME_LOCKS, NULL, NULL, "no" },
	{ GNOME_PROFILE, GNOME_ON "[org/gnome/desktop/session]\n"
	    "idle-delay=uint32 0\n", NULL, GNOME_LOCKS, NULL, NULL, "no" },
	{ GNOME_PROFILE, GNOME_ON "[org/gnome/desktop/session]\n"
	    "idle-delay=0\n", NULL, NULL, NULL, NULL, "no" },
	/* Later keyfiles win, as dconf compiles them. */
	{ GNOME_PROFILE, "[org/gnome/desktop/screensaver]\n"
	    "lock-enabled=false\n", GNOME_ON, GNOME_LOCKS, NULL, NULL, "yes" },
	{ GNOME_PROFILE, GNOME_ON, "[org/gnome/desktop/screensaver]\n"
	    "lock-enabled=false\n", GNOME_LOCKS, NULL, NULL, "no" },
	/* The key in another section is another key. */
	{ GNOME_PROFILE, "[org/gnome/desktop/lockdown]\nlock-enabled=true\n",
	    NULL, GNOME_LOCKS, NULL, NULL, "unknown" },
	{ GNOME_PROFILE, "# [org/gnome/desktop/screensaver]\n"
	    "# lock-enabled=true\n", NULL, GNOME_LOCKS, NULL, NULL, "unknown" },
	/* KDE: a person's own file. */
	{ NULL, NULL, NULL, NULL, "[Daemon]\nTimeout=5\n", NULL, "yes" },
	{ NULL, NULL, NULL, NULL, "", NULL, "yes" },
	{ NULL, NULL, NULL, NULL, "[Daemon]\nAutolock=false\n", NULL, "no" },
	{ NULL, NULL, NULL, NULL, "[Daemon]\nAutolock[$i]=false\n", NULL,
	    "no" },
	{ NULL, NULL, NULL, NULL, "[Daemon]\nAutolock=true\n", NULL, "yes" },
	{ NULL, NULL, NULL, NULL, "[Greeter]\nAutolock=false\n", NULL, "yes" },
	{ NULL, NULL, NULL, NULL, "[Daemon]\nAutolockX=false\n", NULL, "yes" },
	{ NULL, NULL, NULL, NULL, "[Daemon]\n", "[Daemon]\nAutolock=false\n",
	    "no" },
	/* Any no wins over a yes. */
	{ GNOME_PROFILE, GNOME_ON, NULL, GNOME_LOCKS,
	    "[Daemon]\nAutolock=false\n", NULL, "no" },
	{ GNOME_PROFILE, "[org/gnome/desktop/screensaver]\n"
	    "lock-enabled=false\n", NULL, NULL, "[Daemon]\n", NULL, "no" },
	{ GNOME_PROFILE, GNOME_ON, NULL, NULL, "[Daemon]\n", NULL, "yes" },
	{ NULL, NULL, NULL, NULL, NULL, NULL, "unknown" },
};

static void
screen_tree(const char *root, const struct screen_case *c)
{
	if (c->profile)
		tree_file(root, "etc/dconf/profile/user", c->profile);
	if (c->keyfile00)
		tree_file(root, "etc/dconf/db/local.d/00-x", c->keyfile00);
	if (c->keyfile10)
		tree_file(root, "etc/dconf/db/local.d/10-y", c->keyfile10);
	if (c->locks)
		tree_file(root, "etc/dconf/db/local.d/locks/x", c->locks);
	if (c->kde_a)
		tree_file(root, "home/a/.config/kscreenlockerrc", c->kde_a);
	if (c->kde_b)
		tree_file(root, "home/b/.config/kscreenlockerrc", c->kde_b);
	tree_file(root, "home/c/.bashrc", "");	/* a home without KDE */
}

Test(posture_screen, settings_table)
{
	for (size_t i = 0; i < NELEM(screen_cases); i++) {
		struct posture_report r;
		char root[64];

		make_tmp_dir(root, sizeof(root), "posture-screen");
		screen_tree(root, &screen_cases[i]);
		run_one(posture_collect_screen, root, &r);
		cr_expect_str_eq(tri(r.screen_lock), screen_cases[i].want,
		    "screen[%zu]", i);
		remove_tree(root);
	}
}

/* ---- firewall ------------------------------------------------------------- */

struct fw_case {
	const char *nft;		/* etc/nftables.conf */
	const char *ufw;		/* etc/ufw/ufw.conf */
	const char *ufw_default;	/* etc/default/ufw */
	const char *want;
};

#define NFT_DROP "table inet filter {\n\tchain input {\n\t\ttype filter " \
	"hook input priority filter; policy drop;\n\t}\n}\n"
#define NFT_DEBIAN "flush ruleset\ntable inet filter {\n\tchain input {\n" \
	"\t\ttype filter hook input priority filter;\n\t}\n}\n"

static const struct fw_case fw_cases[] = {
	{ NFT_DROP, NULL, NULL, "yes" },
	{ NFT_DEBIAN, NULL, NULL, "unknown" },
	{ "table ip f {\n chain in {\n  type filter hook input priority 0\n"
	    "  policy accept\n }\n}\n", NULL, NULL, "unknown" },
	{ "table inet f { chain fwd { type filter hook forward priority 0; "
	    "policy drop; } chain in { type filter hook input priority 0; } }",
	    NULL, NULL, "unknown" },
	{ "table inet f { chain in { type filter hook input priority 0; "
	    "policy drop; } }", NULL, NULL, "yes" },
	{ "add table inet f\nadd chain inet f in { type filter hook input "
	    "priority 0 ; policy drop ; }\n", NULL, NULL, "yes" },
	{ "table inet f {\n chain in {\n  type filter hook input priority 0;"
	    " # policy drop;\n }\n}\n", NULL, NULL, "unknown" },
	{ "table inet f {\n chain in {\n  type filter hook input \\\n"
	    "    priority 0; policy drop;\n }\n}\n", NULL, NULL, "yes" },
	/* drop policy, then a second chain: still found */
	{ NFT_DROP "table ip6 g { chain x { type filter hook output priority "
	    "0; } }\n", NULL, NULL, "yes" },
	{ "", NULL, NULL, "unknown" },
	{ NULL, "ENABLED=yes\n", NULL, "yes" },
	{ NULL, "ENABLED=yes\n", "DEFAULT_INPUT_POLICY=\"DROP\"\n", "yes" },
	{ NULL, "ENABLED=yes\n", "DEFAULT_INPUT_POLICY=\"REJECT\"\n", "yes" },
	{ NULL, "ENABLED=yes\n", "DEFAULT_INPUT_POLICY=\"ACCEPT\"\n",
	    "unknown" },
	{ NULL, "ENABLED=no\n", NULL, "no" },
	{ NFT_DEBIAN, "ENABLED=no\n", NULL, "no" },
	{ NFT_DROP, "ENABLED=no\n", NULL, "yes" },
	{ NULL, "# ENABLED=yes\nENABLED=no\n", NULL, "no" },
	{ NULL, "ENABLED=maybe\n", NULL, "unknown" },
	{ NULL, "LOGLEVEL=low\n", NULL, "unknown" },
	{ NULL, NULL, NULL, "unknown" },
};

Test(posture_firewall, config_table)
{
	for (size_t i = 0; i < NELEM(fw_cases); i++) {
		const struct fw_case *c = &fw_cases[i];
		struct posture_report r;
		char root[64];

		make_tmp_dir(root, sizeof(root), "posture-fw");
		if (c->nft)
			tree_file(root, "etc/nftables.conf", c->nft);
		if (c->ufw)
			tree_file(root, "etc/ufw/ufw.conf", c->ufw);
		if (c->ufw_default)
			tree_file(root, "etc/default/ufw", c->ufw_default);
		run_one(posture_collect_firewall, root, &r);
		cr_expect_str_eq(tri(r.firewall), c->want, "fw[%zu]", i);
		remove_tree(root);
	}
}

/* What `nft list ruleset` prints for ufw on iptables-nft: the live check
 * reads it with the same scanner. */
Test(posture_firewall, nft_listing)
{
	static const char ufw_listing[] =
	    "table ip filter {\n"
	    "\tchain ufw-before-input {\n"
	    "\t\tiifname \"lo\" counter packets 0 bytes 0 accept\n"
	    "\t}\n"
	    "\tchain INPUT {\n"
	    "\t\ttype filter hook input priority filter; policy drop;\n"
	    "\t\tcounter packets 10 bytes 840 jump ufw-before-logging-input\n"
	    "\t}\n"
	    "\tchain FORWARD {\n"
	    "\t\ttype filter hook forward priority filter; policy drop;\n"
	    "\t}\n"
	    "}\n";
	static const char accept_listing[] =
	    "table inet filter {\n"
	    "\tchain input {\n"
	    "\t\ttype filter hook input priority filter; policy accept;\n"
	    "\t\tct state invalid drop\n"
	    "\t}\n"
	    "}\n";

	cr_expect_eq(fw_nft_drops(ufw_listing), 1);
	cr_expect_eq(fw_nft_drops(accept_listing), 0);
	cr_expect_eq(fw_nft_drops(""), 0);
	cr_expect_eq(fw_nft_drops("}}}} chain { policy drop hook input"), 0);
}

/* ---- updates -------------------------------------------------------------- */

Test(posture_updates, stamps_in_order)
{
	struct posture_report r;
	char root[64], path[PATH_MAX];

	make_tmp_dir(root, sizeof(root), "posture-upd");
	tree_file(root, "var/lib/apt/periodic/update-success-stamp", "");
	tree_file(root, "var/lib/apt/lists/lock", "");
	tree_file(root, "var/log/dpkg.log", "x\n");
	tree_mtime(root, "var/lib/apt/periodic/update-success-stamp",
	    NOW - 2 * DAY - 1);
	tree_mtime(root, "var/lib/apt/lists", NOW - 9 * DAY);
	tree_mtime(root, "var/log/dpkg.log", NOW - 30 * DAY);
	run_one(posture_collect_updates, root, &r);
	cr_expect_eq(r.update_age_days, 2);

	unlink(path_in(path, root, "var/lib/apt/periodic/update-success-stamp"));
	run_one(posture_collect_updates, root, &r);
	cr_expect_eq(r.update_age_days, 9);

	remove_tree(path_in(path, root, "var/lib/apt"));
	run_one(posture_collect_updates, root, &r);
	cr_expect_eq(r.update_age_days, 30);

	tree_mtime(root, "var/log/dpkg.log", NOW + DAY);	/* future: today */
	run_one(posture_collect_updates, root, &r);
	cr_expect_eq(r.update_age_days, 0);

	tree_mtime(root, "var/log/dpkg.log", NOW - DAY + 1);	/* under a day */
	run_one(posture_collect_updates, root, &r);
	cr_expect_eq(r.update_age_days, 0);

	tree_mtime(root, "var/log/dpkg.log", 0);
	posture_report_init(&r, (time_t)40000 * DAY);
	posture_collect_updates(root, &r);
	cr_expect_eq(r.update_age_days, POSTURE_AGE_MAX);

	unlink(path_in(path, root, "var/log/dpkg.log"));
	run_one(posture_collect_updates, root, &r);
	cr_expect_eq(r.update_age_days, -1);
	remove_tree(root);
}

/* ---- security updates ----------------------------------------------------- */

struct sec_case {
	const char *text;	/* NULL: no file */
	int want;
};

static const struct sec_case sec_cases[] = {
	{ "\n12 updates can be applied immediately.\n5 of these updates are "
	    "standard security updates.\nTo see these additional updates run: "
	    "apt list --upgradable\n\n", 5 },
	{ "1 update can be applied immediately.\n1 of these updates is a "
	    "standard security update.\n", 1 },
	{ "\n0 updates can be applied immediately.\n\n", 0 },
	{ "Expanded Security Maintenance for Applications is not enabled.\n\n"
	    "7 updates can be applied immediately.\n\n4 additional security "
	    "updates can be applied with ESM Apps.\nLearn more about enabling "
	    "ESM Apps service at https://ubuntu.com/esm\n", 0 },
	{ "6 updates can be applied immediately.\n2 of these updates are "
	    "standard security updates.\n3 of these updates are ESM Apps "
	    "security updates.\n", 5 },
	{ "14 packages can be updated.\n7 updates are security updates.\n", 7 },
	{ "0 packages can be updated.\n0 updates are security updates.\n", 0 },
	{ "", -1 },
	{ "System information disabled due to load higher than 1.0\n", -1 },
	{ "5 of these updates are standard security updates.\n", -1 },
	{ "x12 updates can be applied immediately.\n", -1 },
	{ "12updates can be applied immediately.\n", -1 },
	{ "99999999999999999999 updates can be applied immediately.\n", -1 },
	{ NULL, -1 },
};

Test(posture_security, update_notifier_table)
{
	for (size_t i = 0; i < NELEM(sec_cases); i++) {
		struct posture_report r;
		char root[64];

		make_tmp_dir(root, sizeof(root), "posture-sec");
		if (sec_cases[i].text)
			tree_file(root, SEC_FILE, sec_cases[i].text);
		run_one(posture_collect_security, root, &r);
		cr_expect_eq(r.security_updates, sec_cases[i].want,
		    "sec[%zu]: %d", i, r.security_updates);
		remove_tree(root);
	}
}

/* ---- the shared pieces ---------------------------------------------------- */

Test(posture_file, paths_and_roots)
{
	char buf[PATH_MAX];

	cr_expect_eq(posture_root_is_live("/"), 1);
	cr_expect_eq(posture_root_is_live("//"), 1);
	cr_expect_eq(posture_root_is_live("/tmp"), 0);
	cr_expect_eq(posture_root_is_live("tree"), 0);
	cr_expect_eq(posture_root_is_live(""), 0);
	cr_assert_eq(posture_path("/", "etc/os-release", buf, sizeof(buf)), 0);
	cr_expect_str_eq(buf, "/etc/os-release");
	cr_assert_eq(posture_path("t//", "/etc/x", buf, sizeof(buf)), 0);
	cr_expect_str_eq(buf, "t/etc/x");
	cr_expect_eq(posture_path("/", "etc/os-release", buf, 10), -1);
}

Test(posture_file, report_text)
{
	char t[POSTURE_TEXT_MAX];

	posture_text(t, "");
	cr_expect_str_eq(t, "unknown");
	posture_text(t, "6.1.0-26-amd64");
	cr_expect_str_eq(t, "6.1.0-26-amd64");
	posture_text(t, "a\tb\x7f\xc3\xa9");
	cr_expect_str_eq(t, "a?b???");
	posture_text(t, "0123456789012345678901234567890123456789");
	cr_expect_str_eq(t, "0123456789012345678901234567890");
}

/* Files that are not regular files are not read (a FIFO would block). */
Test(posture_file, reads_regular_files_only)
{
	char root[64], path[PATH_MAX];
	size_t len;
	char *text;

	make_tmp_dir(root, sizeof(root), "posture-file");
	cr_assert_eq(mkfifo(path_in(path, root, "fifo"), 0600), 0);
	cr_expect_null(posture_read(root, "fifo", NULL));
	cr_expect_null(posture_read(root, ".", NULL));
	cr_expect_null(posture_read(root, "missing", NULL));
	tree_file(root, "small", "abc");
	cr_assert_not_null(text = posture_read(root, "small", &len));
	cr_expect_eq(len, 3);
	cr_expect_str_eq(text, "abc");
	free(text);
	remove_tree(root);
}

Test(posture_file, too_large_is_not_read)
{
	char root[64], path[PATH_MAX], *text;
	FILE *f;

	make_tmp_dir(root, sizeof(root), "posture-file");
	cr_assert_not_null(f = fopen(path_in(path, root, "big"), "w"));
	for (int i = 0; i < POSTURE_FILE_MAX; i++)
		fputc('x', f);
	cr_assert_eq(fclose(f), 0);
	cr_assert_not_null(text = posture_read(root, "big", NULL));
	cr_expect_eq(strlen(text), POSTURE_FILE_MAX);
	free(text);
	cr_assert_not_null(f = fopen(path, "a"));
	fputc('x', f);
	cr_assert_eq(fclose(f), 0);
	cr_expect_null(posture_read(root, "big", NULL));
	remove_tree(root);
}

Test(posture_file, run_with_a_time_limit)
{
	char *echo[] = { "/bin/echo", "hello", NULL };
	char *fail[] = { "/bin/false", NULL };
	char *slow[] = { "/bin/sleep", "5", NULL };
	char *none[] = { "/nonexistent/tool", NULL };
	char *quiet[] = { "/bin/sh", "-c", "exec >&-; sleep 5", NULL };
	struct timespec t0, t1;
	char *out = NULL;

	cr_expect_eq(posture_run(echo, 2000, &out), 0);
	cr_expect_str_eq(out, "hello\n");
	free(out);
	cr_expect_eq(posture_run(fail, 2000, NULL), 1);
	cr_expect_eq(posture_run(none, 2000, NULL), -1);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	out = NULL;
	cr_expect_eq(posture_run(slow, 200, &out), -1);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	cr_expect_null(out);
	cr_expect_lt(t1.tv_sec - t0.tv_sec, 3, "the limit was not kept");
	/* Output closed early does not end the wait for the exit. */
	clock_gettime(CLOCK_MONOTONIC, &t0);
	cr_expect_eq(posture_run(quiet, 200, NULL), -1);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	cr_expect_lt(t1.tv_sec - t0.tv_sec, 3, "the limit was not kept");
}

/* ---- the report as JSON --------------------------------------------------- */

Test(posture_report, exact_json)
{
	struct posture_report r;
	size_t len;
	char *json;

	posture_report_init(&r, 1795000000);
	strcpy(r.os_id, "debian");
	strcpy(r.os_version, "12");
	strcpy(r.kernel, "6.1.0-26-amd64");
	r.disk_encryption = POSTURE_YES;
	r.screen_lock = POSTURE_NO;
	r.update_age_days = 3;
	cr_assert_not_null(json = posture_report_json(&r, &len));
	cr_expect_str_eq(json,
	    "{\n"
	    "  \"schema\": 1,\n"
	    "  \"os\": {\n"
	    "    \"id\": \"debian\",\n"
	    "    \"version\": \"12\",\n"
	    "    \"kernel\": \"6.1.0-26-amd64\"\n"
	    "  },\n"
	    "  \"disk_encryption\": \"yes\",\n"
	    "  \"screen_lock\": \"no\",\n"
	    "  \"firewall\": \"unknown\",\n"
	    "  \"update_age_days\": 3,\n"
	    "  \"security_updates\": null,\n"
	    "  \"client_version\": \"" MWG_VERSION "\",\n"
	    "  \"collected_at\": \"2026-11-18T11:06:40Z\"\n"
	    "}\n");
	cr_expect_eq(len, strlen(json));
	free(json);
}

/* What the client makes from every fixture, the gateway takes, fact for
 * fact (collected_at now: the gateway refuses a report from the future). */
Test(posture_report, every_fixture_parses_at_the_gateway)
{
	for (size_t i = 0; i < NELEM(fixtures); i++) {
		struct posture_report r;
		struct policy_posture p;
		char root[PATH_MAX], err[256], *json;
		size_t len;

		snprintf(root, sizeof(root), FIX "%s", fixtures[i].name);
		posture_report_init(&r, time(NULL));
		posture_collect(root, &r);
		cr_assert_not_null(json = posture_report_json(&r, &len));
		cr_assert_leq(len, POSTURE_MAX);
		cr_assert_eq(posture_parse(json, len, &p, err, sizeof(err)), 0,
		    "%s: %s", fixtures[i].name, err);
		cr_expect_str_eq(p.os_id, r.os_id);
		cr_expect_str_eq(p.os_version, r.os_version);
		cr_expect_str_eq(p.client_version, MWG_VERSION);
		cr_expect_eq((int)p.disk_encryption, (int)r.disk_encryption);
		cr_expect_eq((int)p.screen_lock, (int)r.screen_lock);
		cr_expect_eq((int)p.firewall, (int)r.firewall);
		cr_expect_eq(p.update_age_days, r.update_age_days);
		cr_expect_eq(p.security_updates, r.security_updates);
		cr_expect_eq(p.received_at, 0);
		free(json);
	}
}

/* The longest strings the client can make still fit and parse. */
Test(posture_report, longest_report_parses)
{
	struct posture_report r;
	struct policy_posture p;
	char err[256], *json;
	size_t len;

	posture_report_init(&r, time(NULL));
	memset(r.os_id, '"', POSTURE_TEXT_MAX - 1);
	memset(r.os_version, '\\', POSTURE_TEXT_MAX - 1);
	memset(r.kernel, '~', POSTURE_TEXT_MAX - 1);
	r.update_age_days = POSTURE_AGE_MAX;
	r.security_updates = POSTURE_COUNT_MAX;
	cr_assert_not_null(json = posture_report_json(&r, &len));
	cr_assert_eq(posture_parse(json, len, &p, err, sizeof(err)), 0, "%s",
	    err);
	cr_expect_str_eq(p.os_id, r.os_id);
	cr_expect_str_eq(p.os_version, r.os_version);
	cr_expect_eq(p.security_updates, POSTURE_COUNT_MAX);
	free(json);
}

/* ---- the stamp: when the next report is due ------------------------------- */

struct stamp_case {
	const char *text;
	time_t now;
	int due;
};

static const struct stamp_case stamp_cases[] = {
	{ "{\"sent_at\": 1000, \"max_age\": 900}", 1449, 0 },
	{ "{\"sent_at\": 1000, \"max_age\": 900}", 1450, 1 },
	{ "{\"sent_at\": 1000, \"max_age\": 900}", 1000, 0 },
	{ "{\"sent_at\": 1000, \"max_age\": 900}", 999, 1 },	/* clock back */
	{ "{\"sent_at\": 1000, \"max_age\": 3600}", 2799, 0 },
	{ "{\"sent_at\": 1000, \"max_age\": 3600}", 2800, 1 },
	{ "{\"sent_at\": 1000, \"max_age\": 0}", 1449, 0 },	/* default */
	{ "{\"sent_at\": 1000, \"max_age\": 0}", 1450, 1 },
	{ "{\"sent_at\": 1000}", 1449, 0 },
	{ "{\"sent_at\": 1000, \"max_age\": -5}", 1450, 1 },
	{ "{\"sent_at\": 1000, \"max_age\": \"900\"}", 1449, 0 },
	{ "{\"sent_at\": \"1000\", \"max_age\": 900}", 1001, 1 },
	{ "{\"sent_at\": -9223372036854775807}", 1001, 1 },
	{ "{\"max_age\": 900}", 1001, 1 },
	{ "[]", 1001, 1 },
	{ "", 1001, 1 },
	{ "{\"sent_at\": 1000, ", 1001, 1 },
};

Test(posture_stamp, due_table)
{
	for (size_t i = 0; i < NELEM(stamp_cases); i++)
		cr_expect_eq(posture_stamp_due(stamp_cases[i].text,
		    strlen(stamp_cases[i].text), stamp_cases[i].now),
		    stamp_cases[i].due, "stamp[%zu]", i);
}

Test(posture_stamp, written_and_read_back)
{
	char *s = posture_stamp_json(1795000000, 1800);

	cr_expect_str_eq(s, "{\"sent_at\": 1795000000, \"max_age\": 1800}\n");
	cr_expect_eq(posture_stamp_due(s, strlen(s), 1795000899), 0);
	cr_expect_eq(posture_stamp_due(s, strlen(s), 1795000900), 1);
	free(s);
	s = posture_stamp_json(1795000000, 0);
	cr_expect_str_eq(s, "{\"sent_at\": 1795000000, \"max_age\": 900}\n");
	free(s);
}

/* ---- the gateway's parser ------------------------------------------------- */

/* A good report with collected_at t, as a jansson object. */
static json_t *
good_report(time_t t)
{
	char when[32];
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
	return json_pack("{s:i, s:{s:s, s:s, s:s}, s:s, s:s, s:s, s:i, s:i, "
	    "s:s, s:s}", "schema", 1, "os", "id", "debian", "version", "12",
	    "kernel", "6.1.0-26-amd64", "disk_encryption", "yes",
	    "screen_lock", "no", "firewall", "unknown", "update_age_days", 2,
	    "security_updates", 0, "client_version", "0.1.0", "collected_at",
	    when);
}

static int
parse_json(json_t *j, struct policy_posture *p, char *err, size_t errlen)
{
	char *text = json_dumps(j, JSON_COMPACT);
	int rc;

	cr_assert_not_null(text);
	rc = posture_parse(text, strlen(text), p, err, errlen);
	free(text);
	return rc;
}

Test(posture_parse, good_report)
{
	json_t *j = good_report(time(NULL));
	struct policy_posture p;
	char err[256] = "";

	cr_assert_eq(parse_json(j, &p, err, sizeof(err)), 0, "%s", err);
	cr_expect_eq(p.received_at, 0);
	cr_expect_eq(p.disk_encryption, POLICY_YES);
	cr_expect_eq(p.screen_lock, POLICY_NO);
	cr_expect_eq(p.firewall, POLICY_UNKNOWN);
	cr_expect_eq(p.update_age_days, 2);
	cr_expect_eq(p.security_updates, 0);
	cr_expect_str_eq(p.os_id, "debian");
	cr_expect_str_eq(p.os_version, "12");
	cr_expect_str_eq(p.client_version, "0.1.0");
	json_decref(j);
}

/* Freshness is the gateway's business (received_at, max-age), not the
 * parser's: an old report parses as well as a new one. */
Test(posture_parse, stale_report_is_still_a_report)
{
	json_t *j = good_report(1000000000);	/* 2001 */
	struct policy_posture p;
	char err[256] = "";

	cr_expect_eq(parse_json(j, &p, err, sizeof(err)), 0, "%s", err);
	json_object_set_new(j, "collected_at",
	    json_string("1970-01-01T00:00:00Z"));
	cr_expect_eq(parse_json(j, &p, err, sizeof(err)), 0, "%s", err);
	json_decref(j);
}

Test(posture_parse, nulls_and_bounds)
{
	json_t *j = good_report(time(NULL));
	struct policy_posture p;
	char err[256] = "";

	json_object_set_new(j, "update_age_days", json_null());
	json_object_set_new(j, "security_updates", json_null());
	cr_assert_eq(parse_json(j, &p, err, sizeof(err)), 0, "%s", err);
	cr_expect_eq(p.update_age_days, -1);
	cr_expect_eq(p.security_updates, -1);
	json_object_set_new(j, "update_age_days", json_integer(36500));
	json_object_set_new(j, "security_updates", json_integer(100000));
	cr_assert_eq(parse_json(j, &p, err, sizeof(err)), 0, "%s", err);
	cr_expect_eq(p.update_age_days, 36500);
	cr_expect_eq(p.security_updates, 100000);
	/* Times: a fraction, an offset, a little ahead of the gateway. */
	json_object_set_new(j, "collected_at",
	    json_string("2026-11-25T19:00:00.123Z"));
	cr_expect_eq(parse_json(j, &p, err, sizeof(err)), 0, "%s", err);
	json_object_set_new(j, "collected_at",
	    json_string("2026-11-25T19:00:00+01:00"));
	cr_expect_eq(parse_json(j, &p, err, sizeof(err)), 0, "%s", err);
	json_decref(j);
	j = good_report(time(NULL) + POSTURE_SKEW - 5);
	cr_expect_eq(parse_json(j, &p, err, sizeof(err)), 0, "%s", err);
	json_decref(j);
}

/* One change to a good report, and the one error it must give. */
struct parse_case {
	const char *path;	/* "firewall", "os.kernel" */
	const char *value;	/* JSON; NULL: the field removed */
	const char *err;
};

#define TRI_ERR(f)	f ": expected \"yes\", \"no\" or \"unknown\""
#define TEXT_ERR(f)	f ": expected 1..31 printable ASCII characters"
#define AGE_ERR		"update_age_days: expected an integer 0..36500 or null"
#define SEC_ERR		"security_updates: expected an integer 0..100000 or null"
#define TIME_ERR	"collected_at: expected an RFC 3339 time such as " \
			"2026-11-25T19:00:00Z"

static const struct parse_case parse_cases[] = {
	{ "apps", "[\"firefox\"]", "unknown field \"apps\"" },
	{ "location", "null", "unknown field \"location\"" },
	{ "os.arch", "\"x86_64\"", "unknown field \"os.arch\"" },
	{ "\x01" "bad\x7f", "1", "unknown field \"?bad?\"" },
	{ "a\"b", "1", "unknown field \"a?b\"" },
	{ "abcdefghijklmnopqrstuvwxyz0123456789", "1",
	    "unknown field \"abcdefghijklmnopqrstuvwxyz01234...\"" },
	{ "schema", NULL, "missing field \"schema\"" },
	{ "os", NULL, "missing field \"os\"" },
	{ "os.id", NULL, "missing field \"os.id\"" },
	{ "os.kernel", NULL, "missing field \"os.kernel\"" },
	{ "firewall", NULL, "missing field \"firewall\"" },
	{ "update_age_days", NULL, "missing field \"update_age_days\"" },
	{ "collected_at", NULL, "missing field \"collected_at\"" },
	{ "schema", "2", "schema: expected 1" },
	{ "schema", "\"1\"", "schema: expected 1" },
	{ "schema", "1.0", "schema: expected 1" },
	{ "os", "[]", "os: expected an object" },
	{ "os", "\"debian 12\"", "os: expected an object" },
	{ "disk_encryption", "\"maybe\"", TRI_ERR("disk_encryption") },
	{ "screen_lock", "\"YES\"", TRI_ERR("screen_lock") },
	{ "firewall", "true", TRI_ERR("firewall") },
	{ "firewall", "null", TRI_ERR("firewall") },
	{ "firewall", "\"\"", TRI_ERR("firewall") },
	{ "update_age_days", "-1", AGE_ERR },
	{ "update_age_days", "36501", AGE_ERR },
	{ "update_age_days", "2.5", AGE_ERR },
	{ "update_age_days", "\"2\"", AGE_ERR },
	{ "update_age_days", "9223372036854775807", AGE_ERR },
	{ "security_updates", "100001", SEC_ERR },
	{ "security_updates", "false", SEC_ERR },
	{ "client_version", "\"\"", TEXT_ERR("client_version") },
	{ "client_version", "\"0123456789012345678901234567890X\"",
	    TEXT_ERR("client_version") },
	{ "client_version", "\"0.1\\n\"", TEXT_ERR("client_version") },
	{ "client_version", "\"\\u00e9\"", TEXT_ERR("client_version") },
	{ "client_version", "1", TEXT_ERR("client_version") },
	{ "os.id", "\"\"", TEXT_ERR("os.id") },
	{ "os.version", "12", TEXT_ERR("os.version") },
	{ "os.kernel", "\"\\t\"", TEXT_ERR("os.kernel") },
	{ "collected_at", "\"2026-11-25\"", TIME_ERR },
	{ "collected_at", "\"2026-11-25T19:00:00\"", TIME_ERR },
	{ "collected_at", "\"2026-11-25 19:00:00Z\"", TIME_ERR },
	{ "collected_at", "\"2026-02-30T19:00:00Z\"", TIME_ERR },
	{ "collected_at", "\"2026-11-25T24:00:00Z\"", TIME_ERR },
	{ "collected_at", "\"2026-11-25T19:00:00.Z\"", TIME_ERR },
	{ "collected_at", "\"2026-11-25T19:00:00Zjunk\"", TIME_ERR },
	{ "collected_at", "\"2026-11-25T19:00:00+1:00\"", TIME_ERR },
	{ "collected_at", "\"2026-11-25T19:00:00.1234567890123456Z\"",
	    TIME_ERR },	/* 36 characters: too long a string */
	{ "collected_at", "1795000000", TIME_ERR },
	{ "collected_at", "\"2999-01-01T00:00:00Z\"",
	    "collected_at: more than 300 s ahead of the gateway's clock" },
};

/* Sets or removes path ("os.kernel") in the good report j. */
static void
apply_case(json_t *j, const struct parse_case *c)
{
	const char *dot = strchr(c->path, '.');
	json_t *obj = j, *v;
	const char *key = c->path;

	if (dot != NULL && strncmp(c->path, "os.", 3) == 0) {
		obj = json_object_get(j, "os");
		key = dot + 1;
	}
	if (c->value == NULL) {
		cr_assert_eq(json_object_del(obj, key), 0, "%s", c->path);
		return;
	}
	cr_assert_not_null(v = json_loads(c->value, JSON_DECODE_ANY, NULL),
	    "%s", c->value);
	json_object_set_new(obj, key, v);
}

Test(posture_parse, one_bad_field_table)
{
	for (size_t i = 0; i < NELEM(parse_cases); i++) {
		json_t *j = good_report(time(NULL));
		struct policy_posture p;
		char err[256] = "";

		apply_case(j, &parse_cases[i]);
		memset(&p, 0xa5, sizeof(p));
		cr_expect_eq(parse_json(j, &p, err, sizeof(err)), -1,
		    "parse[%zu] accepted", i);
		cr_expect_str_eq(err, parse_cases[i].err, "parse[%zu]", i);
		/* Nothing half-filled is left behind. */
		cr_expect_eq(p.disk_encryption, POLICY_UNKNOWN, "parse[%zu]", i);
		cr_expect_str_eq(p.os_id, "", "parse[%zu]", i);
		json_decref(j);
	}
}

/* Texts that are not a report at all. */
struct raw_case {
	const char *text;
	const char *err;
};

static const struct raw_case raw_cases[] = {
	{ "", "malformed JSON at line 1, column 0: '[' or '{' expected near "
	    "end of file" },
	{ "{\"schema\":1", "malformed JSON at line 1, column 11: '}' expected "
	    "near end of file" },
	{ "[]", "the report must be a JSON object" },
	{ "[{\"schema\": 1}]", "the report must be a JSON object" },
	{ "{} x", "malformed JSON at line 1, column 4: end of file expected "
	    "near 'x'" },
	{ "{\"schema\":1,\"schema\":1}", "malformed JSON at line 1, column 20: "
	    "duplicate object key near '\"schema\"'" },
	{ "{\"os\":{\"id\":\"a\",\"id\":\"b\"}}", "malformed JSON at line 1, "
	    "column 20: duplicate object key near '\"id\"'" },
	{ "{\"a\":\"\\u0000\"}", "malformed JSON at line 1, column 13: "
	    "\\u0000 is not allowed without JSON_ALLOW_NUL near '\"\\u0000\"'" },
	{ "{\"a\":\"\xff\"}", "malformed JSON at line 1, column 6: unable to "
	    "decode byte 0xff near '\"'" },
	{ "{}", "missing field \"schema\"" },
	/* An unknown field is named before a missing one. */
	{ "{\"apps\":[]}", "unknown field \"apps\"" },
};

Test(posture_parse, raw_text_table)
{
	for (size_t i = 0; i < NELEM(raw_cases); i++) {
		struct policy_posture p;
		char err[256] = "";

		cr_expect_eq(posture_parse(raw_cases[i].text,
		    strlen(raw_cases[i].text), &p, err, sizeof(err)), -1,
		    "raw[%zu] accepted", i);
		cr_expect_str_eq(err, raw_cases[i].err, "raw[%zu]: %s", i, err);
	}
}

/* Only len bytes are read: what follows (no NUL here) is not looked at. */
Test(posture_parse, length_is_respected)
{
	char *text, err[256] = "", buf[POSTURE_MAX + 64];
	json_t *j = good_report(time(NULL));
	struct policy_posture p;
	size_t len;

	cr_assert_not_null(text = json_dumps(j, JSON_COMPACT));
	len = strlen(text);
	memcpy(buf, text, len);
	memset(buf + len, '}', sizeof(buf) - len);
	cr_expect_eq(posture_parse(buf, len, &p, err, sizeof(err)), 0, "%s",
	    err);
	free(text);
	json_decref(j);
}

/* The size limit counts every byte, whitespace too. */
Test(posture_parse, oversized)
{
	char *text, err[256] = "", *buf;
	json_t *j = good_report(time(NULL));
	struct policy_posture p;
	size_t len;

	cr_assert_not_null(text = json_dumps(j, JSON_COMPACT));
	len = strlen(text);
	buf = malloc(POSTURE_MAX + 2);
	memset(buf, ' ', POSTURE_MAX + 1);
	memcpy(buf, text, len);
	cr_expect_eq(posture_parse(buf, POSTURE_MAX, &p, err, sizeof(err)), 0,
	    "%s", err);
	cr_expect_eq(posture_parse(buf, POSTURE_MAX + 1, &p, err,
	    sizeof(err)), -1);
	cr_expect_str_eq(err, "the report is 4097 bytes; at most 4096");
	buf[POSTURE_MAX + 1] = '\0';
	cr_expect_eq(posture_parse(buf, 1u << 30, &p, err, sizeof(err)), -1);
	cr_expect_str_eq(err, "the report is 1073741824 bytes; at most 4096");
	free(buf);
	free(text);
	json_decref(j);
}

/* A short error buffer gets a cut, terminated message. */
Test(posture_parse, short_error_buffer)
{
	struct policy_posture p;
	char err[8];

	cr_expect_eq(posture_parse("[]", 2, &p, err, sizeof(err)), -1);
	cr_expect_str_eq(err, "the rep");
}
