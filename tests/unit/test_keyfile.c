/* test_keyfile.c - key files: created 0600 and read back, refused when
 * others can read them, garbage refused with a reason. */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "vpn/keyfile.h"

static char dir[64];

static int setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/test_keyfile.XXXXXX");
	return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
	char cmd[128];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	return system(cmd) == 0 ? 0 : -1;
}

static void write_file(const char *path, const char *text, mode_t mode)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	fputs(text, f);
	fclose(f);
	assert_int_equal(chmod(path, mode), 0);
}

static void test_create_then_read(void **state)
{
	char path[128], err[KEYFILE_ERR_MAX];
	uint8_t a[32], b[32];
	struct stat st;
	int created;

	(void)state;
	snprintf(path, sizeof(path), "%s/k1", dir);
	assert_int_equal(keyfile_load_or_create(path, a, &created, err), 0);
	assert_int_equal(created, 1);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	assert_int_equal(keyfile_load_or_create(path, b, &created, err), 0);
	assert_int_equal(created, 0);
	assert_memory_equal(a, b, 32);
}

static void test_refuses_open_permissions(void **state)
{
	char path[128], err[KEYFILE_ERR_MAX];
	uint8_t k[32];

	(void)state;
	snprintf(path, sizeof(path), "%s/k2", dir);
	write_file(path, "YAnGRfEHNRI8DJ/ylQTUL0ykdKLldwxgNdDq6bHhvFk=\n", 0644);
	assert_int_equal(keyfile_read(path, k, err), -EPERM);
	assert_non_null(strstr(err, "chmod 600"));
	assert_int_equal(chmod(path, 0600), 0);
	assert_int_equal(keyfile_read(path, k, err), 0);
}

static void test_refuses_garbage(void **state)
{
	char path[128], err[KEYFILE_ERR_MAX];
	uint8_t k[32];

	(void)state;
	snprintf(path, sizeof(path), "%s/k3", dir);
	write_file(path, "not a key\n", 0600);
	assert_int_equal(keyfile_read(path, k, err), -EINVAL);
	assert_non_null(strstr(err, path));
	assert_non_null(strstr(err, "weft genkey"));
	snprintf(path, sizeof(path), "%s/missing", dir);
	assert_int_equal(keyfile_read(path, k, err), -ENOENT);
	assert_int_equal(keyfile_parse("  YAnGRfEHNRI8DJ/ylQTUL0ykdKLldwxgNdDq6bHhvFk=\n", k, err), 0);
	assert_int_equal(keyfile_parse("YAnGRfEHNRI8DJ/ylQTUL0ykdKLldwxgNdDq6bHhvF=", k, err), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_create_then_read),
		cmocka_unit_test(test_refuses_open_permissions),
		cmocka_unit_test(test_refuses_garbage),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
