/*
 * Unit tests of the parameter binder (common/binder.c) on the real
 * catalogue: both entry points, every rule of tools/README-binder.md, and
 * a clear error for every malformed form.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <yajl/yajl_gen.h>
#include <yajl/yajl_tree.h>

#include "common/binder.h"
#include "common/catalogue.h"
#include "common/jtree.h"
#include "common/utf8.h"

#define ARGV(...) ((char *[]){ __VA_ARGS__ })
#define NARGS(...) ((int)(sizeof((char *[]){ __VA_ARGS__ }) / sizeof(char *)))
#define OK(cmdlet, expect, ...) check_ok(cmdlet, expect, NARGS(__VA_ARGS__), ARGV(__VA_ARGS__))
#define FAILS(cmdlet, needle, ...) check_fails(cmdlet, needle, NARGS(__VA_ARGS__), ARGV(__VA_ARGS__))

static char errbuf[BINDER_ERR_LEN];
static struct binder_result res;

static yajl_gen new_gen(void)
{
	yajl_gen g = yajl_gen_alloc(NULL);

	assert_non_null(g);
	yajl_gen_config(g, yajl_gen_validate_utf8, 1);
	return g;
}

static char *take(yajl_gen g, int rc)
{
	const unsigned char *buf;
	size_t len;
	char *out = NULL;

	if (rc == 0) {
		assert_int_equal(yajl_gen_get_buf(g, &buf, &len), yajl_gen_status_ok);
		out = strndup((const char *)buf, len);
	} else {
		/* Every failure says why, in text fit for a terminal and for JSON. */
		assert_true(errbuf[0] != '\0');
		assert_true(utf8_valid(errbuf, strlen(errbuf)));
		for (const char *p = errbuf; *p; p++)
			assert_true((unsigned char)*p >= 0x20);
	}
	yajl_gen_free(g);
	return out;
}

/* Runs binder_argv; returns the JSON text (malloc'ed) or NULL on failure. */
static char *bind_argv(const char *cmdlet, int argc, char **argv)
{
	yajl_gen g = new_gen();

	errbuf[0] = '\0';
	return take(g, binder_argv(g, cmdlet, strlen(cmdlet), argc, argv, &res, errbuf, sizeof(errbuf)));
}

/* Runs binder_json on a JSON text (parsed as exod parses a request). */
static char *bind_json(const char *cmdlet, const char *json)
{
	yajl_gen g = new_gen();
	yajl_val v = NULL;
	char why[128];
	int rc;

	if (json != NULL)
		assert_non_null(v = jtree_parse(json, strlen(json), why, sizeof(why)));
	errbuf[0] = '\0';
	rc = binder_json(g, cmdlet, strlen(cmdlet), v, &res, errbuf, sizeof(errbuf));
	jtree_free(v);
	return take(g, rc);
}

static void expect_ok(char *out, const char *expect)
{
	if (out == NULL)
		fail_msg("binding failed: %s", errbuf);
	assert_string_equal(out, expect);
	free(out);
}

static void expect_fail(char *out, const char *needle)
{
	if (out != NULL) {
		print_error("the binder accepted it: %s\n", out);
		free(out);
		fail();
	}
	if (strstr(errbuf, needle) == NULL)
		fail_msg("error \"%s\" does not mention \"%s\"", errbuf, needle);
}

static void check_ok(const char *cmdlet, const char *expect, int argc, char **argv)
{
	expect_ok(bind_argv(cmdlet, argc, argv), expect);
}

static void check_fails(const char *cmdlet, const char *needle, int argc, char **argv)
{
	expect_fail(bind_argv(cmdlet, argc, argv), needle);
}

static void json_ok(const char *cmdlet, const char *json, const char *expect)
{
	expect_ok(bind_json(cmdlet, json), expect);
}

static void json_fails(const char *cmdlet, const char *json, const char *needle)
{
	expect_fail(bind_json(cmdlet, json), needle);
}

static const char *set_name(void)
{
	if (res.cmdlet == NULL || res.set < 0)
		return "";
	return catalogue_set_name(catalogue_set_at(res.cmdlet, (size_t)res.set));
}

static void test_positional_identity(void **state)
{
	(void)state;
	OK("Get-Mailbox", "{\"Identity\":\"alice\"}", "alice");
	assert_string_equal(catalogue_cmdlet_name(res.cmdlet), "Get-Mailbox");
	assert_string_equal(set_name(), "Identity");
	/* The cmdlet's name in any case; the canonical one comes back in res.cmdlet. */
	OK("get-MAILBOX", "{\"Identity\":\"alice@contoso.com\",\"ResultSize\":10}",
	   "alice@contoso.com", "-ResultSize", "10");
	assert_string_equal(catalogue_cmdlet_name(res.cmdlet), "Get-Mailbox");
	/* A switch takes no value: what follows it is positional. */
	OK("Get-Mailbox", "{\"Archive\":true,\"Identity\":\"alice\"}", "-Archive", "alice");
	OK("Get-Mailbox", "{\"Identity\":\"-30\"}", "-30");
}

static void test_positional_several(void **state)
{
	(void)state;
	OK("Add-LdapDirectory", "{\"Id\":\"dir1\",\"Host\":\"ldap.contoso.com\",\"Port\":636}",
	   "dir1", "ldap.contoso.com", "636");
	assert_string_equal(res.missing, "-Organization");
	OK("New-DkimSigningConfig", "{\"DomainName\":\"contoso.com\",\"Enabled\":true}",
	   "contoso.com", "$true");
	/* A position taken by name is skipped, as PowerShell does. */
	OK("Add-LdapDirectory", "{\"Id\":\"d\",\"Host\":\"h\",\"Port\":389}", "-Id", "d", "h", "389");
	OK("Add-LdapDirectory", "{\"Host\":\"h\",\"Id\":\"d\",\"Port\":389}", "-Host", "h", "d", "389");
	FAILS("Add-LdapDirectory", "takes a whole number", "d", "h", "ldaps");
}

static void test_too_many_positional(void **state)
{
	(void)state;
	FAILS("Get-Mailbox", "Get-Mailbox: no parameter takes the value 'bob' by position", "alice", "bob");
	FAILS("Get-Mailbox", "no parameter takes the value 'alice'", "-Identity", "bob", "alice");
	FAILS("Set-Mailbox", "quote it whole, as in -DisplayName 'Vance, Adele'",
	      "alice", "-DisplayName", "Vance,", "Adele");
	FAILS("Get-AcceptedDomain", "no parameter takes the value 'x' by position", "a", "x");
	/* A value that is not text is not quoted back (found by fuzz_binder). */
	FAILS("New-Mailbox", "no parameter takes the value (text that is not UTF-8) by position", "Room", "\xfe\xb7");
}

static void test_prefixes(void **state)
{
	(void)state;
	OK("Get-Mailbox", "{\"Identity\":\"alice\",\"ResultSize\":\"Unlimited\"}",
	   "-Ident", "alice", "-resultS", "unlimited");
	OK("Get-Mailbox", "{\"Identity\":\"alice\"}", "-IDENTITY", "alice");
	OK("Get-Mailbox", "{\"RecipientTypeDetails\":[\"UserMailbox\"]}", "-Rec", "UserMailbox");
	OK("Get-Mailbox", "{}", "-ErrorA", "Stop");
	assert_string_equal(binder_common_get(&res.common, BINDER_ERROR_ACTION), "Stop");
}

static void test_ambiguous(void **state)
{
	(void)state;
	FAILS("Get-Mailbox", "Get-Mailbox: the parameter name -Include is ambiguous", "-Include", "x");
	FAILS("Get-Mailbox", "-IncludeInactiveMailbox", "-Include", "x");
	FAILS("Get-Mailbox", "-IncludeEmailAddressDisplayNames", "-Include", "x");
	FAILS("Get-Mailbox", "write more of the name", "-Include", "x");
	/* Common parameters take part, as in PowerShell. */
	FAILS("Get-Mailbox", "-OrganizationalUnit, -OutVariable, -OutBuffer", "-O", "x");
	FAILS("Get-Mailbox", "-ErrorAction, -ErrorVariable", "-Error", "x");
	/* Exact names win over longer ones. */
	OK("Get-Mailbox", "{\"Archive\":true}", "-Archive");
}

static void test_aliases(void **state)
{
	(void)state;
	OK("Set-Mailbox", "{\"Identity\":\"alice\",\"Confirm\":false}", "alice", "-cf:$false");
	OK("Get-MoveRequest", "{\"Status\":\"Queued\"}", "-MoveStatus", "Queued");
	assert_string_equal(set_name(), "Filtering");
	OK("Set-Mailbox", "{\"Identity\":\"a\",\"WhatIf\":true}", "a", "-wi");
	/* The catalogue gives "wi" to -SharePointLocation too; the generator kept it for -WhatIf. */
	OK("Invoke-HoldRemovalAction", "{\"WhatIf\":true}", "-wi");
	OK("Get-Mailbox", "{}", "-ea", "silentlycontinue", "-wa", "Continue", "-vb", "-db:$false");
	assert_string_equal(binder_common_get(&res.common, BINDER_ERROR_ACTION), "SilentlyContinue");
	assert_string_equal(binder_common_get(&res.common, BINDER_WARNING_ACTION), "Continue");
	assert_string_equal(binder_common_get(&res.common, BINDER_VERBOSE), "true");
	assert_string_equal(binder_common_get(&res.common, BINDER_DEBUG), "false");
}

static void test_unknown_names(void **state)
{
	(void)state;
	FAILS("Get-Mailbox", "Get-Mailbox has no parameter -Idenity; did you mean -Identity?",
	      "-Idenity", "x");
	FAILS("Get-Mailbox", "did you mean -ResultSize?", "-ResultSise", "1");
	FAILS("Get-Mailbox", "-RecipientTypeDetails", "-TypeDetails", "x");
	FAILS("Get-Mailbox", "Get-Mailbox has no parameter -Xyzzy, nor one with a similar name.", "-Xyzzy");
	FAILS("Get-Mailbox", "did you mean -Verbose?", "-Verbos3");
	/* Names that contain it, at most BINDER_MAX_CANDIDATES of them. */
	FAILS("Get-Mailbox", "did you mean -IncludeAcceptMessagesOnlyFromDLMembersWithDisplayNames, ",
	      "-DisplayNames");
	assert_non_null(strstr(errbuf, " or -"));
}

static void test_boolean_forms(void **state)
{
	static const char *const yes[] = { "$true", "$TRUE", "true", "True", "1", "'true'", "\"$true\"" };
	static const char *const no[] = { "$false", "$False", "false", "FALSE", "0", "'0'" };

	(void)state;
	for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++)
		OK("Set-Mailbox", "{\"Identity\":\"a\",\"HiddenFromAddressListsEnabled\":true}",
		   "a", "-HiddenFromAddressListsEnabled", (char *)yes[i]);
	for (size_t i = 0; i < sizeof(no) / sizeof(no[0]); i++)
		OK("Set-Mailbox", "{\"Identity\":\"a\",\"HiddenFromAddressListsEnabled\":false}",
		   "a", "-HiddenFromAddressListsEnabled", (char *)no[i]);
	OK("Set-Mailbox", "{\"Identity\":\"a\",\"HiddenFromAddressListsEnabled\":false}",
	   "a", "-HiddenFromAddressListsEnabled:$false");
	OK("Set-Mailbox", "{\"Identity\":\"a\",\"HiddenFromAddressListsEnabled\":true}",
	   "a", "-HiddenFromAddressListsEnabled:", "true");
	FAILS("Set-Mailbox", "Set-Mailbox -HiddenFromAddressListsEnabled takes $true or $false "
	      "(or true, false, 1, 0), not 'yes'", "a", "-HiddenFromAddressListsEnabled", "yes");
	FAILS("Set-Mailbox", "not '2'", "a", "-HiddenFromAddressListsEnabled", "2");
	FAILS("Set-Mailbox", "not '$null'", "a", "-HiddenFromAddressListsEnabled", "$null");
	FAILS("Set-Mailbox", "not 'true,false'", "a", "-HiddenFromAddressListsEnabled", "true,false");
}

/* In bash, -Enabled $false loses its value: $false is an empty shell variable. */
static void test_boolean_bash_trap(void **state)
{
	(void)state;
	FAILS("Set-Mailbox", "Set-Mailbox -HiddenFromAddressListsEnabled needs a value: $true or $false. "
	      "In bash, $false unquoted or in double quotes expands to nothing, so write '$false' in single "
	      "quotes, or false.", "a", "-HiddenFromAddressListsEnabled");
	FAILS("Set-Mailbox", "'$false' in single quotes", "a", "-HiddenFromAddressListsEnabled", "-DisplayName", "x");
	FAILS("Set-Mailbox", "its value is empty: in bash, $false", "a", "-HiddenFromAddressListsEnabled", "");
	FAILS("Set-Mailbox", "'-HiddenFromAddressListsEnabled:$false' in single quotes",
	      "a", "-HiddenFromAddressListsEnabled:");
	FAILS("Set-Mailbox", "'-HiddenFromAddressListsEnabled:$false' in single quotes",
	      "a", "-HiddenFromAddressListsEnabled:", "-DisplayName", "x");
	FAILS("Set-Mailbox", "'-Confirm:$false' in single quotes", "a", "-Confirm:");
	FAILS("Set-Mailbox", "'-Confirm:$false' in single quotes", "a", "-Confirm:", "-Force");
	json_fails("Set-Mailbox", "{\"Identity\":\"a\",\"HiddenFromAddressListsEnabled\":\"\"}",
		   "'$false' in single quotes");
}

static void test_switch_forms(void **state)
{
	(void)state;
	OK("Get-Mailbox", "{\"Archive\":true}", "-Archive");
	OK("Get-Mailbox", "{\"Archive\":false}", "-Archive:$false");
	OK("Get-Mailbox", "{\"Archive\":true}", "-Archive:$true");
	OK("Get-Mailbox", "{\"Archive\":false}", "-Archive:0");
	OK("Get-Mailbox", "{\"Archive\":false}", "-Archive:", "false");
	FAILS("Get-Mailbox", "Get-Mailbox -Archive is a switch: write -Archive, or -Archive:$false to turn it off",
	      "-Archive:maybe");
	FAILS("Get-Mailbox", "takes no separate value", "-Archive", "false");
	FAILS("Get-Mailbox", "write -Archive:$true", "-Archive", "$true");
	/* 1 after a switch is a plausible identity: PowerShell binds it by position, and so do we. */
	OK("Get-Mailbox", "{\"Archive\":true,\"Identity\":\"1\"}", "-Archive", "1");
	FAILS("Get-Mailbox", "Get-Mailbox: -Archive is given twice.", "-Archive", "-Archive:$false");
}

static void test_commas(void **state)
{
	(void)state;
	OK("Set-Mailbox", "{\"Identity\":\"a\",\"DisplayName\":\"Vance, Adele\"}", "a", "-DisplayName",
	   "Vance, Adele");
	OK("Set-Mailbox", "{\"Identity\":\"a\",\"EmailAddresses\":[\"smtp:a@contoso.com\",\"b@contoso.com\"]}",
	   "a", "-EmailAddresses", "smtp:a@contoso.com, b@contoso.com");
	/* A single value for a multi-valued parameter is a list of one. */
	OK("Set-Mailbox", "{\"Identity\":\"a\",\"EmailAddresses\":[\"a@contoso.com\"]}",
	   "a", "-EmailAddresses", "a@contoso.com");
	/* "a," "b": how a shell hands over -EmailAddresses a, b. */
	OK("Set-Mailbox", "{\"Identity\":\"x\",\"EmailAddresses\":[\"a\",\"b\",\"c\"]}",
	   "x", "-EmailAddresses", "a,", "b,", "c");
	OK("Get-Mailbox", "{\"RecipientTypeDetails\":[\"UserMailbox\",\"SharedMailbox\"]}",
	   "-RecipientTypeDetails", "UserMailbox,SharedMailbox");
	OK("Set-Mailbox", "{\"Identity\":\"x\",\"EmailAddresses\":[\"a,b\",\"c\"]}",
	   "x", "-EmailAddresses", "a\\,b,'c'");
	OK("Set-Mailbox", "{\"Identity\":\"x\",\"EmailAddresses\":null}", "x", "-EmailAddresses", "$null");
	FAILS("Set-Mailbox", "Set-Mailbox -EmailAddresses: empty element in the list 'a,,b'.",
	      "x", "-EmailAddresses", "a,,b");
	FAILS("Set-Mailbox", "empty element", "x", "-EmailAddresses", "a,");
}

static void test_text_stays_text(void **state)
{
	(void)state;
	OK("Set-Mailbox", "{\"Identity\":\"12345\"}", "-Identity", "12345");
	OK("Get-Mailbox", "{\"Identity\":\"007\"}", "007");
	OK("Set-Mailbox", "{\"Identity\":\"a\",\"DisplayName\":\"2024\"}", "a", "-DisplayName", "2024");
	OK("Set-Mailbox", "{\"Identity\":\"a\",\"DisplayName\":\"True\"}", "a", "-DisplayName", "$true");
	OK("Set-Mailbox", "{\"Identity\":\"a\",\"DisplayName\":\"$true\"}", "a", "-DisplayName", "'$true'");
	OK("Set-Mailbox", "{\"Identity\":\"a\",\"DisplayName\":null}", "a", "-DisplayName", "$null");
	OK("Set-Mailbox", "{\"Identity\":\"a\",\"DisplayName\":\"$null\"}", "a", "-DisplayName", "\\$null");
	OK("Set-Mailbox", "{\"Identity\":\"a\",\"DisplayName\":\"O'Brien\"}", "a", "-DisplayName", "O'Brien");
	OK("Set-Mailbox", "{\"Identity\":\"CONTOSO\\\\jdoe\"}", "CONTOSO\\jdoe");
	OK("Set-Mailbox", "{\"Identity\":\"a\",\"DisplayName\":\" padded \"}", "a", "-DisplayName", " padded ");
	/* Enum and other types keep exoctl's typing by form. */
	OK("Get-MoveRequest", "{\"Status\":\"Queued\",\"ResultSize\":5}", "-Status", "Queued", "-ResultSize", "5");
}

static void test_integers(void **state)
{
	(void)state;
	OK("Get-Mailbox", "{\"ResultSize\":\"Unlimited\"}", "-ResultSize", "Unlimited");
	OK("Get-Mailbox", "{\"ResultSize\":\"Unlimited\"}", "-ResultSize", "UNLIMITED");
	OK("Get-Mailbox", "{\"ResultSize\":10}", "-ResultSize", "10");
	OK("Get-Mailbox", "{\"ResultSize\":10}", "-ResultSize", "'10'");
	OK("Get-Mailbox", "{\"ResultSize\":7}", "-ResultSize", "+007");
	OK("Get-Mailbox", "{\"ResultSize\":4294967295}", "-ResultSize", "4294967295");
	FAILS("Get-Mailbox", "Get-Mailbox -ResultSize takes a whole number or Unlimited, not 'bad'.",
	      "-ResultSize", "bad");
	FAILS("Get-Mailbox", "from 0 to 4294967295; '4294967296' is out of range", "-ResultSize", "4294967296");
	FAILS("Get-Mailbox", "'-1' is out of range", "-ResultSize", "-1");
	FAILS("Get-Mailbox", "not '1.5'", "-ResultSize", "1.5");
	FAILS("Get-Mailbox", "not '1,000'", "-ResultSize", "1,000");
	FAILS("Get-Mailbox", "not ''", "-ResultSize", "");
	FAILS("Get-Mailbox", "out of range", "-ResultSize", "99999999999999999999999999999");
	OK("Search-UnifiedAuditLog", "{\"ResultSize\":-5}", "-ResultSize", "-5");
	FAILS("Search-UnifiedAuditLog", "takes a whole number, not 'Unlimited'", "-ResultSize", "Unlimited");
	FAILS("Set-OrganizationConfig", "from -32768 to 32767; '40000' is out of range",
	      "-AutoArchivingThresholdPercentage", "40000");
	OK("Set-OrganizationConfig", "{\"AutoArchivingThresholdPercentage\":-32768}",
	   "-AutoArchivingThresholdPercentage", "-32768");
	OK("Set-Mailbox", "{\"Identity\":\"a\",\"RecipientLimits\":null}", "a", "-RecipientLimits", "$null");
}

static void test_unlimited_text(void **state)
{
	(void)state;
	OK("Set-Mailbox", "{\"Identity\":\"a\",\"MaxSendSize\":\"Unlimited\"}", "a", "-MaxSendSize", "unlimited");
	OK("Set-Mailbox", "{\"Identity\":\"a\",\"MaxSendSize\":\"25 MB\"}", "a", "-MaxSendSize", "25 MB");
	OK("Set-Mailbox", "{\"Identity\":\"a\",\"MaxSendSize\":\"100\"}", "a", "-MaxSendSize", "100");
}

static void test_hashtables(void **state)
{
	(void)state;
	OK("Set-Label", "{\"Identity\":\"x\",\"AdvancedSettings\":{\"color\":\"#40e0d0\",\"n\":2}}",
	   "x", "-AdvancedSettings", "@{color='#40e0d0'; n=2}");
	FAILS("Set-Label", "Set-Label -AdvancedSettings takes a hashtable: -AdvancedSettings @{Key=Value;Key2=Value2}.",
	      "x", "-AdvancedSettings", "color");
	OK("Set-Mailbox", "{\"Identity\":\"a\",\"EmailAddresses\":{\"Add\":[\"b@x\",\"c@x\"],\"Remove\":\"d@x\"}}",
	   "a", "-EmailAddresses", "@{Add=b@x,c@x;Remove=d@x}");
	FAILS("Get-Mailbox", "Get-Mailbox -RecipientTypeDetails takes a list of values, not a hashtable",
	      "-RecipientTypeDetails", "@{Add=UserMailbox}");
	FAILS("Set-Mailbox", "Set-Mailbox -DisplayName takes text, not a hashtable; quote the value",
	      "a", "-DisplayName", "@{a=b}");
	OK("Set-Mailbox", "{\"Identity\":\"a\",\"DisplayName\":\"@{a=b}\"}", "a", "-DisplayName", "'@{a=b}'");
	FAILS("Set-Label", "has no '='", "x", "-AdvancedSettings", "@{a}");
	FAILS("Set-Label", "does not end with '}'", "x", "-AdvancedSettings", "@{a=1");
	FAILS("Set-Label", "nested hashtables", "x", "-AdvancedSettings", "@{a=@{b=1}}");
}

static void test_filters(void **state)
{
	(void)state;
	OK("Get-Mailbox", "{\"Filter\":\"HiddenFromAddressListsEnabled -eq 'True'\"}",
	   "-Filter", "HiddenFromAddressListsEnabled -eq $true");
	OK("Get-Mailbox", "{\"Filter\":\"(A -eq 'False') -and (B -ne 'True')\"}",
	   "-Filter", "(A -eq $FALSE) -and (B -ne $True)");
	/* Not inside quoted strings, and not in longer names. */
	OK("Get-Mailbox", "{\"Filter\":\"Name -like '$true*' -or Notes -eq \\\"$false\\\" -or X -eq $trueish\"}",
	   "-Filter", "Name -like '$true*' -or Notes -eq \"$false\" -or X -eq $trueish");
	OK("Set-DynamicDistributionGroup", "{\"Identity\":\"g\",\"RecipientFilter\":\"A -eq 'True'\"}",
	   "g", "-RecipientFilter", "A -eq $true");
	OK("Get-Recipient", "{\"RecipientPreviewFilter\":\"A -eq 'False'\"}", "-RecipientPreviewFilter", "A -eq $false");
	/* Other text parameters keep $true as written. */
	OK("Set-Mailbox", "{\"Identity\":\"a\",\"DisplayName\":\"x $true\"}", "a", "-DisplayName", "x $true");
	/* A cmdlet the catalogue does not know: the module's rule goes by the parameter's name. */
	OK("Foo-Bar", "{\"filter\":\"A -eq 'True'\"}", "-filter", "A -eq $true");
	json_ok("Get-Mailbox", "{\"filter\":\"A -eq $false\"}", "{\"Filter\":\"A -eq 'False'\"}");
}

static void test_common_parameters(void **state)
{
	(void)state;
	OK("Get-Mailbox", "{\"Identity\":\"a\"}", "a", "-ErrorAction", "stop", "-WarningAction", "Ignore",
	   "-InformationAction", "Inquire", "-Verbose", "-Debug", "-OutBuffer", "10", "-ErrorVariable",
	   "+errs", "-WarningVariable", "w", "-InformationVariable", "i", "-OutVariable", "global:o",
	   "-PipelineVariable", "p");
	assert_int_equal(res.common.given, (1u << BINDER_COMMON_COUNT) - 1);
	assert_string_equal(binder_common_get(&res.common, BINDER_ERROR_ACTION), "Stop");
	assert_string_equal(binder_common_get(&res.common, BINDER_WARNING_ACTION), "Ignore");
	assert_string_equal(binder_common_get(&res.common, BINDER_INFORMATION_ACTION), "Inquire");
	assert_string_equal(binder_common_get(&res.common, BINDER_VERBOSE), "true");
	assert_string_equal(binder_common_get(&res.common, BINDER_OUT_BUFFER), "10");
	assert_string_equal(binder_common_get(&res.common, BINDER_ERROR_VARIABLE), "+errs");
	assert_string_equal(binder_common_get(&res.common, BINDER_OUT_VARIABLE), "global:o");
	assert_string_equal(binder_common_name(BINDER_PIPELINE_VARIABLE), "PipelineVariable");
	assert_null(binder_common_name(BINDER_COMMON_COUNT));
	expect_ok(bind_argv("Get-Mailbox", 0, ARGV(NULL)), "{}");
	assert_null(binder_common_get(&res.common, BINDER_ERROR_ACTION));
	assert_null(binder_common_get(NULL, BINDER_ERROR_ACTION));
	/* -WhatIf and -Confirm are the cmdlet's own, where the catalogue lists them. */
	OK("Set-Mailbox", "{\"Identity\":\"a\",\"WhatIf\":true,\"Confirm\":false}", "a", "-WhatIf", "-Confirm:$false");
	FAILS("Get-Mailbox", "has no parameter -WhatIf", "-WhatIf");
	FAILS("Get-Mailbox", "Get-Mailbox -ErrorAction takes Continue, Stop, SilentlyContinue, Ignore or Inquire, "
	      "not 'Maybe'.", "-ErrorAction", "Maybe");
	FAILS("Get-Mailbox", "Suspend is for PowerShell workflows only", "-ea", "Suspend");
	FAILS("Get-Mailbox", "Get-Mailbox -ErrorAction needs a value: Continue, Stop", "-ErrorAction");
	FAILS("Get-Mailbox", "-ErrorAction is given twice", "-ErrorAction", "Stop", "-ea", "Stop");
	FAILS("Get-Mailbox", "takes a whole number from 0 to 2147483647, not '-1'", "-OutBuffer", "-1");
	FAILS("Get-Mailbox", "not '2147483648'", "-OutBuffer", "2147483648");
	FAILS("Get-Mailbox", "takes a variable name", "-ErrorVariable", "a b");
	FAILS("Get-Mailbox", "takes a variable name", "-ErrorVariable", "+");
	FAILS("Get-Mailbox", "-Verbose is a switch", "-Verbose:maybe");
}

static void test_secure_string_refused(void **state)
{
	size_t refused = 0;

	(void)state;
	FAILS("New-Mailbox", "New-Mailbox -Password is a SecureString: the Exchange Online module encrypts it "
	      "with a Microsoft public key that is not published, so it cannot be sent from here. Instead, "
	      "create the user", "-Name", "x", "-Password", "secret");
	assert_null(strstr(errbuf, "secret"));
	FAILS("New-Mailbox", "Microsoft 365 admin center", "-Name", "x", "-Pass", "y");
	FAILS("Export-QuarantineMessage", "export without -Password", "-Password", "x");
	json_fails("Set-MailUser", "{\"Identity\":\"a\",\"password\":\"x\"}", "Set-MailUser -Password is a SecureString");
	/* Every SecureString parameter of the catalogue, with a value or without. */
	for (size_t i = 0; i < catalogue_count(); i++) {
		const struct catalogue_cmdlet *c = catalogue_at(i);

		for (size_t p = 0; p < catalogue_param_count(c); p++) {
			const struct catalogue_param *q = catalogue_param_at(c, p);
			char name[BINDER_MAX_NAME + 2];

			if (catalogue_param_kind(q) != CATALOGUE_SECURE)
				continue;
			snprintf(name, sizeof(name), "-%s", catalogue_param_name(q));
			check_fails(catalogue_cmdlet_name(c), "is a SecureString", 2, ARGV(name, "x"));
			check_fails(catalogue_cmdlet_name(c), "Instead, ", 1, ARGV(name));
			refused++;
		}
	}
	assert_int_equal(refused, 11);
}

static void test_unknown_cmdlet(void **state)
{
	(void)state;
	OK("Foo-Bar", "{\"Any\":1,\"Thing\":[\"a\",\"b\"],\"Switch\":true,\"Name\":\"x\"}",
	   "-Any", "1", "-Thing", "a,b", "-Switch", "-Name:x", "-ErrorAction", "Stop");
	assert_null(res.cmdlet);
	assert_int_equal(res.set, -1);
	assert_string_equal(binder_common_get(&res.common, BINDER_ERROR_ACTION), "Stop");
	/* No names are checked: prefixes stay as written (the service is the judge). */
	OK("Foo-Bar", "{\"Ident\":\"x\",\"Verb\":true}", "-Ident", "x", "-Verb");
	FAILS("Foo-Bar", "Foo-Bar is not in the cmdlet catalogue, so the value 'alice' cannot be bound by position",
	      "alice");
	FAILS("Foo-Bar", "-Any is given twice", "-Any", "1", "-any", "2");
	json_ok("Foo-Bar", "{\"a\":{\"b\":[1,true,null]},\"Verbose\":true}", "{\"a\":{\"b\":[1,true,null]}}");
	assert_string_equal(binder_common_get(&res.common, BINDER_VERBOSE), "true");
	/* A name that is no cmdlet name is not quoted back. */
	expect_fail(bind_json("\x1b[2J", "{\"x\":1,\"y\":1,\"X\":2}"), "The cmdlet: -x is given twice.");
}

static void test_sets(void **state)
{
	(void)state;
	FAILS("Get-Mailbox", "Get-Mailbox: -Anr and -Identity cannot be used together (no parameter set has both).",
	      "-Anr", "x", "-Identity", "y");
	/* Only the sets of the named parameters are left for positions: AnrSet has none. */
	FAILS("Get-Mailbox", "Get-Mailbox: no parameter takes the value 'y' by position", "-Anr", "x", "y");
	OK("Set-Mailbox", "{\"Identity\":\"a\"}", "a");
	assert_string_equal(set_name(), "Identity");            /* the default set */
	OK("New-Mailbox", "{\"Name\":\"Room 1\",\"Room\":true}", "Room 1", "-Room");
	assert_string_equal(set_name(), "Room");
	assert_string_equal(res.missing, "");
	/* Several sets and no default: the service decides. */
	OK("Get-Mailbox", "{\"ResultSize\":1}", "-ResultSize", "1");
	assert_int_equal(res.set, -1);
	OK("Add-LdapDirectory", "{\"Id\":\"d\"}", "d");
	assert_string_equal(res.missing, "-Host, -Port, -Organization");
}

static void test_duplicates_and_merge(void **state)
{
	(void)state;
	FAILS("Get-Mailbox", "Get-Mailbox: -Identity is given twice.", "-Identity", "a", "-Identity", "b");
	FAILS("Get-Mailbox", "-Identity is given twice", "-Ident", "a", "-identity:b");
	OK("Get-Mailbox", "{\"Identity\":\"b\",\"ResultSize\":5}",
	   "-Identity", "a", "--params", "{\"identity\":\"b\",\"ResultSize\":\"5\"}");
	OK("Set-Mailbox", "{\"Identity\":\"a\",\"HiddenFromAddressListsEnabled\":false}",
	   "a", "--params={\"hiddenfromaddresslistsenabled\":\"false\"}");
	FAILS("Get-Mailbox", "--params is not valid JSON", "--params", "{\"A\":");
	FAILS("Get-Mailbox", "--params must be a JSON object", "--params", "[]");
	FAILS("Get-Mailbox", "--params needs a JSON object", "--params");
	FAILS("Get-Mailbox", "--params: invalid parameter name 'bad-key'", "--params", "{\"bad-key\":1}");
	FAILS("Get-Mailbox", "has no parameter -Bogus", "--params", "{\"Bogus\":1}");
}

static void test_json_entry(void **state)
{
	(void)state;
	json_ok("Set-Mailbox", "{\"identity\":12345,\"HIDDENFROMADDRESSLISTSENABLED\":\"true\",\"emailaddresses\":\"a@b\","
		"\"ea\":\"stop\",\"Confirm\":false,\"DisplayName\":true,\"MaxSendSize\":\"unlimited\","
		"\"RecipientLimits\":\"10\"}",
		"{\"Identity\":\"12345\",\"HiddenFromAddressListsEnabled\":true,\"EmailAddresses\":[\"a@b\"],"
		"\"Confirm\":false,\"DisplayName\":\"True\",\"MaxSendSize\":\"Unlimited\",\"RecipientLimits\":10}");
	assert_string_equal(binder_common_get(&res.common, BINDER_ERROR_ACTION), "Stop");
	json_ok("Get-Mailbox", NULL, "{}");
	json_ok("Get-Mailbox", "null", "{}");
	json_ok("Get-Mailbox", "{}", "{}");
	json_ok("Get-Mailbox", "{\"Archive\":1,\"ResultSize\":10,\"Identity\":\"x\"}",
		"{\"Archive\":true,\"ResultSize\":10,\"Identity\":\"x\"}");
	json_ok("Set-Mailbox", "{\"Identity\":\"a\",\"EmailAddresses\":{\"Add\":[\"x@y\"]}}",
		"{\"Identity\":\"a\",\"EmailAddresses\":{\"Add\":[\"x@y\"]}}");
	json_ok("Set-Mailbox", "{\"Identity\":\"a\",\"EmailAddresses\":[\"x@y\",\"z@y\"],\"DisplayName\":null}",
		"{\"Identity\":\"a\",\"EmailAddresses\":[\"x@y\",\"z@y\"],\"DisplayName\":null}");
	json_ok("Set-Label", "{\"Identity\":\"l\",\"AdvancedSettings\":{\"a\":[1,{\"b\":null}]}}",
		"{\"Identity\":\"l\",\"AdvancedSettings\":{\"a\":[1,{\"b\":null}]}}");
	json_ok("Get-Mailbox", "{\"ResultSize\":\"10\",\"Verbose\":false}", "{\"ResultSize\":10}");
	assert_string_equal(binder_common_get(&res.common, BINDER_VERBOSE), "false");
	json_fails("Get-Mailbox", "{\"ResultSize\":1.5}", "not '1.5'");
	json_fails("Get-Mailbox", "{\"ResultSize\":true}", "Get-Mailbox -ResultSize takes a whole number or "
		   "Unlimited, not a Boolean.");
	json_fails("Get-Mailbox", "{\"Identity\":[\"a\"]}", "Get-Mailbox -Identity takes one value, not a list.");
	json_fails("Get-Mailbox", "{\"Identity\":{\"a\":1}}", "Get-Mailbox -Identity takes an identity, not a hashtable");
	json_fails("Set-Mailbox", "{\"Identity\":\"a\",\"HiddenFromAddressListsEnabled\":null}",
		   "takes true or false, not null.");
	json_fails("Set-Mailbox", "{\"Identity\":\"a\",\"HiddenFromAddressListsEnabled\":2}",
		   "takes true or false, not a number.");
	json_fails("Get-Mailbox", "{\"Archive\":\"maybe\"}", "-Archive is a switch");
	json_fails("Set-Mailbox", "{\"identity\":\"a\",\"Identity\":\"b\"}", "Set-Mailbox: -Identity is given twice.");
	json_fails("Set-Mailbox", "{\"Ident\":\"a\",\"Identity\":\"b\"}", "-Identity is given twice");
	json_fails("Get-Mailbox", "[1]", "Get-Mailbox: the parameters must be a JSON object.");
	json_fails("Get-Mailbox", "{\"Idenity\":\"a\"}", "did you mean -Identity?");
	json_fails("Get-Mailbox", "{\"Include\":\"a\"}", "is ambiguous");
	json_fails("Get-Mailbox", "{\"Verbose\":\"yes\"}", "-Verbose is a switch");
	json_fails("Get-Mailbox", "{\"ErrorAction\":[\"Stop\"]}", "-ErrorAction takes Continue, Stop, "
		   "SilentlyContinue, Ignore or Inquire, not a list or an object.");
	json_fails("Get-Mailbox", "{\"ErrorAction\":null}", "Inquire, not null.");
	json_fails("Get-Mailbox", "{\"OutVariable\":true}", "-OutVariable takes a variable name, not a Boolean.");
	json_fails("Get-Mailbox", "{\"Debug\":[true]}", "-Debug takes $true or $false, not a list or an object.");
	json_fails("Get-Mailbox", "{\"OutBuffer\":1.5}", "not '1.5'");
	json_fails("Get-Recipient", "{\"Properties\":[[\"x\"]]}", "Get-Recipient -Properties takes a list of "
		   "values, not a list of lists.");
	json_ok("Get-Recipient", "{\"Properties\":\"DisplayName\"}", "{\"Properties\":[\"DisplayName\"]}");
	json_ok("Get-Recipient", "{\"Properties\":[\"A\",7]}", "{\"Properties\":[\"A\",\"7\"]}");
	json_fails("Get-Mailbox", "{\"RecipientTypeDetails\":{\"Add\":\"x\"}}", "takes a list of values, not a hashtable");
	json_fails("Set-Label", "{\"Identity\":\"l\",\"AdvancedSettings\":\"x\"}", "takes a hashtable, not a string");
	json_fails("Get-Mailbox", "{\"bad key\":1}", "params: invalid parameter name 'bad key'");
}

static char *deep_json(int depth)
{
	char *s = malloc((size_t)depth * 2 + 64);
	size_t o;

	assert_non_null(s);
	o = (size_t)sprintf(s, "{\"Value\":");
	for (int i = 0; i < depth; i++)
		s[o++] = '[';
	for (int i = 0; i < depth; i++)
		s[o++] = ']';
	s[o++] = '}';
	s[o] = '\0';
	return s;
}

static void test_malformed(void **state)
{
	char *big, *deep;
	static char *many[BINDER_MAX_ARGS + 1];

	(void)state;
	FAILS("Get-Mailbox", "invalid parameter name '-Result_Size'", "-Result_Size", "1");
	FAILS("Get-Mailbox", "unknown option '--verbose'", "--verbose");
	FAILS("Get-Mailbox", "cannot encode the parameters (text is not valid UTF-8)", "-Identity", "\xff\xfe");
	FAILS("Get-Mailbox", "not valid UTF-8", "-Identity", "\xc0\xa1");      /* overlong: yajl lets it by */
	FAILS("Get-Mailbox", "--params is not valid JSON: invalid UTF-8", "--params", "{\"Identity\":\"\xff\"}");
	big = malloc(BINDER_MAX_VALUE + 2);
	assert_non_null(big);
	memset(big, 'a', BINDER_MAX_VALUE + 1);
	big[BINDER_MAX_VALUE + 1] = '\0';
	FAILS("Get-Mailbox", "argument 2 is longer than 65536 bytes", "-Identity", big);
	big[BINDER_MAX_VALUE - 1] = ',';
	big[BINDER_MAX_VALUE] = '\0';
	FAILS("Set-Mailbox", "value of -EmailAddresses is longer than 65536 bytes", "x", "-EmailAddresses", big, "b");
	free(big);
	for (int i = 0; i < BINDER_MAX_ARGS + 1; i++)
		many[i] = "x";
	check_fails("Get-Mailbox", "more than 4096 arguments", BINDER_MAX_ARGS + 1, many);
	check_fails("Get-Mailbox", "Get-Mailbox: no parameter takes the value 'x'", BINDER_MAX_PARAMS, many);
	check_fails("Get-Mailbox", "Get-Mailbox: more than 256 parameters.", BINDER_MAX_PARAMS + 1, many);
	deep = deep_json(BINDER_MAX_DEPTH + 1);
	json_fails("Foo-Bar", deep, "nested deeper than 32 levels");
	free(deep);
	deep = deep_json(BINDER_MAX_DEPTH);
	free(bind_json("Foo-Bar", deep));
	free(deep);
}

/* binder_json_for on a profile's services (a mask of enum catalogue_service). */
static char *bind_for(unsigned services, const char *cmdlet, const char *json)
{
	yajl_gen g = new_gen();
	yajl_val v = jtree_parse(json, strlen(json), errbuf, sizeof(errbuf));
	int rc;

	assert_non_null(v);
	errbuf[0] = '\0';
	rc = binder_json_for(g, services, cmdlet, strlen(cmdlet), v, &res, errbuf, sizeof(errbuf));
	jtree_free(v);
	return take(g, rc);
}

/* binder_json_tagged_for: the Parameters object as exod sends it. */
static char *bind_tagged(const char *cmdlet, const char *json)
{
	yajl_gen g = new_gen();
	yajl_val v = jtree_parse(json, strlen(json), errbuf, sizeof(errbuf));
	int rc;

	assert_non_null(v);
	errbuf[0] = '\0';
	rc = binder_json_tagged_for(g, 0, cmdlet, strlen(cmdlet), v, &res, errbuf, sizeof(errbuf));
	jtree_free(v);
	return take(g, rc);
}

#define HT "\"@odata.type\":\"#Exchange.GenericHashTable\""

/* Objects within values are hashtables at every level, in lists too; a given @odata.type is kept. */
static void test_tagged_hashtables(void **state)
{
	(void)state;
	expect_ok(bind_tagged("Set-NotInTheCatalogue",
			      "{\"AdvancedSettings\":{\"Color\":\"Red\",\"Inner\":{\"k\":[1,{\"z\":2}]}},"
			      "\"EmailAddresses\":{\"@odata.type\":\"#Exchange.StringFieldDeltaUpdateData\","
			      "\"Add\":[\"smtp:x@contoso.com\"],\"Remove\":[]},"
			      "\"List\":[{\"a\":1},\"s\"],\"Empty\":{}}"),
		  "{\"AdvancedSettings\":{" HT ",\"Color\":\"Red\",\"Inner\":{" HT ",\"k\":[1,"
		  "{" HT ",\"z\":2}]}},"
		  "\"EmailAddresses\":{\"@odata.type\":\"#Exchange.StringFieldDeltaUpdateData\","
		  "\"Add\":[\"smtp:x@contoso.com\"],\"Remove\":[]},"
		  "\"List\":[{" HT ",\"a\":1},\"s\"],\"Empty\":{" HT "}}");
	/* A catalogue hashtable parameter, the same. */
	expect_ok(bind_tagged("Set-Label", "{\"Identity\":\"x\",\"AdvancedSettings\":{\"color\":\"red\"}}"),
		  "{\"Identity\":\"x\",\"AdvancedSettings\":{" HT ",\"color\":\"red\"}}");
	/* Untagged, the same object goes as given (exoctl's --params, the tests). */
	expect_ok(bind_json("Set-NotInTheCatalogue", "{\"A\":{\"b\":1}}"), "{\"A\":{\"b\":1}}");
}

/* -ResultSize as the client gave it, under any spelling the binder takes: a pointer into params. */
static void test_result_size_value(void **state)
{
	static const char given[] = "{\"resultsize\":\"7\",\"Identity\":\"a\"}", none[] = "{\"Identity\":\"a\"}";
	yajl_gen g = new_gen();
	yajl_val v = jtree_parse(given, strlen(given), errbuf, sizeof(errbuf));

	(void)state;
	assert_non_null(v);
	assert_int_equal(binder_json_tagged_for(g, 0, "Get-Mailbox", 11, v, &res, errbuf, sizeof(errbuf)), 0);
	assert_ptr_equal(res.result_size, v->u.object.values[0]);
	yajl_gen_free(g);
	jtree_free(v);
	g = new_gen();
	v = jtree_parse(none, strlen(none), errbuf, sizeof(errbuf));
	assert_non_null(v);
	assert_int_equal(binder_json_tagged_for(g, 0, "Get-Mailbox", 11, v, &res, errbuf, sizeof(errbuf)), 0);
	assert_null(res.result_size);
	yajl_gen_free(g);
	jtree_free(v);
}

/* A profile binds on its service's cmdlets and parameters; unknown cmdlets pass as before. */
static void test_service_filter(void **state)
{
	(void)state;
	expect_fail(bind_for(CATALOGUE_SCC, "Get-Mailbox", "{}"),
		    "Get-Mailbox is a cmdlet of Exchange Online, not of Security & Compliance");
	expect_fail(bind_for(CATALOGUE_EXO | CATALOGUE_EOP, "get-compliancesearch", "{}"),
		    "Get-ComplianceSearch is a cmdlet of Security & Compliance, not of Exchange "
		    "Online, Exchange Online Protection");
	expect_ok(bind_for(CATALOGUE_SCC, "Get-ComplianceSearch", "{\"Identity\":\"s1\"}"),
		  "{\"Identity\":\"s1\"}");
	expect_ok(bind_for(CATALOGUE_SCC, "Get-User", "{\"ResultSize\":5}"), "{\"ResultSize\":5}");
	expect_fail(bind_for(CATALOGUE_SCC, "Get-User", "{\"Anr\":\"x\"}"),
		    "Get-User -Anr applies to Exchange Online, Exchange Online Protection only, not to "
		    "Security & Compliance");
	expect_ok(bind_for(CATALOGUE_EXO | CATALOGUE_EOP, "Get-User", "{\"Anr\":\"x\"}"),
		  "{\"Anr\":\"x\"}");
	expect_ok(bind_for(CATALOGUE_SCC, "Get-NotInTheCatalogue", "{\"A\":1}"), "{\"A\":1}");
	expect_ok(bind_for(0, "Get-Mailbox", "{}"), "{}");
}

/* yajl's own parser lets overlong forms through; a tree from it must still be refused. */
static void test_json_invalid_utf8(void **state)
{
	yajl_val v = yajl_tree_parse("{\"DisplayName\":\"\xc0\xa1\",\"Identity\":\"a\"}", NULL, 0);
	yajl_gen g = new_gen();

	(void)state;
	assert_non_null(v);
	assert_int_equal(binder_json(g, "Set-Mailbox", 11, v, &res, errbuf, sizeof(errbuf)), -1);
	assert_non_null(strstr(errbuf, "not valid UTF-8"));
	yajl_gen_free(g);
	yajl_tree_free(v);
}

/* Every error of the catalogue mode is a sentence that names the cmdlet. */
static void test_errors_are_sentences(void **state)
{
	static const char *const cases[][4] = {
		{ "Get-Mailbox", "-Idenity", "x", NULL }, { "Get-Mailbox", "-Include", "x", NULL },
		{ "Get-Mailbox", "a", "b", NULL }, { "Get-Mailbox", "-ResultSize", "x", NULL },
		{ "Set-Mailbox", "a", "-HiddenFromAddressListsEnabled", NULL },
		{ "Set-Mailbox", "a", "-HiddenFromAddressListsEnabled", "x" },
		{ "Set-Mailbox", "a", "-Confirm:", NULL }, { "Get-Mailbox", "-Archive", "false", NULL },
		{ "Get-Mailbox", "-Anr", "a", "b" }, { "New-Mailbox", "-Password", "x", NULL },
		{ "Get-Mailbox", "-ErrorAction", "x", NULL }, { "Get-Mailbox", "-Identity", "a", NULL },
		{ "Set-Mailbox", "a", "-DisplayName", "@{a=1}" }, { "Set-Mailbox", "a", "-Identity:", NULL },
		{ "Foo-Bar", "a", NULL, NULL }, { "Set-Label", "l", "-AdvancedSettings", "x" },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int argc = 0;
		char *out;
		size_t n;

		while (argc < 3 && cases[i][argc + 1] != NULL)
			argc++;
		if (i == 11)            /* -Identity a -Identity a */
			out = bind_argv(cases[i][0], 4, ARGV("-Identity", "a", "-Identity", "a"));
		else
			out = bind_argv(cases[i][0], argc, (char **)&cases[i][1]);
		assert_null(out);
		n = strlen(errbuf);
		if (strncmp(errbuf, cases[i][0], strlen(cases[i][0])) != 0 ||
		    (errbuf[n - 1] != '.' && errbuf[n - 1] != '?'))
			fail_msg("not a sentence naming %s: %s", cases[i][0], errbuf);
	}
}

/* The grammar alone (params_gen): no catalogue, no common parameters, filters untouched. */
static void test_plain(void **state)
{
	yajl_gen g = new_gen();
	char *out;

	(void)state;
	errbuf[0] = '\0';
	out = take(g, binder_argv_plain(g, 6, ARGV("-ErrorAction", "Stop", "-Filter", "A -eq $true", "-Ident", "12"),
					errbuf, sizeof(errbuf)));
	expect_ok(out, "{\"ErrorAction\":\"Stop\",\"Filter\":\"A -eq $true\",\"Ident\":12}");
	g = new_gen();
	out = take(g, binder_argv_plain(g, 1, ARGV("alice"), errbuf, sizeof(errbuf)));
	expect_fail(out, "'alice' is a value with no -Name before it");
}

static void test_small_buffers(void **state)
{
	char err[16];
	yajl_gen g = new_gen();

	(void)state;
	assert_int_equal(binder_argv(g, "Get-Mailbox", 11, 2, ARGV("-Idenity", "x"), NULL, err, sizeof(err)), -1);
	assert_int_equal(strlen(err), sizeof(err) - 1);
	yajl_gen_free(g);
	g = new_gen();
	assert_int_equal(binder_argv(g, "Get-Mailbox", 11, 1, ARGV("alice"), NULL, NULL, 0), 0);
	yajl_gen_free(g);
}

/* Each documented parameter binds by its own name, with a value of its kind. */
static void test_every_parameter_binds(void **state)
{
	(void)state;
	for (size_t i = 0; i < catalogue_count(); i++) {
		const struct catalogue_cmdlet *c = catalogue_at(i);
		const char *cmdlet = catalogue_cmdlet_name(c);

		for (size_t p = 0; p < catalogue_param_count(c); p++) {
			const struct catalogue_param *q = catalogue_param_at(c, p);
			enum catalogue_kind k = catalogue_param_kind(q);
			char json[BINDER_MAX_NAME + 32];
			char *out;

			if (k == CATALOGUE_SECURE)
				continue;
			snprintf(json, sizeof(json), "{\"%s\":%s}", catalogue_param_name(q),
				 k == CATALOGUE_SWITCH || k == CATALOGUE_BOOLEAN ? "true" : "null");
			out = bind_json(cmdlet, json);
			if (out == NULL)
				fail_msg("%s -%s: %s", cmdlet, catalogue_param_name(q), errbuf);
			free(out);
		}
		expect_ok(bind_argv(cmdlet, 0, ARGV(NULL)), "{}");
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_positional_identity),
		cmocka_unit_test(test_positional_several),
		cmocka_unit_test(test_too_many_positional),
		cmocka_unit_test(test_prefixes),
		cmocka_unit_test(test_ambiguous),
		cmocka_unit_test(test_aliases),
		cmocka_unit_test(test_unknown_names),
		cmocka_unit_test(test_boolean_forms),
		cmocka_unit_test(test_boolean_bash_trap),
		cmocka_unit_test(test_switch_forms),
		cmocka_unit_test(test_commas),
		cmocka_unit_test(test_text_stays_text),
		cmocka_unit_test(test_integers),
		cmocka_unit_test(test_unlimited_text),
		cmocka_unit_test(test_hashtables),
		cmocka_unit_test(test_filters),
		cmocka_unit_test(test_common_parameters),
		cmocka_unit_test(test_secure_string_refused),
		cmocka_unit_test(test_unknown_cmdlet),
		cmocka_unit_test(test_sets),
		cmocka_unit_test(test_duplicates_and_merge),
		cmocka_unit_test(test_json_entry),
		cmocka_unit_test(test_malformed),
		cmocka_unit_test(test_json_invalid_utf8),
		cmocka_unit_test(test_service_filter),
		cmocka_unit_test(test_tagged_hashtables),
		cmocka_unit_test(test_result_size_value),
		cmocka_unit_test(test_errors_are_sentences),
		cmocka_unit_test(test_plain),
		cmocka_unit_test(test_small_buffers),
		cmocka_unit_test(test_every_parameter_binds),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
