/*
 * libFuzzer harness for the audit reader (audit/audit_reader.c): the input
 * is one audit file, verified against a fixed public key, and each of its
 * lines is run through the query filter. Run by tests/fuzz/run.sh; the
 * seed corpus was sealed and signed with this key's private half.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "audit/audit.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char FUZZ_PUB[] =
"-----BEGIN PUBLIC KEY-----\n"
"MCowBQYDK2VwAyEAT6xsgzBZxwpKyOA29+6wORq81jCenPTCYkSKBkDax6k=\n"
"-----END PUBLIC KEY-----\n";

static const struct audit_filter filters[] = {
	{ .user = "alice", .practice = "k84001" },
	{ .event = "tunnel.", .since = 1795600800, .until = 1795651200 },
	{ .event = "audit.checkpoint", .until = 1 },
};

/* The bytes as a file that audit_verify can open by name. */
static int
memfile(const char *name, const void *p, size_t len, char *path, size_t plen)
{
	int fd = memfd_create(name, MFD_CLOEXEC);

	if (fd == -1 || (len > 0 && write(fd, p, len) != (ssize_t)len))
		abort();
	snprintf(path, plen, "/proc/self/fd/%d", fd);
	return fd;
}

static const struct audit_key *
fuzz_key(void)
{
	static struct audit_key *k;
	char path[64], err[256];
	int fd;

	if (k != NULL)
		return k;
	fd = memfile("fuzz.key.pub", FUZZ_PUB, sizeof(FUZZ_PUB) - 1, path,
	    sizeof(path));
	if ((k = audit_key_load(path, err, sizeof(err))) == NULL)
		abort();
	close(fd);
	return k;
}

static void
filter_lines(const uint8_t *data, size_t size)
{
	const uint8_t *p = data, *end = data + size, *nl;
	json_t *rec;

	for (; p < end; p = nl + 1) {
		if ((nl = memchr(p, '\n', (size_t)(end - p))) == NULL)
			nl = end;
		rec = json_loadb((const char *)p, (size_t)(nl - p), 0, NULL);
		for (size_t i = 0; i < sizeof(filters) / sizeof(filters[0]);
		    i++)
			if (audit_filter_match(&filters[i], rec) > 1)
				abort();
		json_decref(rec);
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct audit_verify_result r;
	const char *paths[1];
	char path[64];
	size_t lines = 0;
	int fd, rc;

	fd = memfile("fuzz.jsonl", data, size, path, sizeof(path));
	paths[0] = path;
	rc = audit_verify(paths, 1, fuzz_key(), &r);
	close(fd);
	for (size_t i = 0; i < size; i++)
		lines += data[i] == '\n';
	/* The result agrees with itself whatever the input. */
	if ((rc == 0) != (r.ok == 1) || (rc == 0) != (r.bad_seq == 0) ||
	    (rc == -1 && r.reason[0] == '\0') || r.records > lines ||
	    r.checkpoints > r.records ||
	    (rc == 0 && r.records > 0 && r.last_seq - r.first_seq + 1 !=
	    r.records))
		abort();
	filter_lines(data, size);
	return 0;
}
