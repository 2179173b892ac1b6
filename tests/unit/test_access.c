/* Access lists, roles and cmdlet globs: resolution and the check of a peer. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>
#include <unistd.h>

#include "daemon/access.h"

static struct conf_profile *profile(const char *users, const char *groups, const char *ro_users,
				    const char *ro_groups)
{
	static struct conf_profile c;

	memset(&c, 0, sizeof(c));
	c.name = "p";
	c.allow_users = (char *)users;
	c.allow_groups = (char *)groups;
	c.read_only_users = (char *)ro_users;
	c.read_only_groups = (char *)ro_groups;
	return &c;
}

static struct access *make_with(const struct conf_profile *c, const struct conf_role *roles)
{
	struct access *a = NULL;
	char err[256];

	assert_int_equal(access_new(c, roles, &a, err, sizeof(err)), 0);
	return a;
}

static struct access *make(const char *users, const char *groups, const char *ro_users,
			   const char *ro_groups)
{
	return make_with(profile(users, groups, ro_users, ro_groups), NULL);
}

static int may(const struct access *a, uid_t uid, const gid_t *g, int n, const char *cmdlet)
{
	char why[256];

	why[0] = '\0';
	if (access_may_run(a, uid, g, n, cmdlet, why, sizeof(why)))
		return 1;
	assert_true(strlen(why) > 0);
	return 0;
}

static void test_open_profile(void **state)
{
	struct access *a = make(NULL, NULL, NULL, NULL);
	gid_t g = 4242;

	(void)state;
	assert_true(access_open(a));
	assert_int_equal(access_check(a, 4242, &g, 1), ACCESS_FULL);
	assert_true(may(a, 4242, &g, 1, "Set-Mailbox"));
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
	assert_int_equal(access_check(a, 2001, none, 1), ACCESS_SOME);
	assert_int_equal(access_check(a, 3000, readers, 1), ACCESS_SOME);
	assert_int_equal(access_check(a, 3000, none, 1), ACCESS_NONE);
	assert_int_equal(access_check(a, 3000, NULL, 0), ACCESS_NONE);
	/* root and exod's own user are never locked out. */
	assert_int_equal(access_check(a, 0, none, 1), ACCESS_FULL);
	assert_int_equal(access_check(a, geteuid(), none, 1), ACCESS_FULL);
	/* Readers read: the read-only list, nothing else. */
	assert_true(may(a, 2001, none, 1, "Get-Mailbox"));
	assert_false(may(a, 2001, none, 1, "Set-Mailbox"));
	assert_false(may(a, 2001, none, 1, "Search-Mailbox"));
	assert_false(may(a, 3000, none, 1, "Get-Mailbox"));
	assert_true(may(a, 1001, none, 1, "Search-Mailbox"));
	access_free(a);
}

/* Any one list alone closes the profile to everyone it does not name. */
static void test_each_list_alone_closes(void **state)
{
	struct access *lists[] = {
		make("1001", NULL, NULL, NULL),
		make(NULL, "500", NULL, NULL),
		make(NULL, NULL, "2001", NULL),
		make(NULL, NULL, NULL, "600"),
	};
	gid_t none[] = { 9999 };

	(void)state;
	for (size_t i = 0; i < sizeof(lists) / sizeof(lists[0]); i++) {
		assert_false(access_open(lists[i]));
		assert_int_equal(access_check(lists[i], 3000, none, 1), ACCESS_NONE);
		assert_false(may(lists[i], 3000, none, 1, "Get-Mailbox"));
		access_free(lists[i]);
	}
}

static void test_names(void **state)
{
	struct access *a = make("root", "root", NULL, NULL);
	struct access *b = (struct access *)1;
	char err[256];

	(void)state;
	access_free(a);
	assert_int_equal(access_new(profile(NULL, NULL, NULL, "no-such-group-anywhere"), NULL, &b,
				    err, sizeof(err)), -1);
	assert_null(b);
	assert_non_null(strstr(err, "read_only_groups"));
	assert_non_null(strstr(err, "no-such-group-anywhere"));
}

/* The profile's cmdlets list binds everyone, root included, without regard to case. */
static void test_profile_cmdlets(void **state)
{
	struct conf_profile *c = profile(NULL, NULL, NULL, NULL);
	struct access *a;
	char why[256];

	(void)state;
	c->cmdlets = "Get-*, Set-Mailbox ,Test-?APIConnectivity";
	a = make_with(c, NULL);
	assert_true(access_open(a));
	assert_true(may(a, 0, NULL, 0, "Get-Mailbox"));
	assert_true(may(a, 0, NULL, 0, "get-mailbox"));
	assert_true(may(a, 1234, NULL, 0, "SET-MAILBOX"));
	assert_true(may(a, 1234, NULL, 0, "Test-MAPIConnectivity"));
	assert_false(may(a, 0, NULL, 0, "Set-MailboxFolderPermission"));
	assert_false(may(a, 0, NULL, 0, "Remove-Mailbox"));
	assert_int_equal(access_may_run(a, 0, NULL, 0, "Remove-Mailbox", why, sizeof(why)), 0);
	assert_non_null(strstr(why, "profile p does not run Remove-Mailbox"));
	access_free(a);
}

/* A role grants its globs to its members, on the profiles it names. */
static void test_roles(void **state)
{
	struct conf_role other = {
		.name = "elsewhere", .users = "3001", .cmdlets = "*", .profiles = "q, r",
	};
	struct conf_role helpdesk = {
		.name = "helpdesk", .groups = "700", .cmdlets = "Set-CASMailbox, Get-CAS*",
		.profiles = "q,p", .next = &other,
	};
	struct conf_role audit = {
		.name = "audit", .users = "3000", .cmdlets = "Search-UnifiedAuditLog",
		.next = &helpdesk,
	};
	struct conf_profile *c = profile("1001", NULL, "2001", NULL);
	gid_t none[] = { 9999 }, desk[] = { 9999, 700 };
	struct access *a;

	(void)state;
	c->cmdlets = "Get-*, Set-*, Search-*";
	a = make_with(c, &audit);
	assert_false(access_open(a));
	assert_int_equal(access_check(a, 3000, none, 1), ACCESS_SOME);
	assert_int_equal(access_check(a, 4000, desk, 2), ACCESS_SOME);
	assert_int_equal(access_check(a, 3001, none, 1), ACCESS_NONE);      /* not for p */
	assert_true(may(a, 3000, none, 1, "search-unifiedauditlog"));
	assert_false(may(a, 3000, none, 1, "Get-Mailbox"));
	assert_true(may(a, 4000, desk, 2, "Set-CASMailbox"));
	assert_true(may(a, 4000, desk, 2, "Get-CASMailboxPlan"));
	assert_false(may(a, 4000, desk, 2, "Set-Mailbox"));
	assert_false(may(a, 4000, none, 1, "Set-CASMailbox"));
	assert_false(may(a, 3001, none, 1, "Get-Mailbox"));
	/* A reader with a role has both. */
	assert_true(may(a, 2001, none, 1, "Get-Mailbox"));
	assert_false(may(a, 2001, none, 1, "Set-CASMailbox"));
	access_free(a);
	/* A role alone makes the profile closed: others get nothing. */
	a = make_with(profile(NULL, NULL, NULL, NULL), &helpdesk);
	assert_false(access_open(a));
	assert_int_equal(access_check(a, 5000, none, 1), ACCESS_NONE);
	assert_false(may(a, 5000, none, 1, "Get-Mailbox"));
	access_free(a);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_open_profile),
		cmocka_unit_test(test_lists),
		cmocka_unit_test(test_each_list_alone_closes),
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_profile_cmdlets),
		cmocka_unit_test(test_roles),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
