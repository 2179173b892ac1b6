/* Access lists: resolution and the check of a peer. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>
#include <unistd.h>

#include "daemon/access.h"

static struct access *make(const char *users, const char *groups, const char *ro_users,
			   const char *ro_groups)
{
	struct conf_profile c;
	struct access *a = NULL;
	char err[256];

	memset(&c, 0, sizeof(c));
	c.name = "p";
	c.allow_users = (char *)users;
	c.allow_groups = (char *)groups;
	c.read_only_users = (char *)ro_users;
	c.read_only_groups = (char *)ro_groups;
	assert_int_equal(access_new(&c, &a, err, sizeof(err)), 0);
	return a;
}

static void test_open_profile(void **state)
{
	struct access *a = make(NULL, NULL, NULL, NULL);
	gid_t g = 4242;

	(void)state;
	assert_true(access_open(a));
	assert_int_equal(access_check(a, 4242, &g, 1), ACCESS_FULL);
	access_free(a);
}

static void test_lists(void **state)
{
	struct access *a = make("1001, 1002", "500", "2001", "600,601");
	gid_t none[] = { 9999 }, staff[] = { 9999, 500 }, readers[] = { 601 };

	(void)state;
	assert_false(access_open(a));
	assert_int_equal(access_check(a, 1002, none, 1), ACCESS_FULL);
	assert_int_equal(access_check(a, 3000, staff, 2), ACCESS_FULL);
	assert_int_equal(access_check(a, 2001, none, 1), ACCESS_READ);
	assert_int_equal(access_check(a, 3000, readers, 1), ACCESS_READ);
	assert_int_equal(access_check(a, 3000, none, 1), ACCESS_NONE);
	assert_int_equal(access_check(a, 3000, NULL, 0), ACCESS_NONE);
	/* root and exod's own user are never locked out. */
	assert_int_equal(access_check(a, 0, none, 1), ACCESS_FULL);
	assert_int_equal(access_check(a, geteuid(), none, 1), ACCESS_FULL);
	access_free(a);
}

static void test_names(void **state)
{
	struct access *a = make("root", "root", NULL, NULL);
	struct conf_profile c;
	char err[256];

	(void)state;
	access_free(a);
	memset(&c, 0, sizeof(c));
	c.name = "p";
	c.read_only_groups = "no-such-group-anywhere";
	assert_int_equal(access_new(&c, &a, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "read_only_groups"));
	assert_non_null(strstr(err, "no-such-group-anywhere"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_open_profile),
		cmocka_unit_test(test_lists),
		cmocka_unit_test(test_names),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
