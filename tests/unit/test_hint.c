/* Unit tests for daemon/hint.c: the exoctl commands exod suggests, quoted to be pasted. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "common/conf.h"
#include "daemon/hint.h"

static void test_login_per_method(void **state)
{
	struct conf_profile p = { .name = "contoso", .auth = CONF_AUTH_DEVICE };
	char buf[HINT_MAX];

	(void)state;
	assert_string_equal(hint_login(&p, buf, sizeof(buf)), "'exoctl login -p contoso'");
	p.auth = CONF_AUTH_PASSWORD;
	assert_string_equal(hint_login(&p, buf, sizeof(buf)), "'exoctl login --password -p contoso'");
	assert_string_equal(hint_exoctl(&p, "refresh", buf, sizeof(buf)),
			    "'exoctl refresh -p contoso'");
}

static void test_socket(void **state)
{
	struct conf_profile p = { .name = "contoso", .auth = CONF_AUTH_DEVICE };
	char buf[HINT_MAX];

	(void)state;
	/* exoctl's default needs no -s. */
	p.socket = CONF_DEFAULT_SOCKET;
	assert_string_equal(hint_login(&p, buf, sizeof(buf)), "'exoctl login -p contoso'");
	p.socket = "/srv/exod/a.sock";
	assert_string_equal(hint_login(&p, buf, sizeof(buf)),
			    "'exoctl login -p contoso -s /srv/exod/a.sock'");
	/* A path a shell would split or expand is one quoted word. */
	p.socket = "/srv/my exod/$HOME\"`x`\\.sock";
	assert_string_equal(hint_login(&p, buf, sizeof(buf)),
			    "'exoctl login -p contoso -s \"/srv/my exod/\\$HOME\\\"\\`x\\`\\\\.sock\"'");
}

static void test_small_buffer(void **state)
{
	struct conf_profile p = { .name = "contoso", .auth = CONF_AUTH_DEVICE, .socket = "/x y" };
	char buf[12];

	(void)state;
	assert_string_equal(hint_login(&p, buf, sizeof(buf)), "'exoctl log");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_login_per_method),
		cmocka_unit_test(test_socket),
		cmocka_unit_test(test_small_buffer),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
