/* Unit tests for common/conf.c: exod.conf parsing, validation and profile comparison. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include <cmocka.h>

#include "common/conf.h"
#include "common/log.h"

#define ERR_MAX 1024

static char tmpdir[] = "/tmp/test_conf.XXXXXX";
static char cfgpath[sizeof(tmpdir) + 16];

static void write_conf(const char *text)
{
	FILE *f = fopen(cfgpath, "w");

	assert_non_null(f);
	assert_int_equal(fputs(text, f) >= 0, 1);
	assert_int_equal(fclose(f), 0);
}

static struct conf *load_ok(const char *text)
{
	char err[ERR_MAX] = "";
	struct conf *c = NULL;

	write_conf(text);
	if (conf_load(cfgpath, &c, err, sizeof(err)) != 0)
		fail_msg("conf_load failed: %s", err);
	assert_non_null(c);
	return c;
}

static void expect_error(const char *text, const char *want)
{
	char err[ERR_MAX] = "";
	struct conf *c = (struct conf *)&err;   /* must be reset to NULL */

	write_conf(text);
	assert_int_equal(conf_load(cfgpath, &c, err, sizeof(err)), -1);
	assert_null(c);
	if (strstr(err, want) == NULL)
		fail_msg("error \"%s\" lacks \"%s\"", err, want);
}

static int group_setup(void **state)
{
	(void)state;
	log_set_prefix(0);
	log_set_level(LOG_ERR);         /* the unused-key warnings are not under test */
	if (mkdtemp(tmpdir) == NULL)
		return -1;
	snprintf(cfgpath, sizeof(cfgpath), "%s/exod.conf", tmpdir);
	return 0;
}

static int group_teardown(void **state)
{
	(void)state;
	unlink(cfgpath);
	return rmdir(tmpdir);
}

static const char full_conf[] =
	"; every key\n"
	"# both comment styles\n"
	"[exod]\n"
	"socket = /run/exod/test.sock\n"
	"socket_mode = 0600\n"
	"state_dir = /var/lib/exod-test\n"
	"log_level = debug\n"
	"max_clients = 50\n"
	"\n"
	"[profile contoso]\n"
	"organization = contoso.onmicrosoft.com\n"
	"environment = O365USGovGCCHigh\n"
	"auth = certificate\n"
	"app_id = 36ee4c6c-0812-40a2-b820-b22ebd02bce3\n"
	"certificate_file = /etc/exod/contoso.pem\n"
	"certificate_key_file = /etc/exod/contoso.key\n"
	"certificate_password_file = contoso.pass\n"
	"assertion_algorithm = RS256\n"
	"http_version = 2\n"
	"user_principal_name = admin@contoso.onmicrosoft.com\n"
	"delegated_organization = fabrikam.onmicrosoft.com\n"
	"connection_uri = https://outlook.office365.us\n"
	"authority_uri = https://login.microsoftonline.us\n"
	"ca_file = /etc/ssl/certs/ca-certificates.crt\n"
	"proxy = http://proxy.example:3128\n"
	"page_size = 500\n"
	"max_connections = 5\n"
	"queue_limit = 0\n"
	"queue_timeout = 30\n"
	"request_timeout = 300\n"
	"refresh_margin = 0\n"
	"allow_users = alice, 1001\n"
	"allow_groups = exoadmins\n"
	"read_only_users = monitor\n"
	"read_only_groups = helpdesk,2000\n"
	"\n"
	"[profile store]\n"
	"auth = certificate\n"
	"organization = 0b5d2a0e-7f1c-4b1a-9d7e-3c6f1e2d4a5b\n"
	"app_id = 36EE4C6C-0812-40A2-B820-B22EBD02BCE3\n"
	"certificate_thumbprint = AB:CD:EF:01:23:45:67:89:ab:cd:ef:01:23:45:67:89:AB:CD:EF:01\n"
	"certificate_store = /etc/exod/certs\n"
	"\n"
	"[profile app-secret]\n"
	"auth = secret\n"
	"organization = contoso.onmicrosoft.com\n"
	"app_id = 36ee4c6c-0812-40a2-b820-b22ebd02bce3\n"
	"client_secret_file = /etc/exod/app.secret\n"
	"\n"
	"[profile pw]\n"
	"auth = password\n"
	"user_principal_name = svc@contoso.com\n"
	"password_file = svc.password\n"
	"organization = contoso.onmicrosoft.com\n"
	"\n"
	"[profile mi.client]\n"
	"auth = managed_identity\n"
	"organization = contoso.onmicrosoft.com\n"
	"managed_identity_client_id = 11111111-2222-3333-4444-555555555555\n"
	"managed_identity_endpoint = http://127.0.0.1:40342/metadata/identity/oauth2/token\n"
	"\n"
	"[profile mi_object]\n"
	"auth = managed_identity\n"
	"organization = contoso.onmicrosoft.com\n"
	"managed_identity_object_id = 11111111-2222-3333-4444-555555555556\n"
	"\n"
	"[profile mi-resource]\n"
	"auth = managed_identity\n"
	"organization = contoso.onmicrosoft.com\n"
	"managed_identity_resource_id = /subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg/providers/Microsoft.ManagedIdentity/userAssignedIdentities/exod\n"
	"\n"
	"[profile token]\n"
	"auth = access_token\n"
	"delegated_organization = fabrikam.onmicrosoft.com\n"
	"access_token_file = /run/exod/token\n"
	"\n"
	"[profile dev]\n"
	"auth = device\norganization = contoso.onmicrosoft.com\n"
	"environment = o365china\n";

static void test_full(void **state)
{
	struct conf *c = load_ok(full_conf);
	const struct conf_profile *p;

	(void)state;
	assert_string_equal(c->path, cfgpath);
	assert_string_equal(c->socket, "/run/exod/test.sock");
	assert_int_equal(c->socket_mode, 0600);
	assert_string_equal(c->state_dir, "/var/lib/exod-test");
	assert_int_equal(c->log_level, LOG_DEBUG);
	assert_int_equal(c->max_clients, 50);
	assert_int_equal(c->nprofiles, 9);

	p = conf_find_profile(c, "contoso");
	assert_ptr_equal(p, c->profiles);
	assert_string_equal(p->name, "contoso");
	assert_string_equal(p->organization, "contoso.onmicrosoft.com");
	assert_int_equal(p->environment, CONF_ENV_O365_USGOV_GCCHIGH);
	assert_int_equal(p->auth, CONF_AUTH_CERTIFICATE);
	assert_string_equal(p->app_id, "36ee4c6c-0812-40a2-b820-b22ebd02bce3");
	assert_string_equal(p->certificate_file, "/etc/exod/contoso.pem");
	assert_string_equal(p->certificate_key_file, "/etc/exod/contoso.key");
	assert_string_equal(p->certificate_password_file, "contoso.pass");
	assert_null(p->certificate_thumbprint);
	assert_null(p->certificate_store);
	assert_int_equal(p->assertion_algorithm, CONF_ALG_RS256);
	assert_int_equal(p->http_version, CONF_HTTP_2);
	assert_string_equal(p->user_principal_name, "admin@contoso.onmicrosoft.com");
	assert_string_equal(p->delegated_organization, "fabrikam.onmicrosoft.com");
	assert_string_equal(p->connection_uri, "https://outlook.office365.us");
	assert_string_equal(p->authority_uri, "https://login.microsoftonline.us");
	assert_string_equal(p->ca_file, "/etc/ssl/certs/ca-certificates.crt");
	assert_string_equal(p->proxy, "http://proxy.example:3128");
	assert_int_equal(p->page_size, 500);
	assert_int_equal(p->max_connections, 5);
	assert_int_equal(p->queue_limit, 0);
	assert_int_equal(p->queue_timeout, 30);
	assert_int_equal(p->request_timeout, 300);
	assert_int_equal(p->refresh_margin, 0);
	assert_string_equal(p->allow_users, "alice, 1001");
	assert_string_equal(p->allow_groups, "exoadmins");
	assert_string_equal(p->read_only_users, "monitor");
	assert_string_equal(p->read_only_groups, "helpdesk,2000");

	p = conf_find_profile(c, "store");
	assert_string_equal(p->certificate_thumbprint,
			    "AB:CD:EF:01:23:45:67:89:ab:cd:ef:01:23:45:67:89:AB:CD:EF:01");
	assert_string_equal(p->certificate_store, "/etc/exod/certs");
	assert_null(p->certificate_file);
	assert_int_equal(p->assertion_algorithm, CONF_ALG_PS256);
	assert_int_equal(p->http_version, CONF_HTTP_1_1);
	assert_int_equal(p->environment, CONF_ENV_O365_DEFAULT);

	p = conf_find_profile(c, "app-secret");
	assert_int_equal(p->auth, CONF_AUTH_SECRET);
	assert_string_equal(p->client_secret_file, "/etc/exod/app.secret");

	p = conf_find_profile(c, "pw");
	assert_int_equal(p->auth, CONF_AUTH_PASSWORD);
	assert_string_equal(p->user_principal_name, "svc@contoso.com");
	assert_string_equal(p->password_file, "svc.password");
	assert_string_equal(p->app_id, CONF_DEVICE_APP_ID);

	p = conf_find_profile(c, "mi.client");
	assert_int_equal(p->auth, CONF_AUTH_MANAGED_IDENTITY);
	assert_string_equal(p->managed_identity_client_id, "11111111-2222-3333-4444-555555555555");
	assert_string_equal(p->managed_identity_endpoint,
			    "http://127.0.0.1:40342/metadata/identity/oauth2/token");
	assert_null(p->app_id);
	assert_string_equal(conf_find_profile(c, "mi_object")->managed_identity_object_id,
			    "11111111-2222-3333-4444-555555555556");
	assert_string_equal(conf_find_profile(c, "mi-resource")->managed_identity_resource_id,
			    "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg/"
			    "providers/Microsoft.ManagedIdentity/userAssignedIdentities/exod");

	p = conf_find_profile(c, "token");
	assert_int_equal(p->auth, CONF_AUTH_ACCESS_TOKEN);
	assert_string_equal(p->access_token_file, "/run/exod/token");
	assert_null(p->organization);

	p = conf_find_profile(c, "dev");
	assert_int_equal(p->auth, CONF_AUTH_DEVICE);
	assert_int_equal(p->environment, CONF_ENV_O365_CHINA);
	assert_string_equal(p->app_id, CONF_DEVICE_APP_ID);
	assert_null(p->next);
	conf_free(c);
}

static void test_defaults(void **state)
{
	struct conf *c = load_ok("[profile only]\nauth = device\norganization = contoso.onmicrosoft.com\n");
	const struct conf_profile *p = c->profiles;

	(void)state;
	assert_string_equal(c->socket, CONF_DEFAULT_SOCKET);
	assert_int_equal(c->socket_mode, 0660);
	assert_string_equal(c->state_dir, CONF_DEFAULT_STATE_DIR);
	assert_int_equal(c->log_level, LOG_INFO);
	assert_int_equal(c->max_clients, 1024);
	assert_int_equal(c->max_clients_per_uid, 64);
	assert_int_equal(c->reserved_clients, 16);
	assert_int_equal(c->client_timeout, 30);
	assert_int_equal(c->send_timeout, 600);
	assert_null(c->metrics_listen);
	assert_int_equal(c->nprofiles, 1);
	assert_string_equal(p->name, "only");
	assert_int_equal(p->environment, CONF_ENV_O365_DEFAULT);
	assert_int_equal(p->assertion_algorithm, CONF_ALG_PS256);
	assert_string_equal(p->app_id, CONF_DEVICE_APP_ID);
	assert_int_equal(p->page_size, 1000);
	assert_int_equal(p->max_pages, 10000);
	assert_int_equal(p->max_connections, 3);
	assert_int_equal(p->queue_limit, 100);
	assert_int_equal(p->queue_timeout, 120);
	assert_int_equal(p->request_timeout, 960);
	assert_int_equal(p->refresh_margin, 600);
	assert_string_equal(p->organization, "contoso.onmicrosoft.com");
	assert_null(p->connection_uri);
	assert_null(p->proxy);
	assert_null(p->allow_users);
	conf_free(c);
}

/* auth = interactive: delegated like device, with the same public client and keys. */
static void test_interactive(void **state)
{
	struct conf *c = load_ok("[profile web]\nauth = interactive\n"
				 "delegated_organization = fabrikam.onmicrosoft.com\n"
				 "user_principal_name = admin@contoso.onmicrosoft.com\n"
				 "authority_uri = https://login.microsoftonline.us\n");
	const struct conf_profile *p = c->profiles;

	(void)state;
	assert_int_equal(p->auth, CONF_AUTH_INTERACTIVE);
	assert_string_equal(conf_auth_name(p->auth), "interactive");
	assert_string_equal(p->app_id, CONF_DEVICE_APP_ID);
	assert_string_equal(p->user_principal_name, "admin@contoso.onmicrosoft.com");
	assert_true(conf_auth_delegated(p->auth));
	assert_true(conf_auth_delegated(CONF_AUTH_DEVICE));
	assert_false(conf_auth_delegated(CONF_AUTH_CERTIFICATE));
	assert_false(conf_auth_delegated(CONF_AUTH_ACCESS_TOKEN));
	conf_free(c);
}

static void test_values(void **state)
{
	struct conf *c;

	(void)state;
	c = load_ok("[exod]\nsocket_mode = 660\nlog_level = Warning\n"
		    "[profile a]\nauth = DEVICE\norganization = c.example\nconnection_uri = http://127.0.0.1:8443/x\n"
		    "authority_uri = http://[::1]:9000\nproxy = https://u:p@proxy:8080\n"
		    "queue_limit = 100000\nrefresh_margin = 86400\n");
	assert_int_equal(c->socket_mode, 0660);
	assert_int_equal(c->log_level, LOG_WARNING);
	assert_int_equal(c->profiles->auth, CONF_AUTH_DEVICE);
	assert_string_equal(c->profiles->connection_uri, "http://127.0.0.1:8443/x");
	assert_string_equal(c->profiles->authority_uri, "http://[::1]:9000");
	assert_int_equal(c->profiles->queue_limit, 100000);
	assert_int_equal(c->profiles->refresh_margin, 86400);
	conf_free(c);

	c = load_ok("[exod]\nlog_level = notice\n[profile a]\nauth = device\norganization = contoso.onmicrosoft.com\n"
		    "connection_uri = http://LOCALHOST:1/\n");
	assert_int_equal(c->log_level, LOG_NOTICE);
	conf_free(c);
	c = load_ok("[exod]\nlog_level = error\n[profile a]\nauth = device\norganization = contoso.onmicrosoft.com\n");
	assert_int_equal(c->log_level, LOG_ERR);
	conf_free(c);
}

/* metrics_listen: each accepted form and what conf.c stores for it. */
static void test_metrics_listen(void **state)
{
	static const char *const cases[][2] = {
		{ "9100", "127.0.0.1:9100" },
		{ "09100", "127.0.0.1:9100" },
		{ "1", "127.0.0.1:1" },
		{ "65535", "127.0.0.1:65535" },
		{ "127.0.0.1:9100", "127.0.0.1:9100" },
		{ "0.0.0.0:9100", "0.0.0.0:9100" },
		{ "192.0.2.7:80", "192.0.2.7:80" },
		{ "[::1]:9100", "[::1]:9100" },
		{ "[::]:9100", "[::]:9100" },
		{ "[2001:db8::7]:9100", "[2001:db8::7]:9100" },
		{ "[::ffff:127.0.0.1]:9100", "[::ffff:127.0.0.1]:9100" },
	};
	char text[256];

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct conf *c;

		snprintf(text, sizeof(text), "[exod]\nmetrics_listen = %s ; comment\n"
			 "[profile a]\nauth = device\norganization = c.example\n", cases[i][0]);
		c = load_ok(text);
		assert_non_null(c->metrics_listen);
		assert_string_equal(c->metrics_listen, cases[i][1]);
		conf_free(c);
	}
}

static void test_crlf(void **state)
{
	struct conf *c = load_ok("[exod]\r\nstate_dir = /srv/exod\r\n\r\n; note\r\n"
				 "[profile a]\r\nauth = secret\r\napp_id = 36ee4c6c-0812-40a2-b820-b22ebd02bce3\r\n"
				 "organization = contoso.onmicrosoft.com\r\nclient_secret_file = s\r\n");

	(void)state;
	assert_string_equal(c->state_dir, "/srv/exod");
	assert_string_equal(c->profiles->organization, "contoso.onmicrosoft.com");
	assert_string_equal(c->profiles->client_secret_file, "s");
	conf_free(c);
	c = load_ok("\xef\xbb\xbf[exod]\r\n[profile a]\r\nauth = device\r\norganization = b.example\r\n");
	assert_string_equal(c->profiles->organization, "b.example");
	conf_free(c);
	expect_error("[profile a]\r\nauth = device\r\npage_size = 0\r\n",
		     "exod.conf:3: page_size: must be between 1 and 1000");
}

static void test_comments(void **state)
{
	struct conf *c;

	(void)state;
	c = load_ok("; semicolon comment\n# hash comment\n   ; indented comment\n"
		    "[exod] ; after a section\n"
		    "state_dir = /srv/exod ; inline comment\n"
		    "socket = /run/a;b\n"
		    "[profile a]   # after a section\n"
		    "  auth = device\norganization = contoso.onmicrosoft.com\n"
		    "\tallow_users = alice\t; tab before the comment\n"
		    "ca_file = /etc/ssl/ca #not-a-comment\n");
	assert_string_equal(c->state_dir, "/srv/exod");
	/* ';' without whitespace before it, and '#' anywhere inline, are part of the value. */
	assert_string_equal(c->socket, "/run/a;b");
	assert_string_equal(c->profiles->allow_users, "alice");
	assert_string_equal(c->profiles->ca_file, "/etc/ssl/ca #not-a-comment");
	conf_free(c);
	expect_error("[profile a]\nauth = device\norganization = contoso.onmicrosoft.com\nuser_principal_name = a@b.example # x\n",
		     "exod.conf:4: user_principal_name: must be user@domain");
}

/* text = head, n times c, tail */
static void fill_line(char *text, size_t cap, const char *head, char c, size_t n, const char *tail)
{
	size_t h = strlen(head);

	assert_true(h + n + strlen(tail) < cap);
	memcpy(text, head, h);
	memset(text + h, c, n);
	memcpy(text + h + n, tail, strlen(tail) + 1);
}

static void test_long_lines(void **state)
{
	char path[600];
	char *text = malloc(CONF_VALUE_MAX + 1024);
	struct conf *c;

	(void)state;
	assert_non_null(text);
	/* Longer than inih's 200-byte line buffer: must come through whole, comment stripped. */
	memset(path, 'p', sizeof(path));
	path[0] = '/';
	path[sizeof(path) - 1] = '\0';
	snprintf(text, CONF_VALUE_MAX + 1024, "[exod]\nstate_dir =   %s   ; comment\n"
		 "[profile a]\nauth = device\norganization = contoso.onmicrosoft.com\n", path);
	c = load_ok(text);
	assert_string_equal(c->state_dir, path);
	conf_free(c);

	/* Split at inih's buffer size, the tail would have become a key of its own. */
	fill_line(text, CONF_VALUE_MAX + 1024, "[exod]\nstate_dir = /", 'q', 300,
		  "\nsocket = /run/evil.sock\n[profile a]\nauth = device\norganization = contoso.onmicrosoft.com\n");
	memcpy(strstr(text, "\nsocket"), "/", 1);
	c = load_ok(text);
	assert_string_equal(c->socket, CONF_DEFAULT_SOCKET);
	assert_non_null(strstr(c->state_dir, "qqq/socket = /run/evil.sock"));
	conf_free(c);

	fill_line(text, CONF_VALUE_MAX + 1024, "[exod]\nstate_dir = /", 'x', CONF_VALUE_MAX,
		  "\n[profile a]\nauth = device\norganization = contoso.onmicrosoft.com\n");
	expect_error(text, "exod.conf:2: state_dir: longer than 4096 bytes");

	fill_line(text, CONF_VALUE_MAX + 1024, "[exod]\n; ", 'x', CONF_VALUE_MAX + 300, "\n");
	expect_error(text, "exod.conf:2: line longer than");

	/* A long line without a '=' is not split into an accepted key by inih. */
	fill_line(text, CONF_VALUE_MAX + 1024, "[profile a]\nauth = device\norganization = contoso.onmicrosoft.com\n", 'y', 300, "\n");
	expect_error(text, "exod.conf:4: syntax error");
	free(text);
}

struct error_case {
	const char *text;
	const char *want;
};

static const struct error_case error_cases[] = {
	/* values */
	{ "[exod]\nsocket = /run/x.sock\n[profile a]\nauth = device\nmax_connections = 65\n",
	  "exod.conf:5: max_connections: must be between 1 and 64" },
	{ "[profile a]\nauth = device\nmax_connections = 0\n",
	  "exod.conf:3: max_connections: must be between 1 and 64" },
	{ "[profile a]\nauth = device\npage_size = 10x\n",
	  "exod.conf:3: page_size: must be between 1 and 1000" },
	{ "[profile a]\nauth = device\npage_size = 1001\n",
	  "exod.conf:3: page_size: must be between 1 and 1000" },
	{ "[profile a]\nauth = device\nqueue_limit = 99999999999999999999999\n",
	  "exod.conf:3: queue_limit: must be between 0 and 100000" },
	{ "[profile a]\nauth = device\nqueue_timeout = 0\n",
	  "exod.conf:3: queue_timeout: must be between 1 and 86400" },
	{ "[profile a]\nauth = device\nrequest_timeout = 86401\n",
	  "exod.conf:3: request_timeout: must be between 1 and 86400" },
	{ "[profile a]\nauth = device\nrefresh_margin = -1\n",
	  "exod.conf:3: refresh_margin: must be between 0 and 86400" },
	{ "[exod]\nmax_clients = 0\n[profile a]\nauth = device\n",
	  "exod.conf:2: max_clients: must be between 1 and 100000" },
	{ "[exod]\nmax_clients_per_uid = 0\n[profile a]\nauth = device\n",
	  "exod.conf:2: max_clients_per_uid: must be between 1 and 100000" },
	{ "[exod]\nclient_timeout = 3601\n[profile a]\nauth = device\n",
	  "exod.conf:2: client_timeout: must be between 1 and 3600" },
	{ "[exod]\nsend_timeout = -1\n[profile a]\nauth = device\n",
	  "exod.conf:2: send_timeout: must be between 0 and 86400" },
	{ "[exod]\nmax_clients = 10\nreserved_clients = 10\n[profile a]\nauth = device\n"
	  "organization = contoso.onmicrosoft.com\n",
	  "reserved_clients (10) must be less than max_clients (10)" },
	{ "[profile a]\nauth = device\nmax_pages = 0\n",
	  "exod.conf:3: max_pages: must be between 1 and 1000000" },
	{ "[exod]\nsocket_mode = 0800\n", "exod.conf:2: socket_mode: must be an octal mode between 0000 and 0777" },
	{ "[exod]\nsocket_mode = 01000\n", "exod.conf:2: socket_mode: must be an octal mode" },
	{ "[exod]\nsocket_mode = -0600\n", "exod.conf:2: socket_mode: must be an octal mode" },
	{ "[exod]\nmetrics_listen = localhost:9100\n[profile a]\nauth = device\n",
	  "exod.conf:2: metrics_listen: must be ADDRESS:PORT, [IPv6]:PORT or a PORT alone (on 127.0.0.1)" },
	{ "[exod]\nmetrics_listen = 0\n", "exod.conf:2: metrics_listen: must be ADDRESS:PORT" },
	{ "[exod]\nmetrics_listen = 65536\n", "exod.conf:2: metrics_listen: must be ADDRESS:PORT" },
	{ "[exod]\nmetrics_listen = 127.0.0.1\n", "exod.conf:2: metrics_listen: must be ADDRESS:PORT" },
	{ "[exod]\nmetrics_listen = 127.0.0.1:\n", "exod.conf:2: metrics_listen: must be ADDRESS:PORT" },
	{ "[exod]\nmetrics_listen = :9100\n", "exod.conf:2: metrics_listen: must be ADDRESS:PORT" },
	{ "[exod]\nmetrics_listen = 127.0.0.1:9100x\n", "exod.conf:2: metrics_listen: must be ADDRESS:PORT" },
	{ "[exod]\nmetrics_listen = 127.0.0.1:-1\n", "exod.conf:2: metrics_listen: must be ADDRESS:PORT" },
	{ "[exod]\nmetrics_listen = 127.0.0.1:+80\n", "exod.conf:2: metrics_listen: must be ADDRESS:PORT" },
	{ "[exod]\nmetrics_listen = 127.0.0.256:9100\n", "exod.conf:2: metrics_listen: must be ADDRESS:PORT" },
	{ "[exod]\nmetrics_listen = ::1:9100\n", "exod.conf:2: metrics_listen: must be ADDRESS:PORT" },
	{ "[exod]\nmetrics_listen = [::1]\n", "exod.conf:2: metrics_listen: must be ADDRESS:PORT" },
	{ "[exod]\nmetrics_listen = [::1]9100\n", "exod.conf:2: metrics_listen: must be ADDRESS:PORT" },
	{ "[exod]\nmetrics_listen = [127.0.0.1]:9100\n", "exod.conf:2: metrics_listen: must be ADDRESS:PORT" },
	{ "[exod]\nmetrics_listen = []:9100\n", "exod.conf:2: metrics_listen: must be ADDRESS:PORT" },
	{ "[exod]\nmetrics_listen = [fe80::1%eth0]:9100\n", "exod.conf:2: metrics_listen: must be ADDRESS:PORT" },
	{ "[exod]\nmetrics_listen = 9100\nmetrics_listen = 9101\n", "exod.conf:3: metrics_listen: duplicate key" },
	{ "[profile a]\nauth = device\nmetrics_listen = 9100\n",
	  "exod.conf:3: metrics_listen: unknown key in [profile a]" },
	{ "[exod]\nlog_level = verbose\n",
	  "exod.conf:2: log_level: must be one of error, warning, notice, info, debug" },
	{ "[exod]\nsocket = run/exod.sock\n", "exod.conf:2: socket: must be an absolute path" },
	{ "[exod]\nsocket = /run/exod/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.sock\n",
	  "exod.conf:2: socket: must be shorter than 108 bytes" },
	{ "[exod]\nstate_dir = var/lib/exod\n", "exod.conf:2: state_dir: must be an absolute path" },
	{ "[profile a]\nauth = kerberos\n",
	  "exod.conf:2: auth: must be one of certificate, secret, device, password, managed_identity, access_token" },
	{ "[profile a]\nauth = device\nenvironment = AzureCloud\n",
	  "exod.conf:3: environment: must be one of O365Default, O365USGovGCCHigh, O365USGovDoD, O365GermanyCloud, O365China" },
	{ "[profile a]\nauth = device\nservice = purview\n",
	  "exod.conf:3: service: must be one of exchange, compliance" },
	{ "[profile a]\nauth = device\norganization = contoso.onmicrosoft.com\nservice = compliance\n"
	  "environment = O365GermanyCloud\n",
	  "exod.conf:1: profile a: service = compliance: Security & Compliance has no known endpoint "
	  "in O365GermanyCloud" },
	{ "[profile a]\nauth = secret\napp_id = 36ee4c6c-0812-40a2-b820-b22ebd02bce3\n"
	  "client_secret_file = /s\norganization = 6babcaad-604b-40ac-a9d7-9fd97c0b779f\n"
	  "service = compliance\n",
	  "exod.conf:1: profile a: service = compliance routes on the tenant's domain: organization "
	  "must be its domain" },
	{ "[profile a]\nauth = device\norganization = contoso.onmicrosoft.com\nservice = compliance\n"
	  "delegated_organization = 2f4a9b1c-3d5e-4f60-8a7b-9c0d1e2f3a4b\n",
	  "exod.conf:1: profile a: service = compliance routes on the tenant's domain: "
	  "delegated_organization must be its domain" },
	{ "[profile a]\nauth = certificate\nassertion_algorithm = ES256\n",
	  "exod.conf:3: assertion_algorithm: must be one of PS256, RS256" },
	{ "[profile a]\nauth = device\nhttp_version = 3\n",
	  "exod.conf:3: http_version: must be one of 1.1, 2" },
	{ "[profile a]\nauth = device\napp_id = not-a-guid\n", "exod.conf:3: app_id: must be a GUID" },
	{ "[profile a]\nauth = device\napp_id = 36ee4c6c-0812-40a2-b820-b22ebd02bce\n", "exod.conf:3: app_id: must be a GUID" },
	{ "[profile a]\nauth = device\norganization = contoso.com/../x\n",
	  "exod.conf:3: organization: must be a domain name or a tenant GUID" },
	{ "[profile a]\nauth = device\nuser_principal_name = admin\n",
	  "exod.conf:3: user_principal_name: must be user@domain" },
	{ "[profile a]\nauth = certificate\ncertificate_thumbprint = ABCDEF\n",
	  "exod.conf:3: certificate_thumbprint: must be 40 hex digits" },
	{ "[profile a]\nauth = certificate\ncertificate_store = certs\n",
	  "exod.conf:3: certificate_store: must be an absolute path" },
	{ "[profile a]\nauth = device\nca_file = ca.pem\n", "exod.conf:3: ca_file: must be an absolute path" },
	{ "[profile a]\nauth = secret\nclient_secret_file = dir/app.secret\n",
	  "exod.conf:3: client_secret_file: must be an absolute path or a credential name" },
	{ "[profile a]\nauth = password\npassword_file = ..\n",
	  "exod.conf:3: password_file: must be an absolute path or a credential name" },
	{ "[profile a]\nauth = managed_identity\nmanaged_identity_resource_id = subscriptions/x\n",
	  "exod.conf:3: managed_identity_resource_id: must be an Azure resource ID" },
	{ "[profile a]\nauth = device\nconnection_uri = http://outlook.office365.com\n",
	  "exod.conf:3: connection_uri: must be an https:// URL" },
	{ "[profile a]\nauth = device\nconnection_uri = http://localhost.evil.example/\n",
	  "exod.conf:3: connection_uri: must be an https:// URL" },
	{ "[profile a]\nauth = device\nauthority_uri = http://127.0.0.1@evil.example/\n",
	  "exod.conf:3: authority_uri: must be an https:// URL" },
	{ "[profile a]\nauth = device\nauthority_uri = https:///path\n",
	  "exod.conf:3: authority_uri: must be an https:// URL" },
	{ "[profile a]\nauth = device\nproxy = socks5://proxy:1080\n",
	  "exod.conf:3: proxy: must be an http:// or https:// URL" },
	{ "[profile a]\nauth = managed_identity\nmanaged_identity_endpoint = 127.0.0.1:40342\n",
	  "exod.conf:3: managed_identity_endpoint: must be an http:// or https:// URL" },
	{ "[profile a]\nauth = device\nallow_users = alice bob\n",
	  "exod.conf:3: allow_users: must be a comma-separated list" },
	{ "[profile a]\nauth = device\nread_only_groups = a,,b\n",
	  "exod.conf:3: read_only_groups: must be a comma-separated list" },
	{ "[profile a]\nauth = device\nproxy =\n", "exod.conf:3: proxy: empty value" },
	{ "[profile a]\nauth = device\nproxy = ; only a comment\n", "exod.conf:3: proxy: empty value" },
	{ "[profile a]\nauth = device\nallow_users = al\x01ice\n", "exod.conf:3: control character" },
	/* keys and sections */
	{ "[exod]\ncolour = blue\n", "exod.conf:2: colour: unknown key in [exod]" },
	{ "[profile a]\nauth = device\ncolour = blue\n", "exod.conf:3: colour: unknown key in [profile a]" },
	{ "[profile a]\nAuth = device\n", "exod.conf:2: Auth: unknown key in [profile a]" },
	{ "[exod]\nmax_connections = 3\n", "exod.conf:2: max_connections: unknown key in [exod]" },
	{ "[profile a]\nauth = device\nauth = device\n", "exod.conf:3: auth: duplicate key" },
	{ "[exod]\nlog_level = info\nlog_level = debug\n", "exod.conf:3: log_level: duplicate key" },
	{ "[exod]\n[profile a]\nauth = device\norganization = c.example\n[exod]\n",
	  "exod.conf:5: [exod]: duplicate section" },
	{ "[profile a]\norganization = c.example\nauth = device\n[profile b]\norganization = c.example\n"
	  "auth = device\n[profile a]\n", "exod.conf:7: [profile a]: duplicate profile" },
	{ "[global]\n", "exod.conf:1: [global]: unknown section (expected [exod], [profile NAME], [role NAME] or [cluster])" },
	{ "[profile]\n", "exod.conf:1: [profile]: unknown section" },
	{ "[profile a/b]\nauth = device\n", "exod.conf:1: [profile a/b]: the name must be 1 to 64 of" },
	{ "[profile aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa]\n",
	  "the name must be 1 to 64 of" },
	{ "organization = contoso.com\n[profile a]\n", "exod.conf:1: organization: outside of any section" },
	{ "[profile a]\nauth device\n", "exod.conf:2: syntax error" },
	{ "[profile a\nauth = device\n", "exod.conf:1: syntax error" },
	{ "[profile a] trailing\nauth = device\n", "exod.conf:1: syntax error" },
	{ "[profile a]\nauth = device\n  continuation\n", "exod.conf:3: syntax error" },
	/* the first error wins */
	{ "[profile a]\nauth = device\npage_size = 0\ncolour = x\n", "exod.conf:3: page_size:" },
	/* whole profiles, reported at their section's line */
	{ "[exod]\n\n[profile c]\nauth = certificate\norganization = contoso.onmicrosoft.com\n"
	  "certificate_file = /etc/exod/c.pfx\n", "exod.conf:3: profile c: auth = certificate needs app_id" },
	{ "[profile c]\nauth = certificate\napp_id = 36ee4c6c-0812-40a2-b820-b22ebd02bce3\n"
	  "certificate_file = /etc/exod/c.pfx\n", "exod.conf:1: profile c: auth = certificate needs organization" },
	{ "[profile c]\nauth = certificate\napp_id = 36ee4c6c-0812-40a2-b820-b22ebd02bce3\n"
	  "organization = common\ncertificate_file = /etc/exod/c.pfx\n",
	  "exod.conf:1: profile c: organization must name the tenant" },
	{ "[profile c]\nauth = certificate\napp_id = 36ee4c6c-0812-40a2-b820-b22ebd02bce3\n"
	  "organization = contoso.onmicrosoft.com\n",
	  "exod.conf:1: profile c: auth = certificate needs certificate_file, or certificate_thumbprint and certificate_store" },
	{ "[profile c]\nauth = certificate\napp_id = 36ee4c6c-0812-40a2-b820-b22ebd02bce3\n"
	  "organization = contoso.onmicrosoft.com\ncertificate_thumbprint = 0123456789abcdef0123456789abcdef01234567\n",
	  "exod.conf:1: profile c: auth = certificate needs certificate_file, or certificate_thumbprint and certificate_store" },
	{ "[profile c]\nauth = certificate\napp_id = 36ee4c6c-0812-40a2-b820-b22ebd02bce3\n"
	  "organization = contoso.onmicrosoft.com\ncertificate_file = /c.pfx\ncertificate_store = /certs\n",
	  "exod.conf:1: profile c: certificate_file excludes certificate_thumbprint and certificate_store" },
	{ "[profile c]\nauth = certificate\napp_id = 36ee4c6c-0812-40a2-b820-b22ebd02bce3\n"
	  "organization = contoso.onmicrosoft.com\ncertificate_store = /certs\n"
	  "certificate_thumbprint = 0123456789abcdef0123456789abcdef01234567\ncertificate_key_file = /k.pem\n",
	  "exod.conf:1: profile c: certificate_key_file needs certificate_file" },
	{ "[profile s]\nauth = secret\napp_id = 36ee4c6c-0812-40a2-b820-b22ebd02bce3\n"
	  "organization = contoso.onmicrosoft.com\n", "exod.conf:1: profile s: auth = secret needs client_secret_file" },
	{ "[profile s]\nauth = secret\norganization = contoso.onmicrosoft.com\nclient_secret_file = s\n",
	  "exod.conf:1: profile s: auth = secret needs app_id" },
	{ "[profile p]\nauth = password\n", "exod.conf:1: profile p: auth = password needs user_principal_name" },
	{ "[profile p]\nauth = password\nuser_principal_name = a@b.example\norganization = common\n",
	  "exod.conf:1: profile p: auth = password cannot use organization = common" },
	{ "[profile m]\nauth = managed_identity\n",
	  "exod.conf:1: profile m: auth = managed_identity needs organization" },
	{ "[profile m]\nauth = managed_identity\norganization = contoso.onmicrosoft.com\n"
	  "managed_identity_client_id = 11111111-2222-3333-4444-555555555555\n"
	  "managed_identity_object_id = 11111111-2222-3333-4444-555555555555\n",
	  "exod.conf:1: profile m: at most one of managed_identity_client_id" },
	{ "[profile t]\nauth = access_token\norganization = contoso.onmicrosoft.com\n",
	  "exod.conf:1: profile t: auth = access_token needs access_token_file" },
	{ "[profile t]\nauth = access_token\naccess_token_file = /t\n",
	  "exod.conf:1: profile t: auth = access_token needs organization or delegated_organization" },
	{ "[profile a]\nauth = device\norganization = c.example\n[profile e]\n[profile z]\n",
	  "exod.conf:4: profile e: auth is required" },
	{ "[profile d]\nauth = device\n", "exod.conf:1: profile d: auth = device needs organization or delegated_organization" },
	{ "[profile d]\nauth = device\norganization = organizations\n",
	  "exod.conf:1: profile d: organization must name the tenant (its domain or GUID), not common" },
	{ "[profile e]\norganization = contoso.onmicrosoft.com\n", "exod.conf:1: profile e: auth is required" },
	/* cmdlets and roles */
	{ "[profile a]\nauth = device\norganization = c.example\ncmdlets = Get-*, Set Mailbox\n",
	  "exod.conf:4: cmdlets: must be a comma-separated list of cmdlet names or globs" },
	{ "[profile a]\nauth = device\norganization = c.example\ncmdlets = Get-[a]*\n",
	  "exod.conf:4: cmdlets: must be a comma-separated list" },
	{ "[profile a]\nauth = device\norganization = c.example\ncmdlets = Get-*,,Set-*\n",
	  "exod.conf:4: cmdlets: must be a comma-separated list" },
	{ "[role r]\nusers = root\n[profile a]\nauth = device\norganization = c.example\n",
	  "exod.conf:1: role r: cmdlets is required" },
	{ "[role r]\ncmdlets = Get-*\n", "exod.conf:1: role r: users or groups is required" },
	{ "[role r]\ngroups = root\ncmdlets = *\nauth = device\n",
	  "exod.conf:4: auth: unknown key in [role r] (expected users, groups, cmdlets or profiles)" },
	{ "[role r]\ngroups = root\ncmdlets = *\n[role r]\n", "exod.conf:4: [role r]: duplicate role" },
	{ "[role a b]\n", "exod.conf:1: [role a b]: the name must be" },
	{ "[role r]\ngroups = root\ncmdlets = *\nprofiles = a, typo\n"
	  "[profile a]\nauth = device\norganization = c.example\n",
	  "exod.conf: role r: profiles names a profile that is not configured: a, typo" },
	/* the file as a whole */
	{ "", "exod.conf: no [profile NAME] section; at least one is required" },
	{ "[exod]\nlog_level = debug\n", "exod.conf: no [profile NAME] section" },
};

static void test_errors(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(error_cases) / sizeof(error_cases[0]); i++)
		expect_error(error_cases[i].text, error_cases[i].want);
}

static void test_missing_file(void **state)
{
	char err[ERR_MAX] = "";
	char path[sizeof(tmpdir) + 16];
	struct conf *c = NULL;

	(void)state;
	snprintf(path, sizeof(path), "%s/absent.conf", tmpdir);
	assert_int_equal(conf_load(path, &c, err, sizeof(err)), -1);
	assert_null(c);
	assert_non_null(strstr(err, "absent.conf: No such file or directory"));
}

static void test_small_err_buffer(void **state)
{
	char err[8];
	struct conf *c = NULL;

	(void)state;
	write_conf("[exod]\ncolour = blue\n");
	assert_int_equal(conf_load(cfgpath, &c, err, sizeof(err)), -1);
	assert_int_equal(strlen(err), sizeof(err) - 1);
}

static void test_too_many_profiles(void **state)
{
	size_t cap = (size_t)(CONF_MAX_PROFILES + 1) * 64;
	char *text = malloc(cap);
	size_t off = 0;

	(void)state;
	assert_non_null(text);
	for (int i = 0; i <= CONF_MAX_PROFILES; i++) {
		off += (size_t)snprintf(text + off, cap - off,
					"[profile p%d]\nauth = device\norganization = c.example\n", i);
		assert_true(off < cap);
	}
	expect_error(text, "more than 10000 profiles");
	free(text);
}

static void test_find_profile(void **state)
{
	struct conf *c = load_ok("[profile one]\nauth = device\norganization = contoso.onmicrosoft.com\n");

	(void)state;
	assert_ptr_equal(conf_find_profile(c, NULL), c->profiles);
	assert_ptr_equal(conf_find_profile(c, "one"), c->profiles);
	assert_null(conf_find_profile(c, "One"));
	assert_null(conf_find_profile(c, "two"));
	conf_free(c);

	c = load_ok("[profile one]\nauth = device\norganization = contoso.onmicrosoft.com\n[profile two]\nauth = device\norganization = contoso.onmicrosoft.com\n");
	assert_null(conf_find_profile(c, NULL));
	assert_ptr_equal(conf_find_profile(c, "two"), c->profiles->next);
	assert_string_equal(conf_find_profile(c, "one")->name, "one");
	conf_free(c);
}

/* Every field of struct conf_profile, so that a field conf_profile_equal forgets fails here. */
static const size_t str_fields[] = {
	offsetof(struct conf_profile, name),
	offsetof(struct conf_profile, organization),
	offsetof(struct conf_profile, app_id),
	offsetof(struct conf_profile, certificate_file),
	offsetof(struct conf_profile, certificate_key_file),
	offsetof(struct conf_profile, certificate_password_file),
	offsetof(struct conf_profile, certificate_thumbprint),
	offsetof(struct conf_profile, certificate_store),
	offsetof(struct conf_profile, client_secret_file),
	offsetof(struct conf_profile, user_principal_name),
	offsetof(struct conf_profile, password_file),
	offsetof(struct conf_profile, managed_identity_client_id),
	offsetof(struct conf_profile, managed_identity_object_id),
	offsetof(struct conf_profile, managed_identity_resource_id),
	offsetof(struct conf_profile, managed_identity_endpoint),
	offsetof(struct conf_profile, access_token_file),
	offsetof(struct conf_profile, delegated_organization),
	offsetof(struct conf_profile, connection_uri),
	offsetof(struct conf_profile, authority_uri),
	offsetof(struct conf_profile, ca_file),
	offsetof(struct conf_profile, proxy),
	offsetof(struct conf_profile, allow_users),
	offsetof(struct conf_profile, allow_groups),
	offsetof(struct conf_profile, read_only_users),
	offsetof(struct conf_profile, read_only_groups),
};

static const size_t int_fields[] = {
	offsetof(struct conf_profile, page_size),
	offsetof(struct conf_profile, max_connections),
	offsetof(struct conf_profile, queue_limit),
	offsetof(struct conf_profile, queue_timeout),
	offsetof(struct conf_profile, request_timeout),
	offsetof(struct conf_profile, refresh_margin),
};

static void test_profile_equal(void **state)
{
	static const char text[] = "[profile a]\nauth = device\norganization = contoso.onmicrosoft.com\nproxy = http://p:1\n"
				   "[profile b]\nauth = device\norganization = contoso.onmicrosoft.com\nproxy = http://p:1\n";
	struct conf *c1 = load_ok(text);
	struct conf *c2 = load_ok(text);
	const struct conf_profile *a = c1->profiles;
	struct conf_profile copy;
	char other[] = "other";

	(void)state;
	assert_int_equal(conf_profile_equal(a, c2->profiles), 1);
	assert_int_equal(conf_profile_equal(a, a->next), 0);    /* the names differ */
	assert_int_equal(conf_profile_equal(a, NULL), 0);
	assert_int_equal(conf_profile_equal(NULL, NULL), 1);

	for (size_t i = 0; i < sizeof(str_fields) / sizeof(str_fields[0]); i++) {
		char *orig, *repl = other;

		memcpy(&orig, (const char *)a + str_fields[i], sizeof(orig));
		copy = *a;
		memcpy((char *)&copy + str_fields[i], &repl, sizeof(repl));
		assert_int_equal(conf_profile_equal(a, &copy), 0);
		if (orig != NULL) {
			repl = NULL;
			memcpy((char *)&copy + str_fields[i], &repl, sizeof(repl));
			assert_int_equal(conf_profile_equal(&copy, a), 0);
		}
	}
	for (size_t i = 0; i < sizeof(int_fields) / sizeof(int_fields[0]); i++) {
		int v;

		copy = *a;
		memcpy(&v, (char *)&copy + int_fields[i], sizeof(v));
		v++;
		memcpy((char *)&copy + int_fields[i], &v, sizeof(v));
		assert_int_equal(conf_profile_equal(a, &copy), 0);
	}
	copy = *a;
	copy.auth = CONF_AUTH_PASSWORD;
	assert_int_equal(conf_profile_equal(a, &copy), 0);
	copy = *a;
	copy.environment = CONF_ENV_O365_USGOV_DOD;
	assert_int_equal(conf_profile_equal(a, &copy), 0);
	copy = *a;
	copy.assertion_algorithm = CONF_ALG_RS256;
	assert_int_equal(conf_profile_equal(a, &copy), 0);
	copy = *a;
	copy.service = CONF_SERVICE_COMPLIANCE;
	assert_int_equal(conf_profile_equal(a, &copy), 0);
	copy = *a;
	copy.next = NULL;               /* list position is not configuration */
	assert_int_equal(conf_profile_equal(a, &copy), 1);
	conf_free(c1);
	conf_free(c2);
}

/* The shipped sample must load as it is; make runs the tests from the top directory. */
static void test_sample(void **state)
{
	char err[ERR_MAX] = "";
	struct conf *c = NULL;

	(void)state;
	if (access("conf/exod.conf", R_OK) != 0)
		skip();
	if (conf_load("conf/exod.conf", &c, err, sizeof(err)) != 0)
		fail_msg("sample: %s", err);
	assert_string_equal(c->socket, CONF_DEFAULT_SOCKET);
	assert_string_equal(c->state_dir, CONF_DEFAULT_STATE_DIR);
	assert_int_equal(c->socket_mode, 0660);
	assert_int_equal(c->log_level, LOG_INFO);
	assert_int_equal(c->nprofiles, 1);
	assert_int_equal(conf_find_profile(c, NULL)->auth, CONF_AUTH_DEVICE);
	conf_free(c);
}

static void test_names(void **state)
{
	(void)state;
	assert_string_equal(conf_auth_name(CONF_AUTH_MANAGED_IDENTITY), "managed_identity");
	assert_string_equal(conf_auth_name(CONF_AUTH_ACCESS_TOKEN), "access_token");
	assert_string_equal(conf_environment_name(CONF_ENV_O365_USGOV_DOD), "O365USGovDoD");
	assert_string_equal(conf_environment_name(CONF_ENV_O365_GERMANY), "O365GermanyCloud");
	assert_string_equal(conf_environment_name((enum conf_environment)99), "unknown");
	assert_string_equal(conf_service_name(CONF_SERVICE_EXCHANGE), "exchange");
	assert_string_equal(conf_service_name(CONF_SERVICE_COMPLIANCE), "compliance");
	assert_string_equal(conf_service_name((enum conf_service)9), "unknown");
}

/* service defaults to exchange; compliance takes every sign-in method, a GUID tenant for a user. */
static void test_service(void **state)
{
	struct conf *c;

	(void)state;
	c = load_ok("[profile x]\nauth = device\norganization = contoso.onmicrosoft.com\n"
		    "[profile s]\nauth = device\norganization = 6babcaad-604b-40ac-a9d7-9fd97c0b779f\n"
		    "service = Compliance\n"
		    "[profile m]\nauth = managed_identity\norganization = contoso.onmicrosoft.com\n"
		    "service = compliance\nenvironment = O365USGovDoD\n");
	assert_int_equal(c->profiles->service, CONF_SERVICE_EXCHANGE);
	assert_int_equal(c->profiles->next->service, CONF_SERVICE_COMPLIANCE);
	assert_int_equal(c->profiles->next->next->service, CONF_SERVICE_COMPLIANCE);
	conf_free(c);
}

static void test_roles(void **state)
{
	struct conf *c, *d;
	const struct conf_role *r;

	(void)state;
	c = load_ok("[role helpdesk]\n"
		    "groups = root, 4242\n"
		    "cmdlets = Get-*, Set-CASMailbox\n"
		    "profiles = b\n"
		    "[profile a]\nauth = device\norganization = c.example\n"
		    "cmdlets = Get-Mailbox ,Test-?APIConnectivity\n"
		    "[profile b]\nauth = device\norganization = c.example\n"
		    "[role all]\nusers = 1000\ncmdlets = *\n");
	assert_int_equal(c->nroles, 2);
	r = c->roles;
	assert_string_equal(r->name, "helpdesk");
	assert_null(r->users);
	assert_string_equal(r->groups, "root, 4242");
	assert_string_equal(r->cmdlets, "Get-*, Set-CASMailbox");
	assert_false(conf_role_applies(r, "a"));
	assert_true(conf_role_applies(r, "b"));
	assert_false(conf_role_applies(r, "bb"));
	assert_string_equal(r->next->name, "all");
	assert_true(conf_role_applies(r->next, "a"));
	assert_string_equal(c->profiles->cmdlets, "Get-Mailbox ,Test-?APIConnectivity");
	assert_null(c->profiles->next->cmdlets);
	/* Reload: a role change touches the profiles it applies to, and only those. */
	d = load_ok("[role helpdesk]\n"
		    "groups = root, 4242\n"
		    "cmdlets = Get-*\n"
		    "profiles = b\n"
		    "[profile a]\nauth = device\norganization = c.example\n"
		    "cmdlets = Get-Mailbox ,Test-?APIConnectivity\n"
		    "[profile b]\nauth = device\norganization = c.example\n"
		    "[role all]\nusers = 1000\ncmdlets = *\n");
	assert_true(conf_roles_equal(c, d, "a"));
	assert_false(conf_roles_equal(c, d, "b"));
	assert_true(conf_roles_equal(c, c, "b"));
	conf_free(d);
	d = load_ok("[profile a]\nauth = device\norganization = c.example\n");
	assert_false(conf_roles_equal(c, d, "a"));
	assert_true(conf_roles_equal(d, d, "a"));
	conf_free(d);
	conf_free(c);
}

static int count_item(void *arg, const char *item, size_t len)
{
	size_t *n = arg;

	(void)item;
	assert_true(len > 0);
	(*n)++;
	return 0;
}

static void test_list_each(void **state)
{
	size_t n = 0;

	(void)state;
	assert_int_equal(conf_list_each(" a ,b,\tc ", count_item, &n), 0);
	assert_int_equal(n, 3);
	n = 0;
	assert_int_equal(conf_list_each(NULL, count_item, &n), 0);
	assert_int_equal(n, 0);
}

static void test_default_profile(void **state)
{
	static const char two[] = "[profile a]\nauth = device\norganization = c.example\n"
				  "[profile b]\nauth = device\norganization = c.example\n";
	char text[512];
	struct conf *c;

	(void)state;
	c = load_ok(two);
	assert_null(c->default_profile);
	conf_free(c);
	/* [exod] may come before the profile it names, or after. */
	snprintf(text, sizeof(text), "[exod]\ndefault_profile = b\n%s", two);
	c = load_ok(text);
	assert_string_equal(c->default_profile, "b");
	conf_free(c);
	snprintf(text, sizeof(text), "%s[exod]\ndefault_profile = a\n", two);
	c = load_ok(text);
	assert_string_equal(c->default_profile, "a");
	conf_free(c);
	/* A name that is not configured is an error at the line of the key. */
	snprintf(text, sizeof(text), "[exod]\nlog_level = info\ndefault_profile = c\n%s", two);
	expect_error(text, "exod.conf:3: default_profile: no [profile c] in this file");
	expect_error("[exod]\ndefault_profile = a b\n[profile a]\nauth = device\norganization = c.example\n",
		     "exod.conf:2: default_profile: must be a profile name");
}

static int note_path(void *arg, const char *key, const char *path, enum conf_path_kind kind)
{
	char *seen = arg;
	size_t n = strlen(seen);

	snprintf(seen + n, 512 - n, "%s%s=%s;", kind == CONF_PATH_DIR ? "dir:" : "", key, path);
	return 0;
}

/* Loaders of files learn where each key was set, to name it as conf_load names its own errors. */
static void test_key_lines(void **state)
{
	struct conf *c = load_ok("[exod]\nsocket = /run/exod/other.sock\n"
				 "[profile cert]\n"
				 "auth = certificate\n"
				 "organization = c.example\n"
				 "app_id = 36ee4c6c-0812-40a2-b820-b22ebd02bce3\n"
				 "\n"
				 "certificate_file = /etc/exod/app.pem\n"
				 "client_secret_file = /etc/exod/unused\n"
				 "ca_file = /etc/exod/ca.pem\n"
				 "[profile store]\n"
				 "auth = certificate\n"
				 "organization = c.example\n"
				 "app_id = 36ee4c6c-0812-40a2-b820-b22ebd02bce3\n"
				 "certificate_thumbprint = abcdef0123456789abcdef0123456789abcdef01\n"
				 "certificate_store = /etc/exod/certs\n");
	const struct conf_profile *p = conf_find_profile(c, "cert");
	char err[ERR_MAX], seen[512] = "", want[ERR_MAX];

	(void)state;
	assert_int_equal(p->line, 3);
	assert_int_equal(conf_key_line(p, "certificate_file"), 8);
	assert_int_equal(conf_key_line(p, "ca_file"), 10);
	/* A key the profile does not set: its section. */
	assert_int_equal(conf_key_line(p, "certificate_key_file"), 3);
	assert_string_equal(p->source, cfgpath);
	assert_string_equal(p->socket, "/run/exod/other.sock");
	snprintf(err, sizeof(err), "/etc/exod/app.pem: No such file or directory");
	conf_key_error(p, "certificate_file", err, sizeof(err));
	snprintf(want, sizeof(want), "%s:8: certificate_file: /etc/exod/app.pem: No such file or directory",
		 cfgpath);
	assert_string_equal(err, want);
	/* Only the files the method uses: client_secret_file is not a certificate's. */
	assert_int_equal(conf_profile_each_path(p, note_path, seen), 0);
	assert_string_equal(seen, "certificate_file=/etc/exod/app.pem;ca_file=/etc/exod/ca.pem;");
	seen[0] = '\0';
	assert_int_equal(conf_profile_each_path(p->next, note_path, seen), 0);
	assert_string_equal(seen, "dir:certificate_store=/etc/exod/certs;");
	conf_free(c);
}

/* cache_key_file and cache_encryption: per profile, with [exod] giving the default. */
static void test_cache_keys(void **state)
{
	struct conf *c = load_ok("[profile early]\n"
				 "auth = device\n"
				 "organization = c.example\n"
				 "[exod]\n"
				 "cache_key_file = cache.key\n"
				 "cache_encryption = ON\n"
				 "[profile own]\n"
				 "auth = password\n"
				 "organization = c.example\n"
				 "user_principal_name = a@c.example\n"
				 "cache_key_file = /etc/exod/own.key\n"
				 "cache_encryption = off\n");
	const struct conf_profile *early = conf_find_profile(c, "early");
	const struct conf_profile *own = conf_find_profile(c, "own");
	struct conf *d;

	(void)state;
	/* [exod] may come after the profile it gives defaults to; errors point to [exod]'s lines. */
	assert_string_equal(early->cache_key_file, "cache.key");
	assert_int_equal(early->cache_encryption, 1);
	assert_int_equal(conf_key_line(early, "cache_key_file"), 5);
	assert_int_equal(conf_key_line(early, "cache_encryption"), 6);
	assert_string_equal(own->cache_key_file, "/etc/exod/own.key");
	assert_int_equal(own->cache_encryption, 0);
	assert_int_equal(conf_key_line(own, "cache_key_file"), 11);
	/* Without either: encryption on, no key (exod then says how to make one). */
	d = load_ok("[profile p]\nauth = device\norganization = c.example\n");
	assert_int_equal(d->profiles->cache_encryption, 1);
	assert_null(d->profiles->cache_key_file);
	assert_int_equal(d->cache_encryption, 1);
	/* A changed default changes the profiles that take it: a reload restarts them. */
	assert_false(conf_profile_equal(early, d->profiles));
	conf_free(d);
	d = load_ok("[exod]\ncache_key_file = cache.key\ncache_encryption = off\n"
		    "[profile early]\nauth = device\norganization = c.example\n");
	assert_false(conf_profile_equal(early, d->profiles));
	conf_free(d);
	d = load_ok("[exod]\ncache_key_file = cache.key\n"
		    "[profile early]\nauth = device\norganization = c.example\n");
	assert_true(conf_profile_equal(early, d->profiles));
	conf_free(d);
	conf_free(c);
	expect_error("[exod]\ncache_encryption = yes\n[profile p]\nauth = device\n"
		     "organization = c.example\n", "exod.conf:2: cache_encryption: must be on or off");
	expect_error("[profile p]\nauth = device\norganization = c.example\ncache_key_file = a/b\n",
		     "exod.conf:4: cache_key_file: must be an absolute path or a credential name");
}

/* [cluster]: the Redis address in both forms, the defaults, and each refusal with its line. */
static void test_cluster(void **state)
{
	static const char prof[] = "[profile p]\nauth = certificate\norganization = c.example\n"
				   "app_id = 36ee4c6c-0812-40a2-b820-b22ebd02bce3\n"
				   "certificate_file = /etc/exod/a.pfx\n";
	char text[1024], host[128], err[ERR_MAX], want[ERR_MAX];
	struct conf *c, *d;
	int port = -1;

	(void)state;
	c = load_ok(prof);
	assert_null(c->cluster);
	conf_free(c);
	snprintf(text, sizeof(text), "%s[cluster]\nredis = unix:/run/redis/redis.sock\n", prof);
	c = load_ok(text);
	assert_non_null(c->cluster);
	assert_string_equal(c->cluster->key_prefix, CONF_CLUSTER_PREFIX);
	assert_int_equal(c->cluster->lease_time, CONF_CLUSTER_LEASE);
	assert_int_equal(c->cluster->cluster_fallback, CONF_FALLBACK_LOCAL);
	assert_null(c->cluster->redis_password_file);
	assert_true(strlen(c->cluster->node) > 0);      /* the host name */
	assert_int_equal(conf_redis_address(c->cluster->redis, host, sizeof(host), &port), 0);
	assert_string_equal(host, "/run/redis/redis.sock");
	snprintf(text, sizeof(text), "[cluster]\nredis = tcp://[::1]:6380\nnode = web-1.a\n"
		 "key_prefix = t:x-\nlease_time = 2\ncluster_fallback = FAIL\n"
		 "redis_password_file = redis.pass\n%s", prof);
	d = load_ok(text);
	assert_string_equal(d->cluster->node, "web-1.a");
	assert_string_equal(d->cluster->key_prefix, "t:x-");
	assert_int_equal(d->cluster->lease_time, 2);
	assert_int_equal(d->cluster->cluster_fallback, CONF_FALLBACK_FAIL);
	assert_int_equal(conf_redis_address(d->cluster->redis, host, sizeof(host), &port), 1);
	assert_string_equal(host, "::1");
	assert_int_equal(port, 6380);
	assert_int_equal(conf_redis_address("tcp://10.1.2.3:6379", host, sizeof(host), &port), 1);
	assert_string_equal(host, "10.1.2.3");
	assert_true(conf_cluster_equal(d->cluster, d->cluster));
	assert_false(conf_cluster_equal(c->cluster, d->cluster));
	assert_false(conf_cluster_equal(NULL, d->cluster));
	assert_true(conf_cluster_equal(NULL, NULL));
	snprintf(err, sizeof(err), "No such file or directory");
	conf_cluster_key_error(d->cluster, "redis_password_file", err, sizeof(err));
	snprintf(want, sizeof(want), "%s:7: redis_password_file: No such file or directory", cfgpath);
	assert_string_equal(err, want);
	conf_free(d);
	conf_free(c);

	expect_error("[cluster]\nnode = a\n[profile p]\nauth = device\norganization = c.example\n",
		     "exod.conf:1: [cluster]: redis is required");
	expect_error("[cluster]\nredis = tcp://redis.example:6379\n", "exod.conf:2: redis: must be unix:/PATH");
	expect_error("[cluster]\nredis = tcp://127.0.0.1:0\n", "exod.conf:2: redis: must be");
	expect_error("[cluster]\nredis = tcp://::1:6379\n", "exod.conf:2: redis: must be");
	expect_error("[cluster]\nredis = unix:run/redis.sock\n", "exod.conf:2: redis: must be");
	expect_error("[cluster]\nredis = redis://127.0.0.1:6379\n", "exod.conf:2: redis: must be");
	expect_error("[cluster]\nredis = unix:/r.sock\nnode = a b\n", "exod.conf:3: node: must be 1 to 64");
	expect_error("[cluster]\nredis = unix:/r.sock\nkey_prefix = a b\n", "exod.conf:3: key_prefix: must be");
	expect_error("[cluster]\nredis = unix:/r.sock\nlease_time = 0\n", "exod.conf:3: lease_time: must be between 1 and 3600");
	expect_error("[cluster]\nredis = unix:/r.sock\ncluster_fallback = maybe\n",
		     "exod.conf:3: cluster_fallback: must be one of local, fail");
	expect_error("[cluster]\nredis = unix:/r.sock\nmax_connections = 3\n",
		     "exod.conf:3: max_connections: unknown key in [cluster]");
	expect_error("[cluster]\nredis = unix:/r.sock\n[cluster]\n", "exod.conf:3: [cluster]: duplicate section");
	expect_error("[cluster]\nredis = unix:/r.sock\nredis_password_file = ../p\n",
		     "exod.conf:3: redis_password_file: must be an absolute path or a credential name");
	/* A delegated sign-in in Redis is always sealed: plain text is refused where it is set. */
	expect_error("[cluster]\nredis = unix:/r.sock\n[profile p]\nauth = device\n"
		     "organization = c.example\ncache_encryption = off\n",
		     "exod.conf:6: profile p: cache_encryption = off: with [cluster]");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_full),
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_interactive),
		cmocka_unit_test(test_values),
		cmocka_unit_test(test_metrics_listen),
		cmocka_unit_test(test_crlf),
		cmocka_unit_test(test_comments),
		cmocka_unit_test(test_long_lines),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_missing_file),
		cmocka_unit_test(test_small_err_buffer),
		cmocka_unit_test(test_too_many_profiles),
		cmocka_unit_test(test_find_profile),
		cmocka_unit_test(test_profile_equal),
		cmocka_unit_test(test_service),
		cmocka_unit_test(test_sample),
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_roles),
		cmocka_unit_test(test_list_each),
		cmocka_unit_test(test_default_profile),
		cmocka_unit_test(test_key_lines),
		cmocka_unit_test(test_cache_keys),
		cmocka_unit_test(test_cluster),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
