/* Unit tests for daemon/readonly.c: the read-only cmdlet list and the look-up in it. */
#include <ctype.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <strings.h>

#include <cmocka.h>

#include "daemon/readonly.h"

/* The very list readonly.c searches, so that the test can walk it. */
static const char *const names[] = {
#include "daemon/readonly_cmdlets.inc"
};

#define NNAMES (sizeof(names) / sizeof(names[0]))

/* A C string through the length-delimited interface, as the daemon calls it. */
static int ro(const char *s)
{
	return readonly_cmdlet(s, strlen(s));
}

static int on_list(const char *s, size_t len)
{
	for (size_t i = 0; i < NNAMES; i++)
		if (strlen(names[i]) == len && strncasecmp(names[i], s, len) == 0)
			return 1;
	return 0;
}

static void test_known(void **state)
{
	(void)state;
	assert_true(ro("Get-Mailbox"));
	assert_true(ro("get-mailbox"));
	assert_true(ro("GET-MAILBOX"));
	assert_true(ro("gEt-MaIlBoX"));
	assert_true(ro("Search-UnifiedAuditLog"));
	assert_true(ro("search-unifiedauditlog"));
	assert_true(ro("Test-MAPIConnectivity"));
	assert_true(ro("Export-MailboxDiagnosticLogs"));
}

static void test_writers(void **state)
{
	(void)state;
	assert_false(ro("Set-Mailbox"));
	assert_false(ro("New-Mailbox"));
	assert_false(ro("Remove-Mailbox"));
	/* Read-sounding verbs that write or send. */
	assert_false(ro("Search-Mailbox"));
	assert_false(ro("Test-Message"));
	assert_false(ro("Validate-OutboundConnector"));
	assert_false(ro("Export-QuarantineMessage"));
	assert_false(ro("Invoke-ProvisioningRecipientDiagnostic"));
	/* Get- cmdlets with a parameter that mails or writes. */
	assert_false(ro("Get-CASMailbox"));
	assert_false(ro("Get-MobileDeviceStatistics"));
	assert_false(ro("Get-EXOMobileDeviceStatistics"));
}

static void test_unknown(void **state)
{
	(void)state;
	assert_false(ro("Get-NoSuchThing"));
	assert_false(ro("Get-"));
	assert_false(ro("Get"));
	assert_false(ro("-"));
	assert_false(ro("Mailbox"));
	assert_false(ro("ExchangePowerShell\\Get-Mailbox"));
	assert_false(ro("Get-Mailbox "));
	assert_false(ro(" Get-Mailbox"));
	assert_false(ro("Get_Mailbox"));
	assert_false(ro("G\xc3\xa9t-Mailbox"));
	assert_false(ro("\xff\xff\xff"));
}

static void test_empty(void **state)
{
	(void)state;
	assert_false(readonly_cmdlet("", 0));
	assert_false(readonly_cmdlet("Get-Mailbox", 0));
	assert_false(readonly_cmdlet(NULL, 0));
	assert_false(readonly_cmdlet("\0", 1));
}

static void test_embedded_nul(void **state)
{
	static const char nul_end[] = "Get-Mailbox\0";
	static const char nul_mid[] = "Get-Mail\0box";
	static const char nul_tail[] = "Get-Mailbox\0Set-Mailbox";

	(void)state;
	assert_false(readonly_cmdlet(nul_end, sizeof(nul_end) - 1));
	assert_false(readonly_cmdlet(nul_mid, sizeof(nul_mid) - 1));
	assert_false(readonly_cmdlet(nul_tail, sizeof(nul_tail) - 1));
	/* The length, not a NUL, ends the name. */
	assert_true(readonly_cmdlet(nul_tail, strlen("Get-Mailbox")));
}

static void test_prefix_suffix(void **state)
{
	static const char not_terminated[] = { 'G', 'e', 't', '-', 'U', 's', 'e', 'r' };

	(void)state;
	assert_false(ro("Get-Mailbo"));
	assert_false(ro("Get-Mailboxes"));
	assert_false(ro("Get-MailboxX"));
	assert_false(ro("Search-UnifiedAuditLo"));
	assert_false(ro("Search-UnifiedAuditLogs"));
	assert_false(readonly_cmdlet("Get-Mailbox", 10));
	assert_true(readonly_cmdlet(not_terminated, sizeof(not_terminated)));
	assert_false(readonly_cmdlet(not_terminated, sizeof(not_terminated) - 1));
}

static void test_list_sorted_unique(void **state)
{
	(void)state;
	assert_int_equal(readonly_count(), NNAMES);
	assert_in_range(readonly_count(), 300, 1000);
	for (size_t i = 1; i < NNAMES; i++)
		if (strcasecmp(names[i - 1], names[i]) >= 0)
			fail_msg("not sorted or duplicated: \"%s\" then \"%s\"", names[i - 1], names[i]);
}

/* Every entry in three cases; no entry with a byte more or less unless that is an entry too. */
static void test_walk(void **state)
{
	char buf[128];

	(void)state;
	for (size_t i = 0; i < NNAMES; i++) {
		size_t len = strlen(names[i]);

		assert_true(len > 0 && len + 1 < sizeof(buf));
		assert_true(readonly_cmdlet(names[i], len));
		for (size_t j = 0; j < len; j++)
			buf[j] = (char)toupper((unsigned char)names[i][j]);
		assert_true(readonly_cmdlet(buf, len));
		for (size_t j = 0; j < len; j++)
			buf[j] = (char)tolower((unsigned char)names[i][j]);
		assert_true(readonly_cmdlet(buf, len));
		assert_int_equal(readonly_cmdlet(buf, len - 1), on_list(buf, len - 1));
		buf[len] = '\0';
		assert_false(readonly_cmdlet(buf, len + 1));
		buf[len] = 's';
		assert_int_equal(readonly_cmdlet(buf, len + 1), on_list(buf, len + 1));
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_known),
		cmocka_unit_test(test_writers),
		cmocka_unit_test(test_unknown),
		cmocka_unit_test(test_empty),
		cmocka_unit_test(test_embedded_nul),
		cmocka_unit_test(test_prefix_suffix),
		cmocka_unit_test(test_list_sorted_unique),
		cmocka_unit_test(test_walk),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
