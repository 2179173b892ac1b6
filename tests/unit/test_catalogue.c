/* Unit tests of the cmdlet catalogue (common/catalogue.c) on the real, generated data. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <strings.h>

#include <cmocka.h>

#include "common/catalogue.h"

#define FIND(name) catalogue_find(name, strlen(name))
#define GLOB(pattern, name) catalogue_glob(pattern, strlen(pattern), name)

static const struct catalogue_cmdlet *must_find(const char *name)
{
	const struct catalogue_cmdlet *c = FIND(name);

	if (c == NULL)
		fail_msg("%s is not in the catalogue", name);
	return c;
}

static const struct catalogue_param *must_param(const char *cmdlet, const char *name)
{
	const struct catalogue_param *p = catalogue_param_find(must_find(cmdlet), name, strlen(name));

	if (p == NULL)
		fail_msg("%s has no -%s", cmdlet, name);
	return p;
}

static const struct catalogue_set *must_set(const struct catalogue_cmdlet *c, const char *name)
{
	for (size_t i = 0; i < catalogue_set_count(c); i++)
		if (strcmp(catalogue_set_name(catalogue_set_at(c, i)), name) == 0)
			return catalogue_set_at(c, i);
	fail_msg("%s has no set %s", catalogue_cmdlet_name(c), name);
	return NULL;
}

static void test_source_and_counts(void **state)
{
	size_t params = 0, sets = 0, members = 0, secure = 0;

	(void)state;
	assert_string_equal(catalogue_source(),
			    "MicrosoftDocs/office-docs-powershell @93336da2bca96c31c0fc8acc52658a30ef8a6c94");
	assert_int_equal(catalogue_count(), 941);
	for (size_t i = 0; i < catalogue_count(); i++) {
		const struct catalogue_cmdlet *c = catalogue_at(i);

		params += catalogue_param_count(c);
		sets += catalogue_set_count(c);
		for (size_t s = 0; s < catalogue_set_count(c); s++)
			members += catalogue_set_member_count(catalogue_set_at(c, s));
		for (size_t p = 0; p < catalogue_param_count(c); p++)
			secure += catalogue_param_kind(catalogue_param_at(c, p)) == CATALOGUE_SECURE;
	}
	/* The figures of ../shared/reference/cmdlets/README.md. */
	assert_int_equal(params, 9240);
	assert_int_equal(sets, 1237);
	assert_int_equal(members, 13871);
	assert_int_equal(secure, 11);
	assert_null(catalogue_at(catalogue_count()));
}

/* Sorted the way catalogue_find searches: strictly increasing, ignoring case. */
static void test_sorted_and_findable(void **state)
{
	(void)state;
	for (size_t i = 0; i < catalogue_count(); i++) {
		const char *name = catalogue_cmdlet_name(catalogue_at(i));

		if (i > 0)
			assert_true(strcasecmp(catalogue_cmdlet_name(catalogue_at(i - 1)), name) < 0);
		assert_ptr_equal(FIND(name), catalogue_at(i));
	}
}

static void test_find(void **state)
{
	const struct catalogue_cmdlet *c = must_find("Get-Mailbox");

	(void)state;
	assert_string_equal(catalogue_cmdlet_name(c), "Get-Mailbox");
	assert_ptr_equal(FIND("get-MAILBOX"), c);
	/* Length-delimited: the bytes after len do not count, and need no NUL. */
	assert_ptr_equal(catalogue_find("Get-MailboxStatistics", 11), c);
	assert_null(FIND("Get-Mailboxes"));
	assert_null(FIND("Get-Mailbo"));
	assert_null(catalogue_find("Get-Mailbox\0x", 13));
	assert_null(catalogue_find("Get-Mailbox", 0));
	assert_null(catalogue_find(NULL, 3));
	assert_null(FIND("Search-Mailbox"));     /* retired: not documented any more */
}

static void test_services(void **state)
{
	(void)state;
	assert_int_equal(catalogue_cmdlet_services(must_find("Get-Mailbox")), CATALOGUE_EXO);
	assert_int_equal(catalogue_cmdlet_services(must_find("Get-Recipient")),
			 CATALOGUE_EXO | CATALOGUE_SCC | CATALOGUE_EOP);
	assert_int_equal(catalogue_cmdlet_services(must_find("Set-Mailbox")), CATALOGUE_EXO | CATALOGUE_EOP);
	assert_int_equal(catalogue_param_services(must_param("Set-Label", "AdvancedSettings")), CATALOGUE_SCC);
}

static void test_kinds(void **state)
{
	const struct catalogue_param *p;

	(void)state;
	p = must_param("Get-Mailbox", "Identity");
	assert_int_equal(catalogue_param_kind(p), CATALOGUE_IDENTITY);
	assert_string_equal(catalogue_param_type(p), "MailboxIdParameter");
	p = must_param("Get-Mailbox", "ResultSize");
	assert_int_equal(catalogue_param_kind(p), CATALOGUE_UNLIMITED_INT);
	assert_int_equal(catalogue_param_range(p), CATALOGUE_RANGE_U32);
	assert_int_equal(catalogue_param_kind(must_param("Get-Mailbox", "Filter")), CATALOGUE_STRING);
	assert_int_equal(catalogue_param_kind(must_param("Get-Mailbox", "Archive")), CATALOGUE_SWITCH);
	p = must_param("Get-Mailbox", "RecipientTypeDetails");
	assert_int_equal(catalogue_param_kind(p), CATALOGUE_OTHER);
	assert_int_equal(catalogue_param_flags(p), CATALOGUE_MULTI);
	p = must_param("Set-Mailbox", "EmailAddresses");
	assert_int_equal(catalogue_param_flags(p), CATALOGUE_MULTI | CATALOGUE_DELTA);
	assert_int_equal(catalogue_param_kind(must_param("Set-Mailbox", "HiddenFromAddressListsEnabled")),
			 CATALOGUE_BOOLEAN);
	assert_int_equal(catalogue_param_kind(must_param("Set-Mailbox", "Password")), CATALOGUE_SECURE);
	assert_int_equal(catalogue_param_kind(must_param("Set-Mailbox", "MaxSendSize")), CATALOGUE_UNLIMITED);
	assert_int_equal(catalogue_param_kind(must_param("Set-Mailbox", "RecipientLimits")),
			 CATALOGUE_UNLIMITED_INT);
	assert_int_equal(catalogue_param_kind(must_param("Set-Mailbox", "DisplayName")), CATALOGUE_STRING);
	assert_int_equal(catalogue_param_kind(must_param("Set-Label", "AdvancedSettings")), CATALOGUE_HASHTABLE);
	p = must_param("Search-UnifiedAuditLog", "ResultSize");
	assert_int_equal(catalogue_param_kind(p), CATALOGUE_INTEGER);
	assert_int_equal(catalogue_param_range(p), CATALOGUE_RANGE_I32);
	assert_int_equal(catalogue_param_range(must_param("Set-OrganizationConfig",
							  "AutoArchivingThresholdPercentage")), CATALOGUE_RANGE_I16);
	assert_int_equal(catalogue_param_range(must_param("Set-OrganizationConfig",
							  "MailTipsLargeAudienceThreshold")), CATALOGUE_RANGE_U32);
	/* System.Boolean and Boolean are one type. */
	assert_string_equal(catalogue_kind_name(CATALOGUE_BOOLEAN), "a Boolean");
	assert_string_equal(catalogue_kind_name((enum catalogue_kind)99), "a value");
}

static void test_every_kind_is_named(void **state)
{
	(void)state;
	for (size_t i = 0; i < catalogue_count(); i++) {
		const struct catalogue_cmdlet *c = catalogue_at(i);

		for (size_t p = 0; p < catalogue_param_count(c); p++) {
			const struct catalogue_param *q = catalogue_param_at(c, p);

			assert_true(catalogue_param_kind(q) <= CATALOGUE_OTHER);
			assert_true(catalogue_param_name(q)[0] != '\0');
			assert_true(catalogue_param_type(q)[0] != '\0');
			assert_ptr_equal(catalogue_param_find(c, catalogue_param_name(q),
							      strlen(catalogue_param_name(q))), q);
			assert_int_equal(catalogue_param_index(c, q), p);
			if (catalogue_param_kind(q) == CATALOGUE_SWITCH)
				assert_string_equal(catalogue_param_type(q), "SwitchParameter");
		}
		assert_null(catalogue_param_at(c, catalogue_param_count(c)));
		assert_null(catalogue_set_at(c, catalogue_set_count(c)));
	}
}

static void test_aliases(void **state)
{
	const struct catalogue_param *p;

	(void)state;
	p = must_param("Set-Mailbox", "Confirm");
	assert_int_equal(catalogue_param_alias_count(p), 1);
	assert_string_equal(catalogue_param_alias(p, 0), "cf");
	assert_null(catalogue_param_alias(p, 1));
	assert_ptr_equal(must_param("Set-Mailbox", "CF"), p);
	assert_string_equal(catalogue_param_name(must_param("Get-MoveRequest", "movestatus")), "Status");
	assert_string_equal(catalogue_param_name(must_param("Set-Mailbox", "wi")), "WhatIf");
	/* The page gives "wi" to -SharePointLocation too; the generator dropped that claim. */
	assert_string_equal(catalogue_param_name(must_param("Invoke-HoldRemovalAction", "wi")), "WhatIf");
	assert_int_equal(catalogue_param_alias_count(must_param("Invoke-HoldRemovalAction",
								"SharePointLocation")), 0);
	/* No prefixes here: that is the binder's rule. */
	assert_null(catalogue_param_find(must_find("Get-Mailbox"), "Ident", 5));
	assert_null(catalogue_param_find(must_find("Get-Mailbox"), "Identity", 0));
}

static void test_sets(void **state)
{
	const struct catalogue_cmdlet *c = must_find("Get-Mailbox");
	const struct catalogue_set *s;
	struct catalogue_member m;

	(void)state;
	assert_int_equal(catalogue_set_count(c), 3);
	assert_string_equal(catalogue_set_name(catalogue_set_at(c, 0)), "AnrSet");
	s = must_set(c, "Identity");
	assert_false(catalogue_set_is_default(s));
	assert_int_equal(catalogue_set_member(s, 0, &m), 0);
	assert_string_equal(catalogue_param_name(catalogue_param_at(c, m.param)), "Identity");
	assert_int_equal(m.position, 0);
	assert_false(m.required);
	assert_int_equal(catalogue_set_member(s, catalogue_set_member_count(s), &m), -1);
	assert_true(catalogue_set_is_default(must_set(must_find("Set-Mailbox"), "Identity")));

	c = must_find("Add-LdapDirectory");
	s = catalogue_set_at(c, 0);
	assert_string_equal(catalogue_set_name(s), "__AllParameterSets");
	for (size_t i = 0; catalogue_set_member(s, i, &m) == 0; i++) {
		const char *name = catalogue_param_name(catalogue_param_at(c, m.param));

		if (strcmp(name, "Port") == 0)
			assert_int_equal(m.position, 2);
		if (strcmp(name, "Organization") == 0) {
			assert_int_equal(m.position, -1);
			assert_true(m.required);
		}
	}
}

static void test_glob(void **state)
{
	(void)state;
	assert_true(GLOB("Get-Mailbox", "Get-Mailbox"));
	assert_true(GLOB("get-mailbox", "Get-Mailbox"));
	assert_false(GLOB("Mailbox", "Get-Mailbox"));
	assert_true(GLOB("*mailbox", "Get-Mailbox"));
	assert_true(GLOB("Get-Mailbox*", "Get-MailboxStatistics"));
	assert_true(GLOB("*-*Box*", "Get-MailboxStatistics"));
	assert_true(GLOB("Get-?ailbox", "Get-Mailbox"));
	assert_false(GLOB("Get-?Mailbox", "Get-Mailbox"));
	assert_true(GLOB("[gs]et-Mailbox", "Set-Mailbox"));
	assert_true(GLOB("[A-H]et-Mailbox", "get-Mailbox"));
	assert_false(GLOB("[!g]et-Mailbox", "Get-Mailbox"));
	assert_true(GLOB("[^g]et-Mailbox", "Set-Mailbox"));
	assert_true(GLOB("[]x]", "]"));
	assert_true(GLOB("a[b", "a[b"));        /* no ']': the '[' is literal */
	assert_true(GLOB("a\\*", "a*"));
	assert_false(GLOB("a\\*", "ab"));
	assert_true(GLOB("*", ""));
	assert_true(GLOB("", ""));
	assert_false(GLOB("", "x"));
	assert_true(GLOB("**a**b**", "xaxb"));
	assert_false(catalogue_glob("Get-Mailbox", 11, NULL));
	assert_false(catalogue_glob(NULL, 0, "x"));
}

static void test_glob_bounded(void **state)
{
	char pattern[CATALOGUE_MAX_PATTERN + 2];
	char name[200];

	(void)state;
	memset(pattern, '*', sizeof(pattern) - 1);
	pattern[sizeof(pattern) - 1] = '\0';
	memset(name, 'a', sizeof(name) - 1);
	name[sizeof(name) - 1] = '\0';
	assert_false(catalogue_glob(pattern, CATALOGUE_MAX_PATTERN + 1, name));
	/* Many stars and a mismatch at the end: linear backtracking, not exponential. */
	for (size_t i = 0; i < CATALOGUE_MAX_PATTERN; i += 2) {
		pattern[i] = '*';
		pattern[i + 1] = 'a';
	}
	pattern[CATALOGUE_MAX_PATTERN - 1] = 'b';
	assert_false(catalogue_glob(pattern, CATALOGUE_MAX_PATTERN, name));
}

static void test_next(void **state)
{
	const struct catalogue_cmdlet *c, *prev = NULL;
	size_t cursor = 0, n = 0;

	(void)state;
	while ((c = catalogue_next("get-*", 5, &cursor)) != NULL) {
		assert_int_equal(strncasecmp(catalogue_cmdlet_name(c), "Get-", 4), 0);
		if (prev != NULL)
			assert_true(strcasecmp(catalogue_cmdlet_name(prev), catalogue_cmdlet_name(c)) < 0);
		prev = c;
		n++;
	}
	assert_int_equal(n, 321);       /* README.md of the read-only list: 321 Get- cmdlets */
	assert_null(catalogue_next("get-*", 5, &cursor));
	cursor = 0;
	for (n = 0; catalogue_next(NULL, 0, &cursor) != NULL; n++)
		;
	assert_int_equal(n, catalogue_count());
	cursor = 0;
	for (n = 0; (c = catalogue_next("*-Mailbox", 9, &cursor)) != NULL; n++) {
		const char *name = catalogue_cmdlet_name(c);

		assert_string_equal(name + strlen(name) - 8, "-Mailbox");
	}
	assert_true(n >= 4);            /* Get-, Set-, New-, Remove-Mailbox at least */
	cursor = 0;
	assert_null(catalogue_next("No-SuchCmdlet", 13, &cursor));
	assert_null(catalogue_next("*", 1, NULL));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_source_and_counts),
		cmocka_unit_test(test_sorted_and_findable),
		cmocka_unit_test(test_find),
		cmocka_unit_test(test_services),
		cmocka_unit_test(test_kinds),
		cmocka_unit_test(test_every_kind_is_named),
		cmocka_unit_test(test_aliases),
		cmocka_unit_test(test_sets),
		cmocka_unit_test(test_glob),
		cmocka_unit_test(test_glob_bounded),
		cmocka_unit_test(test_next),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
