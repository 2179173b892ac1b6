/* Unit tests of exoctl's option parsing (client/args.c): options anywhere, the user's config. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "client/args.h"

#define ARGV(...) ((char *[]){ "exoctl", __VA_ARGS__, NULL })
#define NARGS(...) ((int)(sizeof((char *[]){ "exoctl", __VA_ARGS__ }) / sizeof(char *)))
#define PARSE(a, ...) args_parse(a, NARGS(__VA_ARGS__), ARGV(__VA_ARGS__), err, sizeof(err))

static char err[512];
static char home[64];

/* Every test starts with no config file and no environment of ours. */
static int setup(void **state)
{
	(void)state;
	snprintf(home, sizeof(home), "/tmp/exoctl-args-XXXXXX");
	assert_non_null(mkdtemp(home));
	setenv("XDG_CONFIG_HOME", home, 1);
	unsetenv("EXOD_SOCKET");
	unsetenv("EXOD_PROFILE");
	err[0] = '\0';
	return 0;
}

static int teardown(void **state)
{
	char path[128];

	(void)state;
	snprintf(path, sizeof(path), "%s/exoctl/config", home);
	unlink(path);
	snprintf(path, sizeof(path), "%s/exoctl", home);
	rmdir(path);
	rmdir(home);
	return 0;
}

static void write_config(const char *text)
{
	char path[128];
	FILE *fp;

	snprintf(path, sizeof(path), "%s/exoctl", home);
	mkdir(path, 0700);
	snprintf(path, sizeof(path), "%s/exoctl/config", home);
	assert_non_null(fp = fopen(path, "w"));
	fputs(text, fp);
	fclose(fp);
}

static void assert_words(const struct args *a, int n, const char *const *want)
{
	assert_int_equal(a->argc, n);
	for (int i = 0; i < n; i++)
		assert_string_equal(a->argv[i], want[i]);
	assert_null(a->argv[n]);
}

static void test_options_after_the_cmdlet(void **state)
{
	struct args a = { 0 };
	static const char *const want[] = { "run", "Get-Mailbox", "-Identity", "user0001" };

	(void)state;
	assert_int_equal(PARSE(&a, "run", "Get-Mailbox", "-Identity", "user0001", "--output", "csv",
			       "--profile=contoso", "--quiet"), 0);
	assert_words(&a, 4, want);
	assert_string_equal(a.output, "csv");
	assert_string_equal(a.profile, "contoso");
	assert_true(a.quiet);
	args_free(&a);
}

/* After the cmdlet, -o and -p are PowerShell's; before it, exoctl's. */
static void test_short_options_stay_the_cmdlets(void **state)
{
	struct args a = { 0 };
	static const char *const want[] = { "run", "Get-Mailbox", "-p", "x", "-o" };

	(void)state;
	assert_int_equal(PARSE(&a, "-s", "/tmp/s", "run", "-o", "json", "Get-Mailbox", "-p", "x",
			       "-o"), 0);
	assert_words(&a, 5, want);
	assert_string_equal(a.socket, "/tmp/s");
	assert_string_equal(a.output, "json");
	assert_null(a.profile);
	args_free(&a);
}

/* The hint exod prints, `exoctl login -p admin`, must work as pasted. */
static void test_short_options_after_other_commands(void **state)
{
	struct args a = { 0 };
	static const char *const want[] = { "login", "--password" };

	(void)state;
	assert_int_equal(PARSE(&a, "login", "-p", "admin", "--password", "-pother"), 0);
	assert_words(&a, 2, want);
	assert_string_equal(a.profile, "other");
	args_free(&a);
}

static void test_double_dash_ends_options(void **state)
{
	struct args a = { 0 };
	static const char *const want[] = { "run", "Set-Mailbox", "x", "-DisplayName", "--quiet" };

	(void)state;
	assert_int_equal(PARSE(&a, "run", "Set-Mailbox", "x", "--", "-DisplayName", "--quiet"), 0);
	assert_words(&a, 5, want);
	assert_false(a.quiet);
	args_free(&a);
}

/* The completion scripts' words are data: nothing in them is taken as an option. */
static void test_complete_words_are_opaque(void **state)
{
	struct args a = { 0 };
	static const char *const want[] = { "__complete", "-s", "/x", "--output", "--" };

	(void)state;
	assert_int_equal(PARSE(&a, "__complete", "-s", "/x", "--output", "--"), 0);
	assert_words(&a, 5, want);
	assert_null(a.socket);
	assert_null(a.output);
	args_free(&a);
}

static void test_usage_errors(void **state)
{
	struct args a = { 0 };

	(void)state;
	assert_int_equal(PARSE(&a, "--bogus", "status"), -1);
	assert_non_null(strstr(err, "unknown option '--bogus'"));
	args_free(&a);
	assert_int_equal(PARSE(&a, "status", "--output"), -1);
	assert_non_null(strstr(err, "--output needs a value"));
	args_free(&a);
	assert_int_equal(PARSE(&a, "status", "--quiet=yes"), -1);
	assert_non_null(strstr(err, "--quiet takes no value"));
	args_free(&a);
	assert_int_equal(PARSE(&a, "run", "Get-User", "--slurp"), -1);
	assert_non_null(strstr(err, "--slurp goes with --query"));
	args_free(&a);
	assert_int_equal(PARSE(&a, "-p", "", "status"), -1);
	args_free(&a);
	/* an unknown long option after the command is the command's (--prometheus, --params) */
	assert_int_equal(PARSE(&a, "metrics", "--prometheus"), 0);
	assert_int_equal(a.argc, 2);
	args_free(&a);
}

/* The config file, then the environment, then the command line. */
static void test_config_environment_line(void **state)
{
	struct args a = { 0 };

	(void)state;
	write_config("; mine\nsocket = /cfg/sock\n[exoctl]\nprofile = cfgprofile\noutput = yaml\n");
	assert_int_equal(PARSE(&a, "status"), 0);
	assert_string_equal(a.socket, "/cfg/sock");
	assert_string_equal(a.profile, "cfgprofile");
	assert_string_equal(a.output, "yaml");
	args_free(&a);
	setenv("EXOD_PROFILE", "envprofile", 1);
	assert_int_equal(PARSE(&a, "status"), 0);
	assert_string_equal(a.profile, "envprofile");
	args_free(&a);
	assert_int_equal(PARSE(&a, "status", "--profile", "lineprofile"), 0);
	assert_string_equal(a.profile, "lineprofile");
	assert_string_equal(a.socket, "/cfg/sock");
	args_free(&a);
}

static void test_config_errors_name_the_line(void **state)
{
	struct args a = { 0 };
	char want[160];

	(void)state;
	write_config("socket = /x\n\nsocks = /y\n");
	assert_int_equal(PARSE(&a, "status"), -1);
	snprintf(want, sizeof(want), "%s/exoctl/config:3: socks: unknown key", home);
	assert_non_null(strstr(err, want));
	args_free(&a);
	write_config("[other]\nsocket = /x\n");
	assert_int_equal(PARSE(&a, "status"), -1);
	assert_non_null(strstr(err, ":2: [other]"));
	args_free(&a);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_options_after_the_cmdlet, setup, teardown),
		cmocka_unit_test_setup_teardown(test_short_options_stay_the_cmdlets, setup, teardown),
		cmocka_unit_test_setup_teardown(test_short_options_after_other_commands, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_double_dash_ends_options, setup, teardown),
		cmocka_unit_test_setup_teardown(test_complete_words_are_opaque, setup, teardown),
		cmocka_unit_test_setup_teardown(test_usage_errors, setup, teardown),
		cmocka_unit_test_setup_teardown(test_config_environment_line, setup, teardown),
		cmocka_unit_test_setup_teardown(test_config_errors_name_the_line, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
