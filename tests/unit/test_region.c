/* Unit tests for daemon/region.c's pure parts: which redirect names which regional host. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "common/conf.h"
#include "daemon/cloud.h"
#include "daemon/region.h"

static char origin[REGION_MAX_ORIGIN];
static char why[256];

static const struct cloud_compliance *cc_of(enum conf_environment env)
{
	return cloud_get(env)->compliance;
}

static void expect_host(const char *frontdoor, enum conf_environment env, const char *location,
			const char *want)
{
	why[0] = '\0';
	if (region_resolve(frontdoor, cc_of(env), location, origin, sizeof(origin), why,
			   sizeof(why)) != 0)
		fail_msg("%s refused: %s", location, why);
	assert_string_equal(origin, want);
}

static void expect_refused(const char *frontdoor, enum conf_environment env, const char *location,
			   const char *needle)
{
	why[0] = '\0';
	assert_int_equal(region_resolve(frontdoor, cc_of(env), location, origin, sizeof(origin), why,
					sizeof(why)), -1);
	if (strstr(why, needle) == NULL)
		fail_msg("\"%s\" lacks \"%s\"", why, needle);
}

/* §1.2: the region label of <region>.admin.protection.<domain>:446 goes to port 443 of the API host. */
static void test_each_environment(void **state)
{
	(void)state;
	expect_host("https://ps.compliance.protection.outlook.com", CONF_ENV_O365_DEFAULT,
		    "https://nam12b.admin.protection.outlook.com:446/AdminApi/v1.0/t/EXOModuleFile",
		    "https://nam12b.ps.compliance.protection.outlook.com");
	expect_host("https://ps.compliance.protection.office365.us", CONF_ENV_O365_USGOV_GCCHIGH,
		    "https://usg01.admin.protection.office365.us:446/x",
		    "https://usg01.ps.compliance.protection.office365.us");
	expect_host("https://l5.ps.compliance.protection.office365.us", CONF_ENV_O365_USGOV_DOD,
		    "https://dod02.ps.compliance.protection.office365.us/x",
		    "https://dod02.ps.compliance.protection.office365.us");
	expect_host("https://ps.compliance.protection.partner.outlook.cn", CONF_ENV_O365_CHINA,
		    "https://chn01.admin.protection.partner.outlook.cn:446/x",
		    "https://chn01.ps.compliance.protection.partner.outlook.cn");
	/* A configured front door elsewhere still sends the token only into the environment. */
	expect_host("https://compliance.dod.microsoft.com", CONF_ENV_O365_USGOV_DOD,
		    "https://dod02.admin.protection.office365.us:446/x",
		    "https://dod02.ps.compliance.protection.office365.us");
	/* Another environment's hosts are not this one's. */
	expect_refused("https://ps.compliance.protection.office365.us", CONF_ENV_O365_USGOV_GCCHIGH,
		       "https://nam12b.admin.protection.outlook.com:446/x", "not a Security & Compliance host");
	expect_refused("https://ps.compliance.protection.outlook.com", CONF_ENV_O365_DEFAULT,
		       "https://nam-.admin.protection.outlook.com/x", "not a Security & Compliance host");
	expect_refused("https://ps.compliance.protection.outlook.com", CONF_ENV_O365_DEFAULT,
		       "https://-nam.admin.protection.outlook.com/x", "not a Security & Compliance host");
	expect_refused("https://ps.compliance.protection.outlook.com", CONF_ENV_O365_DEFAULT,
		       "https://n_m.admin.protection.outlook.com/x", "not");
	expect_refused("https://ps.compliance.protection.outlook.com", CONF_ENV_O365_DEFAULT,
		       "https://aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa."
		       "admin.protection.outlook.com/x", "not a Security & Compliance host");
	expect_refused("https://outlook.office.de", CONF_ENV_O365_GERMANY,
		       "https://x.admin.protection.outlook.de/x", "not a Security & Compliance host");
}

/* A front door on loopback is a test server: its own host, its scheme, any port. */
static void test_loopback(void **state)
{
	(void)state;
	expect_host("https://127.0.0.1:40001", CONF_ENV_O365_DEFAULT,
		    "https://127.0.0.1:40002/AdminApi/v1.0/t/EXOModuleFile", "https://127.0.0.1:40002");
	expect_host("http://localhost:8080", CONF_ENV_O365_DEFAULT, "http://LOCALHOST:9/x",
		    "http://localhost:9");
	expect_host("https://[::1]:1", CONF_ENV_O365_DEFAULT, "https://[::1]:2/x", "https://[::1]:2");
	expect_refused("https://127.0.0.1:40001", CONF_ENV_O365_DEFAULT,
		       "https://127.0.0.2:40002/x", "may only redirect to https://127.0.0.1");
	expect_refused("https://127.0.0.1:40001", CONF_ENV_O365_DEFAULT,
		       "http://127.0.0.1:40002/x", "may only redirect to https://127.0.0.1");
	expect_refused("https://127.0.0.1:40001", CONF_ENV_O365_DEFAULT,
		       "https://nam12b.admin.protection.outlook.com/x", "may only redirect");
}

/* Where discovery may send the token: the environment's domain, DoD's other door, loopback. */
static void test_frontdoor_allowed(void **state)
{
	static const struct {
		const char *url;
		enum conf_environment env;
		int ok;
	} cases[] = {
		{ "https://ps.compliance.protection.outlook.com", CONF_ENV_O365_DEFAULT, 1 },
		{ "https://PS.Compliance.Protection.Outlook.com:443", CONF_ENV_O365_DEFAULT, 1 },
		{ "https://nam12b.ps.compliance.protection.outlook.com", CONF_ENV_O365_DEFAULT, 1 },
		{ "https://l5.ps.compliance.protection.office365.us", CONF_ENV_O365_USGOV_DOD, 1 },
		{ "https://compliance.dod.microsoft.com", CONF_ENV_O365_USGOV_DOD, 1 },
		{ "https://127.0.0.1:4443", CONF_ENV_O365_DEFAULT, 1 },
		{ "http://localhost:8080", CONF_ENV_O365_DEFAULT, 1 },
		{ "http://ps.compliance.protection.outlook.com", CONF_ENV_O365_DEFAULT, 0 },
		{ "https://outlook.office365.com", CONF_ENV_O365_DEFAULT, 0 },
		{ "https://xps.compliance.protection.outlook.com", CONF_ENV_O365_DEFAULT, 0 },
		{ "https://compliance.dod.microsoft.com", CONF_ENV_O365_USGOV_GCCHIGH, 0 },
		{ "https://ps.compliance.protection.outlook.com", CONF_ENV_O365_USGOV_GCCHIGH, 0 },
		{ "https://outlook.office.de", CONF_ENV_O365_GERMANY, 0 },
		{ "https://u@ps.compliance.protection.outlook.com", CONF_ENV_O365_DEFAULT, 0 },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		why[0] = '\0';
		if (region_frontdoor_allowed(cases[i].url, cc_of(cases[i].env), why, sizeof(why)) !=
		    cases[i].ok)
			fail_msg("%s: expected %d (%s)", cases[i].url, cases[i].ok, why);
		if (!cases[i].ok)
			assert_true(strstr(why, "not a URL") != NULL || strstr(why, "must be https on") != NULL);
	}
}

/* What says a tenant moved: a redirect, or Outlook REST's wrong-hint error; nothing else. */
static void test_says_moved(void **state)
{
	(void)state;
	assert_true(region_says_moved(301, NULL));
	assert_true(region_says_moved(302, NULL));
	assert_true(region_says_moved(308, "x"));
	assert_true(region_says_moved(400, "ErrorIncorrectRoutingHint"));
	assert_true(region_says_moved(400, "errorincorrectroutinghint"));
	assert_false(region_says_moved(400, "BadRequest"));
	assert_false(region_says_moved(400, NULL));
	assert_false(region_says_moved(404, "ErrorIncorrectRoutingHint"));
	assert_false(region_says_moved(200, NULL));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_each_environment),
		cmocka_unit_test(test_loopback),
		cmocka_unit_test(test_frontdoor_allowed),
		cmocka_unit_test(test_says_moved),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
