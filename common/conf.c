/* exod.conf: inih splits key = value; sections, limits and every check are ours. */
#include "common/conf.h"
#include "common/log.h"
#include "common/sbuf.h"

#include <ctype.h>
#include <errno.h>
#include <ini.h>
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/un.h>
#include <unistd.h>

/* A key, its value, spacing and an inline comment. */
#define CONF_LINE_MAX (CONF_VALUE_MAX + 256)
#define CONF_WHY_MAX 256                /* bytes in one reason */
#define CONF_ERR_MAX 1024               /* bytes of a loader's message conf_key_error takes */
#define CONF_TENANT_MAX 253             /* a DNS name */
#define CONF_ACCOUNT_MAX 256            /* a user or group name in an access list */
#define CONF_SOCKET_MAX (sizeof(((struct sockaddr_un *)0)->sun_path))
#define CONF_THUMBPRINT_HEX 40          /* SHA-1 */
#define CONF_UTF8_BOM "\xef\xbb\xbf"
#define CONF_LISTEN_LOOPBACK "127.0.0.1"   /* metrics_listen given as a bare port */
#define CONF_LISTEN_MAX (INET6_ADDRSTRLEN + sizeof("[]:65535"))
#define CONF_PORT_MAX 65535

#define CONF_DEF_SOCKET_MODE 0660
#define CONF_DEF_MAX_CLIENTS 1024
#define CONF_DEF_MAX_CLIENTS_PER_UID 64
#define CONF_DEF_RESERVED_CLIENTS 16
#define CONF_DEF_CLIENT_TIMEOUT 30
#define CONF_DEF_SEND_TIMEOUT 600
#define CONF_DEF_MAX_PAGES 10000
#define CONF_DEF_PAGE_SIZE 1000
#define CONF_DEF_MAX_CONNECTIONS 3
#define CONF_DEF_QUEUE_LIMIT 100
#define CONF_DEF_QUEUE_TIMEOUT 120
#define CONF_DEF_REQUEST_TIMEOUT 960
#define CONF_DEF_REFRESH_MARGIN 600

#define M(a) (1u << (a))
#define M_ALL 0u
#define M_CERT M(CONF_AUTH_CERTIFICATE)
#define M_SECRET M(CONF_AUTH_SECRET)
#define M_DEVICE M(CONF_AUTH_DEVICE)
#define M_PASSWORD M(CONF_AUTH_PASSWORD)
#define M_MI M(CONF_AUTH_MANAGED_IDENTITY)
#define M_TOKEN M(CONF_AUTH_ACCESS_TOKEN)
#define M_INTERACTIVE M(CONF_AUTH_INTERACTIVE)
#define M_PERSON (M_DEVICE | M_PASSWORD | M_INTERACTIVE)
#define M_DELEGATED M_PERSON           /* sign-ins whose refresh token is kept on disk */

enum conf_store {
	STORE_STR,
	STORE_INT,
	STORE_AUTH,
	STORE_ENV,
	STORE_ALG,
	STORE_SERVICE,
	STORE_HTTP,
};

struct conf_key;
typedef int (*conf_parse_fn)(const struct conf_key *k, const char *val, void *field,
			     char *why, size_t whylen);

/* What a value names, for the checks made once it is loaded (conf_profile_each_path). */
enum conf_names {
	NAMES_VALUE,
	NAMES_FILE,
	NAMES_DIR,
};

struct conf_key {
	const char *name;
	conf_parse_fn parse;
	size_t offset;
	long min, max;
	enum conf_store store;
	unsigned methods;               /* auth methods that use the key; 0: all */
	enum conf_names names;
};

enum conf_section {
	SEC_NONE,
	SEC_EXOD,
	SEC_PROFILE,
	SEC_ROLE,
	SEC_CLUSTER,
};

struct conf_parse {
	struct conf *conf;
	FILE *fp;
	char *line;                     /* CONF_LINE_MAX + 1 bytes */
	char *long_value;               /* value of a line too long for inih */
	int lineno;
	enum conf_section sec;
	struct conf_profile *prof;      /* the current [profile NAME] */
	struct conf_profile **tail;
	struct conf_role *role;         /* the current [role NAME] */
	struct conf_role **role_tail;
	int sec_line;
	uint64_t seen;                  /* keys set in the current section */
	int exod_line[CONF_MAX_KEYS];   /* where each [exod] key was set */
	int exod_seen;
	int done;
	int failed;
	char *err;
	size_t errlen;
};

static const char *const conf_auth_names[] = {
	[CONF_AUTH_CERTIFICATE] = "certificate",
	[CONF_AUTH_SECRET] = "secret",
	[CONF_AUTH_DEVICE] = "device",
	[CONF_AUTH_PASSWORD] = "password",
	[CONF_AUTH_MANAGED_IDENTITY] = "managed_identity",
	[CONF_AUTH_ACCESS_TOKEN] = "access_token",
	[CONF_AUTH_INTERACTIVE] = "interactive",
};

static const char *const conf_env_names[] = {
	[CONF_ENV_O365_DEFAULT] = "O365Default",
	[CONF_ENV_O365_USGOV_GCCHIGH] = "O365USGovGCCHigh",
	[CONF_ENV_O365_USGOV_DOD] = "O365USGovDoD",
	[CONF_ENV_O365_GERMANY] = "O365GermanyCloud",
	[CONF_ENV_O365_CHINA] = "O365China",
};

static const char *const conf_service_names[] = {
	[CONF_SERVICE_EXCHANGE] = "exchange",
	[CONF_SERVICE_COMPLIANCE] = "compliance",
};

static const char *const conf_alg_names[] = {
	[CONF_ALG_PS256] = "PS256",
	[CONF_ALG_RS256] = "RS256",
};

static const char *const conf_http_names[] = {
	[CONF_HTTP_1_1] = "1.1",
	[CONF_HTTP_2] = "2",
};

static const char *const conf_fallback_names[] = {
	[CONF_FALLBACK_LOCAL] = "local",
	[CONF_FALLBACK_FAIL] = "fail",
};

static const char *const conf_level_names[] = {
	"error", "warning", "notice", "info", "debug",
};

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

/* Tenant segments that name no tenant: fine for sign-in, not for app-only or InvokeCommand. */
static const char *const conf_tenant_aliases[] = {
	"common", "organizations", "consumers",
};

/* ---- value parsers ---- */

static int conf_name_valid(const char *name);

static int conf_store_str(void *field, const char *val, char *why, size_t whylen)
{
	char **dst = field;
	char *s = strdup(val);

	if (s == NULL) {
		snprintf(why, whylen, "out of memory");
		return -1;
	}
	*dst = s;
	return 0;
}

static int conf_enum_index(const char *const *names, size_t n, const char *val)
{
	for (size_t i = 0; i < n; i++)
		if (strcasecmp(val, names[i]) == 0)
			return (int)i;
	return -1;
}

static void conf_enum_why(const char *const *names, size_t n, char *why, size_t whylen)
{
	size_t off = (size_t)snprintf(why, whylen, "must be one of");

	for (size_t i = 0; i < n && off < whylen; i++)
		off += (size_t)snprintf(why + off, whylen - off, "%s %s",
					i == 0 ? "" : ",", names[i]);
}

static int conf_parse_number(const char *val, int base, long *out)
{
	char *end;
	long v;

	/* strtol alone would accept blanks, a sign before a base-8 value, and overflow. */
	if (!isdigit((unsigned char)val[0]) && !(base == 10 && val[0] == '-'))
		return -1;
	errno = 0;
	v = strtol(val, &end, base);
	if (errno != 0 || end == val || *end != '\0')
		return -1;
	*out = v;
	return 0;
}

static int conf_parse_int(const struct conf_key *k, const char *val, void *field,
			  char *why, size_t whylen)
{
	long v;

	if (conf_parse_number(val, 10, &v) != 0 || v < k->min || v > k->max) {
		snprintf(why, whylen, "must be between %ld and %ld", k->min, k->max);
		return -1;
	}
	*(int *)field = (int)v;
	return 0;
}

static int conf_parse_octal(const struct conf_key *k, const char *val, void *field,
			    char *why, size_t whylen)
{
	long v;

	if (conf_parse_number(val, 8, &v) != 0 || v < k->min || v > k->max) {
		snprintf(why, whylen, "must be an octal mode between %04lo and %04lo",
			 (unsigned long)k->min, (unsigned long)k->max);
		return -1;
	}
	*(int *)field = (int)v;
	return 0;
}

static int conf_parse_auth(const struct conf_key *k, const char *val, void *field,
			   char *why, size_t whylen)
{
	int i = conf_enum_index(conf_auth_names, NELEM(conf_auth_names), val);

	(void)k;
	if (i < 0) {
		conf_enum_why(conf_auth_names, NELEM(conf_auth_names), why, whylen);
		return -1;
	}
	*(enum conf_auth *)field = (enum conf_auth)i;
	return 0;
}

static int conf_parse_env(const struct conf_key *k, const char *val, void *field,
			  char *why, size_t whylen)
{
	int i = conf_enum_index(conf_env_names, NELEM(conf_env_names), val);

	(void)k;
	if (i < 0) {
		conf_enum_why(conf_env_names, NELEM(conf_env_names), why, whylen);
		return -1;
	}
	*(enum conf_environment *)field = (enum conf_environment)i;
	return 0;
}

static int conf_parse_service(const struct conf_key *k, const char *val, void *field,
			      char *why, size_t whylen)
{
	int i = conf_enum_index(conf_service_names, NELEM(conf_service_names), val);

	(void)k;
	if (i < 0) {
		conf_enum_why(conf_service_names, NELEM(conf_service_names), why, whylen);
		return -1;
	}
	*(enum conf_service *)field = (enum conf_service)i;
	return 0;
}

static int conf_parse_alg(const struct conf_key *k, const char *val, void *field,
			  char *why, size_t whylen)
{
	int i = conf_enum_index(conf_alg_names, NELEM(conf_alg_names), val);

	(void)k;
	if (i < 0) {
		conf_enum_why(conf_alg_names, NELEM(conf_alg_names), why, whylen);
		return -1;
	}
	*(enum conf_assertion_alg *)field = (enum conf_assertion_alg)i;
	return 0;
}

static int conf_parse_http(const struct conf_key *k, const char *val, void *field,
			   char *why, size_t whylen)
{
	int i = conf_enum_index(conf_http_names, NELEM(conf_http_names), val);

	(void)k;
	if (i < 0) {
		conf_enum_why(conf_http_names, NELEM(conf_http_names), why, whylen);
		return -1;
	}
	*(enum conf_http_version *)field = (enum conf_http_version)i;
	return 0;
}

static int conf_parse_level(const struct conf_key *k, const char *val, void *field,
			    char *why, size_t whylen)
{
	int level = log_parse_level(val);

	(void)k;
	if (level < 0) {
		conf_enum_why(conf_level_names, NELEM(conf_level_names), why, whylen);
		return -1;
	}
	*(int *)field = level;
	return 0;
}

static int conf_parse_onoff(const struct conf_key *k, const char *val, void *field,
			    char *why, size_t whylen)
{
	(void)k;
	if (strcasecmp(val, "on") != 0 && strcasecmp(val, "off") != 0) {
		snprintf(why, whylen, "must be on or off");
		return -1;
	}
	*(int *)field = strcasecmp(val, "on") == 0;
	return 0;
}

static int conf_parse_path(const struct conf_key *k, const char *val, void *field,
			   char *why, size_t whylen)
{
	(void)k;
	if (val[0] != '/') {
		snprintf(why, whylen, "must be an absolute path");
		return -1;
	}
	return conf_store_str(field, val, why, whylen);
}

static int conf_parse_socket(const struct conf_key *k, const char *val, void *field,
			     char *why, size_t whylen)
{
	if (strlen(val) >= CONF_SOCKET_MAX) {
		snprintf(why, whylen, "must be shorter than %zu bytes", CONF_SOCKET_MAX);
		return -1;
	}
	return conf_parse_path(k, val, field, why, whylen);
}

/* A relative name is a systemd credential, looked up in $CREDENTIALS_DIRECTORY when read. */
static int conf_parse_secret_path(const struct conf_key *k, const char *val, void *field,
				  char *why, size_t whylen)
{
	(void)k;
	if (val[0] != '/' && (strchr(val, '/') != NULL || strcmp(val, ".") == 0 ||
			      strcmp(val, "..") == 0)) {
		snprintf(why, whylen, "must be an absolute path or a credential name without '/'");
		return -1;
	}
	return conf_store_str(field, val, why, whylen);
}

static int conf_is_hex(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!isxdigit((unsigned char)s[i]))
			return 0;
	return 1;
}

static int conf_is_guid(const char *s)
{
	static const size_t groups[] = { 8, 4, 4, 4, 12 };

	for (size_t i = 0; i < NELEM(groups); i++) {
		if (strnlen(s, groups[i]) != groups[i] || !conf_is_hex(s, groups[i]))
			return 0;
		s += groups[i];
		if (i + 1 < NELEM(groups) && *s++ != '-')
			return 0;
	}
	return *s == '\0';
}

static int conf_parse_guid(const struct conf_key *k, const char *val, void *field,
			   char *why, size_t whylen)
{
	(void)k;
	if (!conf_is_guid(val)) {
		snprintf(why, whylen, "must be a GUID (xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx)");
		return -1;
	}
	return conf_store_str(field, val, why, whylen);
}

/* The tenant goes into URL paths, so only a DNS name's characters pass. */
static int conf_parse_tenant(const struct conf_key *k, const char *val, void *field,
			     char *why, size_t whylen)
{
	size_t n = strspn(val, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-");

	(void)k;
	if (val[n] != '\0' || n > CONF_TENANT_MAX || val[0] == '.' || val[0] == '-') {
		snprintf(why, whylen, "must be a domain name or a tenant GUID");
		return -1;
	}
	return conf_store_str(field, val, why, whylen);
}

static int conf_parse_thumbprint(const struct conf_key *k, const char *val, void *field,
				 char *why, size_t whylen)
{
	size_t hex = 0;

	(void)k;
	for (const char *s = val; *s != '\0'; s++) {
		if (isxdigit((unsigned char)*s))
			hex++;
		else if (*s != ':')
			hex = CONF_THUMBPRINT_HEX + 1;
	}
	if (hex != CONF_THUMBPRINT_HEX) {
		snprintf(why, whylen, "must be %d hex digits (colons allowed)", CONF_THUMBPRINT_HEX);
		return -1;
	}
	return conf_store_str(field, val, why, whylen);
}

static int conf_is_printable(const char *s)
{
	for (; *s != '\0'; s++)
		if ((unsigned char)*s <= ' ' || (unsigned char)*s == 0x7f)
			return 0;
	return 1;
}

static int conf_parse_upn(const struct conf_key *k, const char *val, void *field,
			  char *why, size_t whylen)
{
	const char *at = strchr(val, '@');

	(void)k;
	if (at == NULL || at == val || at[1] == '\0' || strchr(at + 1, '@') != NULL ||
	    !conf_is_printable(val)) {
		snprintf(why, whylen, "must be user@domain");
		return -1;
	}
	return conf_store_str(field, val, why, whylen);
}

static int conf_parse_resource_id(const struct conf_key *k, const char *val, void *field,
				  char *why, size_t whylen)
{
	size_t n = strspn(val, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
			  "0123456789/_.()-");

	(void)k;
	if (val[0] != '/' || val[n] != '\0') {
		snprintf(why, whylen, "must be an Azure resource ID (/subscriptions/...)");
		return -1;
	}
	return conf_store_str(field, val, why, whylen);
}

static int conf_parse_list(const struct conf_key *k, const char *val, void *field,
			   char *why, size_t whylen)
{
	const char *s = val;

	(void)k;
	for (;;) {
		size_t lead = strspn(s, " \t");
		size_t n = strspn(s + lead, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
				  "0123456789_.@$-");
		size_t trail = strspn(s + lead + n, " \t");
		char next = s[lead + n + trail];

		if (n == 0 || n > CONF_ACCOUNT_MAX || (next != ',' && next != '\0')) {
			snprintf(why, whylen, "must be a comma-separated list of names or ids");
			return -1;
		}
		if (next == '\0')
			break;
		s += lead + n + trail + 1;
	}
	return conf_store_str(field, val, why, whylen);
}

/* A profile's name, as in [profile NAME]; that it is configured is checked once all are read. */
static int conf_parse_name(const struct conf_key *k, const char *val, void *field,
			   char *why, size_t whylen)
{
	(void)k;
	if (!conf_name_valid(val)) {
		snprintf(why, whylen, "must be a profile name (1 to %d of A-Z a-z 0-9 _ . -)",
			 CONF_NAME_MAX);
		return -1;
	}
	return conf_store_str(field, val, why, whylen);
}

/*
 * Cmdlet globs: Verb-Noun with * and ? (fnmatch, case-insensitive), e.g.
 * "Get-*, Set-Mailbox".  No brackets: a cmdlet name never needs them.
 */
static int conf_parse_globs(const struct conf_key *k, const char *val, void *field,
			    char *why, size_t whylen)
{
	const char *s = val;
	int n = 0;

	(void)k;
	for (;;) {
		size_t lead = strspn(s, " \t");
		size_t len = strspn(s + lead, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
				    "0123456789-*?");
		size_t trail = strspn(s + lead + len, " \t");
		char next = s[lead + len + trail];

		if (len == 0 || len > CONF_GLOB_MAX || (next != ',' && next != '\0')) {
			snprintf(why, whylen, "must be a comma-separated list of cmdlet names or globs "
				 "(letters, digits, -, * and ?; at most %d bytes each)", CONF_GLOB_MAX);
			return -1;
		}
		if (++n > CONF_MAX_GLOBS) {
			snprintf(why, whylen, "more than %d globs", CONF_MAX_GLOBS);
			return -1;
		}
		if (next == '\0')
			break;
		s += lead + len + trail + 1;
	}
	return conf_store_str(field, val, why, whylen);
}

/* The host part of scheme://[user@]host[:port]/..., for the loopback test. */
static int conf_url_is_loopback(const char *authority, size_t len)
{
	static const char *const hosts[] = { "127.0.0.1", "localhost", "[::1]" };
	const char *at = memrchr(authority, '@', len);
	size_t hlen;

	if (at != NULL) {
		len -= (size_t)(at + 1 - authority);
		authority = at + 1;
	}
	if (authority[0] == '[') {
		const char *rb = memchr(authority, ']', len);

		hlen = rb == NULL ? len : (size_t)(rb + 1 - authority);
	} else {
		const char *colon = memchr(authority, ':', len);

		hlen = colon == NULL ? len : (size_t)(colon - authority);
	}
	for (size_t i = 0; i < NELEM(hosts); i++)
		if (hlen == strlen(hosts[i]) && strncasecmp(authority, hosts[i], hlen) == 0)
			return 1;
	return 0;
}

/* Returns 1 for https, 2 for http on loopback, 3 for http elsewhere, 0 if no URL. */
static int conf_url_kind(const char *val)
{
	const char *rest;
	size_t alen;

	if (strncasecmp(val, "https://", 8) == 0)
		rest = val + 8;
	else if (strncasecmp(val, "http://", 7) == 0)
		rest = val + 7;
	else
		return 0;
	alen = strcspn(rest, "/?#");
	if (alen == 0 || !conf_is_printable(val))
		return 0;
	if (rest == val + 8)
		return 1;
	return conf_url_is_loopback(rest, alen) ? 2 : 3;
}

/* Exchange and Entra carry tokens: plain http only to a local test server. */
static int conf_parse_https_url(const struct conf_key *k, const char *val, void *field,
				char *why, size_t whylen)
{
	int kind = conf_url_kind(val);

	(void)k;
	if (kind != 1 && kind != 2) {
		snprintf(why, whylen, "must be an https:// URL (http:// only for 127.0.0.1, [::1] or localhost)");
		return -1;
	}
	return conf_store_str(field, val, why, whylen);
}

/* Proxies and the managed identity endpoint (IMDS is http://169.254.169.254) may be plain http. */
static int conf_parse_http_url(const struct conf_key *k, const char *val, void *field,
			       char *why, size_t whylen)
{
	(void)k;
	if (conf_url_kind(val) == 0) {
		snprintf(why, whylen, "must be an http:// or https:// URL");
		return -1;
	}
	return conf_store_str(field, val, why, whylen);
}

/*
 * "ADDRESS:PORT" or "[IPv6]:PORT" into the address (without brackets) and
 * the port's text; 1 for IPv6.  No name lookups: what exod binds to is
 * what the file says, whatever DNS says at start-up.
 */
static int conf_split_listen(const char *val, char *host, size_t hostlen, const char **port)
{
	const char *colon = strrchr(val, ':');
	const char *start = val;
	size_t n;
	int v6 = val[0] == '[';

	if (colon == NULL)
		return -1;
	if (v6) {
		start = val + 1;
		if (colon == start || colon[-1] != ']')
			return -1;
		n = (size_t)(colon - 1 - start);
	} else {
		/* An unbracketed IPv6 address has colons of its own: ambiguous with the port. */
		if (strchr(val, ':') != colon)
			return -1;
		n = (size_t)(colon - start);
	}
	if (n == 0 || n >= hostlen)
		return -1;
	memcpy(host, start, n);
	host[n] = '\0';
	*port = colon + 1;
	return v6;
}

/* metrics_listen: a bare PORT is 127.0.0.1:PORT; stored in the form of conf.h. */
static int conf_parse_listen(const struct conf_key *k, const char *val, void *field,
			     char *why, size_t whylen)
{
	char host[INET6_ADDRSTRLEN] = CONF_LISTEN_LOOPBACK;
	char norm[CONF_LISTEN_MAX];
	struct in6_addr addr;
	const char *port = val;
	int v6 = 0;
	long n;

	(void)k;
	if (val[strspn(val, "0123456789")] != '\0')
		v6 = conf_split_listen(val, host, sizeof(host), &port);
	if (v6 < 0 || conf_parse_number(port, 10, &n) != 0 || n < 1 || n > CONF_PORT_MAX ||
	    inet_pton(v6 ? AF_INET6 : AF_INET, host, &addr) != 1) {
		snprintf(why, whylen, "must be ADDRESS:PORT, [IPv6]:PORT or a PORT alone (on %s): "
			 "a numeric address and a port from 1 to %d", CONF_LISTEN_LOOPBACK, CONF_PORT_MAX);
		return -1;
	}
	snprintf(norm, sizeof(norm), v6 ? "[%s]:%ld" : "%s:%ld", host, n);
	return conf_store_str(field, norm, why, whylen);
}

/* ---- [cluster] values ---- */

#define CONF_REDIS_UNIX "unix:"
#define CONF_REDIS_TCP "tcp://"
#define CONF_PREFIX_MAX 64              /* bytes of key_prefix */

/* tcp://ADDRESS:PORT's numeric address and port: no name, so no DNS wait in the event loop. */
static int conf_redis_tcp(const char *val, char *host, size_t hostlen, int *port)
{
	char addr[INET6_ADDRSTRLEN];
	struct in6_addr bin;
	const char *p = NULL;
	long n;
	int v6 = conf_split_listen(val, addr, sizeof(addr), &p);

	if (v6 < 0 || conf_parse_number(p, 10, &n) != 0 || n < 1 || n > CONF_PORT_MAX ||
	    inet_pton(v6 ? AF_INET6 : AF_INET, addr, &bin) != 1 || strlen(addr) >= hostlen)
		return -1;
	memcpy(host, addr, strlen(addr) + 1);
	*port = (int)n;
	return 1;
}

int conf_redis_address(const char *redis, char *host, size_t hostlen, int *port)
{
	size_t ulen = strlen(CONF_REDIS_UNIX);

	*port = 0;
	if (strncmp(redis, CONF_REDIS_UNIX, ulen) == 0) {
		const char *path = redis + ulen;

		if (path[0] != '/' || strlen(path) >= CONF_SOCKET_MAX || strlen(path) >= hostlen ||
		    !conf_is_printable(path))
			return -1;
		memcpy(host, path, strlen(path) + 1);
		return 0;
	}
	if (strncmp(redis, CONF_REDIS_TCP, strlen(CONF_REDIS_TCP)) == 0)
		return conf_redis_tcp(redis + strlen(CONF_REDIS_TCP), host, hostlen, port);
	return -1;
}

static int conf_parse_redis(const struct conf_key *k, const char *val, void *field,
			    char *why, size_t whylen)
{
	char host[CONF_SOCKET_MAX];
	int port;

	(void)k;
	if (conf_redis_address(val, host, sizeof(host), &port) < 0) {
		snprintf(why, whylen, "must be unix:/PATH (shorter than %zu bytes) or "
			 "tcp://ADDRESS:PORT with a numeric address (tcp://127.0.0.1:6379, "
			 "tcp://[::1]:6379)", CONF_SOCKET_MAX);
		return -1;
	}
	return conf_store_str(field, val, why, whylen);
}

/* A node's name goes into Redis members and status: as tame as a profile's. */
static int conf_parse_node(const struct conf_key *k, const char *val, void *field,
			   char *why, size_t whylen)
{
	(void)k;
	if (!conf_name_valid(val)) {
		snprintf(why, whylen, "must be 1 to %d of A-Z a-z 0-9 _ . -", CONF_NAME_MAX);
		return -1;
	}
	return conf_store_str(field, val, why, whylen);
}

static int conf_parse_prefix(const struct conf_key *k, const char *val, void *field,
			     char *why, size_t whylen)
{
	size_t n = strspn(val, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
			  "0123456789_.:-");

	(void)k;
	if (val[n] != '\0' || n > CONF_PREFIX_MAX) {
		snprintf(why, whylen, "must be 1 to %d of A-Z a-z 0-9 _ . : -", CONF_PREFIX_MAX);
		return -1;
	}
	return conf_store_str(field, val, why, whylen);
}

static int conf_parse_fallback(const struct conf_key *k, const char *val, void *field,
			       char *why, size_t whylen)
{
	int i = conf_enum_index(conf_fallback_names, NELEM(conf_fallback_names), val);

	(void)k;
	if (i < 0) {
		conf_enum_why(conf_fallback_names, NELEM(conf_fallback_names), why, whylen);
		return -1;
	}
	*(enum conf_fallback *)field = (enum conf_fallback)i;
	return 0;
}

/* ---- key tables ---- */

#define XK(n, fn, st, lo, hi) { #n, fn, offsetof(struct conf, n), lo, hi, st, M_ALL, NAMES_VALUE }
#define PKN(n, fn, st, lo, hi, m, nm) { #n, fn, offsetof(struct conf_profile, n), lo, hi, st, m, nm }
#define PK(n, fn, st, lo, hi, m) PKN(n, fn, st, lo, hi, m, NAMES_VALUE)
#define PS(n, fn, m) PK(n, fn, STORE_STR, 0, 0, m)
#define PF(n, fn, m) PKN(n, fn, STORE_STR, 0, 0, m, NAMES_FILE)

static const struct conf_key conf_exod_keys[] = {
	XK(socket, conf_parse_socket, STORE_STR, 0, 0),
	XK(socket_mode, conf_parse_octal, STORE_INT, 0, 0777),
	XK(state_dir, conf_parse_path, STORE_STR, 0, 0),
	XK(log_level, conf_parse_level, STORE_INT, 0, 0),
	XK(max_clients, conf_parse_int, STORE_INT, 1, 100000),
	XK(max_clients_per_uid, conf_parse_int, STORE_INT, 1, 100000),
	XK(reserved_clients, conf_parse_int, STORE_INT, 0, 100000),
	XK(client_timeout, conf_parse_int, STORE_INT, 1, 3600),
	XK(send_timeout, conf_parse_int, STORE_INT, 0, 86400),
	XK(metrics_listen, conf_parse_listen, STORE_STR, 0, 0),
	XK(default_profile, conf_parse_name, STORE_STR, 0, 0),
	XK(cache_key_file, conf_parse_secret_path, STORE_STR, 0, 0),
	XK(cache_encryption, conf_parse_onoff, STORE_INT, 0, 1),
};

static const struct conf_key conf_profile_keys[] = {
	PS(organization, conf_parse_tenant, M_ALL),
	PK(environment, conf_parse_env, STORE_ENV, 0, 0, M_ALL),
	PK(service, conf_parse_service, STORE_SERVICE, 0, 0, M_ALL),
	PK(auth, conf_parse_auth, STORE_AUTH, 0, 0, M_ALL),
	PS(app_id, conf_parse_guid, M_CERT | M_SECRET | M_PERSON),
	PF(certificate_file, conf_parse_secret_path, M_CERT),
	PF(certificate_key_file, conf_parse_secret_path, M_CERT),
	PF(certificate_password_file, conf_parse_secret_path, M_CERT),
	PS(certificate_thumbprint, conf_parse_thumbprint, M_CERT),
	PKN(certificate_store, conf_parse_path, STORE_STR, 0, 0, M_CERT, NAMES_DIR),
	PK(assertion_algorithm, conf_parse_alg, STORE_ALG, 0, 0, M_CERT),
	PF(client_secret_file, conf_parse_secret_path, M_SECRET),
	PS(user_principal_name, conf_parse_upn, M_PERSON | M_TOKEN),
	PF(password_file, conf_parse_secret_path, M_PASSWORD),
	PS(managed_identity_client_id, conf_parse_guid, M_MI),
	PS(managed_identity_object_id, conf_parse_guid, M_MI),
	PS(managed_identity_resource_id, conf_parse_resource_id, M_MI),
	PS(managed_identity_endpoint, conf_parse_http_url, M_MI),
	PF(access_token_file, conf_parse_secret_path, M_TOKEN),
	PS(delegated_organization, conf_parse_tenant, M_ALL),
	PS(connection_uri, conf_parse_https_url, M_ALL),
	PS(authority_uri, conf_parse_https_url, M_CERT | M_SECRET | M_PERSON),
	PF(ca_file, conf_parse_path, M_ALL),
	PS(proxy, conf_parse_http_url, M_ALL),
	PK(http_version, conf_parse_http, STORE_HTTP, 0, 0, M_ALL),
	PK(page_size, conf_parse_int, STORE_INT, 1, 1000, M_ALL),
	PK(max_pages, conf_parse_int, STORE_INT, 1, 1000000, M_ALL),
	PK(max_connections, conf_parse_int, STORE_INT, 1, 64, M_ALL),
	PK(queue_limit, conf_parse_int, STORE_INT, 0, 100000, M_ALL),
	PK(queue_timeout, conf_parse_int, STORE_INT, 1, 86400, M_ALL),
	PK(request_timeout, conf_parse_int, STORE_INT, 1, 86400, M_ALL),
	PK(refresh_margin, conf_parse_int, STORE_INT, 0, 86400, M_ALL),
	PS(allow_users, conf_parse_list, M_ALL),
	PS(allow_groups, conf_parse_list, M_ALL),
	PS(read_only_users, conf_parse_list, M_ALL),
	PS(read_only_groups, conf_parse_list, M_ALL),
	PS(cmdlets, conf_parse_globs, M_ALL),
	/* Read by cache.c at start, which says how to make a missing key. */
	PS(cache_key_file, conf_parse_secret_path, M_DELEGATED),
	PK(cache_encryption, conf_parse_onoff, STORE_INT, 0, 1, M_DELEGATED),
};

#define RK(n, fn) { #n, fn, offsetof(struct conf_role, n), 0, 0, STORE_STR, M_ALL, NAMES_VALUE }

static const struct conf_key conf_role_keys[] = {
	RK(users, conf_parse_list),
	RK(groups, conf_parse_list),
	RK(cmdlets, conf_parse_globs),
	RK(profiles, conf_parse_list),
};

#define CK(n, fn, st, lo, hi) { #n, fn, offsetof(struct conf_cluster, n), lo, hi, st, M_ALL, NAMES_VALUE }

static const struct conf_key conf_cluster_keys[] = {
	CK(redis, conf_parse_redis, STORE_STR, 0, 0),
	CK(redis_password_file, conf_parse_secret_path, STORE_STR, 0, 0),
	CK(node, conf_parse_node, STORE_STR, 0, 0),
	CK(key_prefix, conf_parse_prefix, STORE_STR, 0, 0),
	CK(lease_time, conf_parse_int, STORE_INT, 1, 3600),
	CK(cluster_fallback, conf_parse_fallback, STORE_INT, 0, 0),
};

_Static_assert(NELEM(conf_cluster_keys) <= CONF_CLUSTER_KEYS, "key_line has a slot for each key");
_Static_assert(NELEM(conf_profile_keys) <= 64, "seen mask is 64 bits");
_Static_assert(NELEM(conf_profile_keys) <= CONF_MAX_KEYS, "key_line has a slot for each key");
_Static_assert(NELEM(conf_exod_keys) <= CONF_MAX_KEYS, "exod_line has a slot for each key");

static const struct conf_key *conf_key_find(const struct conf_key *keys, size_t n,
					    const char *name, size_t *index)
{
	for (size_t i = 0; i < n; i++) {
		if (strcmp(keys[i].name, name) == 0) {
			*index = i;
			return &keys[i];
		}
	}
	return NULL;
}

static size_t conf_key_index(const char *name)
{
	size_t i = 0;

	conf_key_find(conf_profile_keys, NELEM(conf_profile_keys), name, &i);
	return i;
}

#define FIELD(base, k) ((char *)(base) + (k)->offset)
#define STR_FIELD(base, k) (*(char **)FIELD(base, k))
#define CFIELD(base, k) ((const char *)(base) + (k)->offset)
#define CSTR_FIELD(base, k) (*(char *const *)CFIELD(base, k))

/* ---- errors ---- */

static void conf_fail(struct conf_parse *p, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void conf_fail(struct conf_parse *p, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (p->failed)
		return;
	p->failed = 1;
	n = snprintf(p->err, p->errlen, "%s:%d: ", p->conf->path, p->lineno);
	if (n < 0 || (size_t)n >= p->errlen)
		return;
	va_start(ap, fmt);
	/* clang-tidy 14 misreads glibc's va_list after va_start. */
	/* NOLINTNEXTLINE(clang-analyzer-valist.Uninitialized) */
	vsnprintf(p->err + n, p->errlen - (size_t)n, fmt, ap);
	va_end(ap);
}

static int conf_profile_fail(struct conf_parse *p, const char *why)
{
	int line = p->lineno;

	p->lineno = p->sec_line;
	conf_fail(p, "profile %s: %s", p->prof->name, why);
	p->lineno = line;
	return -1;
}

/* ---- profiles ---- */

static void conf_free_str(char *s)
{
	if (s == NULL)
		return;
	/* A proxy URL may hold a password; wiping every value costs nothing. */
	sbuf_wipe(s, strlen(s));
	free(s);
}

static void conf_profile_free(struct conf_profile *pr)
{
	for (size_t i = 0; i < NELEM(conf_profile_keys); i++)
		if (conf_profile_keys[i].store == STORE_STR)
			conf_free_str(STR_FIELD(pr, &conf_profile_keys[i]));
	free(pr->name);
	free(pr);
}

static struct conf_profile *conf_profile_new(const char *name)
{
	struct conf_profile *pr = calloc(1, sizeof(*pr));

	if (pr == NULL || (pr->name = strdup(name)) == NULL) {
		free(pr);
		return NULL;
	}
	pr->environment = CONF_ENV_O365_DEFAULT;
	pr->assertion_algorithm = CONF_ALG_PS256;
	pr->page_size = CONF_DEF_PAGE_SIZE;
	pr->max_pages = CONF_DEF_MAX_PAGES;
	pr->max_connections = CONF_DEF_MAX_CONNECTIONS;
	pr->queue_limit = CONF_DEF_QUEUE_LIMIT;
	pr->queue_timeout = CONF_DEF_QUEUE_TIMEOUT;
	pr->request_timeout = CONF_DEF_REQUEST_TIMEOUT;
	pr->refresh_margin = CONF_DEF_REFRESH_MARGIN;
	pr->cache_encryption = -1;      /* [exod]'s, once the whole file is read */
	return pr;
}

static int conf_is_alias(const char *tenant)
{
	for (size_t i = 0; i < NELEM(conf_tenant_aliases); i++)
		if (strcasecmp(tenant, conf_tenant_aliases[i]) == 0)
			return 1;
	return 0;
}

static int conf_check_certificate(struct conf_parse *p, const struct conf_profile *pr)
{
	int by_file = pr->certificate_file != NULL;
	int by_store = pr->certificate_thumbprint != NULL || pr->certificate_store != NULL;

	if (by_file && by_store)
		return conf_profile_fail(p, "certificate_file excludes certificate_thumbprint and certificate_store");
	if (!by_file && (pr->certificate_thumbprint == NULL || pr->certificate_store == NULL))
		return conf_profile_fail(p, "auth = certificate needs certificate_file, or certificate_thumbprint and certificate_store");
	if (pr->certificate_key_file != NULL && !by_file)
		return conf_profile_fail(p, "certificate_key_file needs certificate_file");
	return 0;
}

static int conf_check_method(struct conf_parse *p, struct conf_profile *pr)
{
	int mi_ids = (pr->managed_identity_client_id != NULL) +
		     (pr->managed_identity_object_id != NULL) +
		     (pr->managed_identity_resource_id != NULL);

	switch (pr->auth) {
	case CONF_AUTH_CERTIFICATE:
		return conf_check_certificate(p, pr);
	case CONF_AUTH_SECRET:
		if (pr->client_secret_file == NULL)
			return conf_profile_fail(p, "auth = secret needs client_secret_file");
		return 0;
	case CONF_AUTH_PASSWORD:
		if (pr->user_principal_name == NULL)
			return conf_profile_fail(p, "auth = password needs user_principal_name");
		if (pr->organization != NULL && (strcasecmp(pr->organization, "common") == 0 ||
						 strcasecmp(pr->organization, "consumers") == 0))
			return conf_profile_fail(p, "auth = password cannot use organization = common or consumers");
		return 0;
	case CONF_AUTH_MANAGED_IDENTITY:
		if (mi_ids > 1)
			return conf_profile_fail(p, "at most one of managed_identity_client_id, managed_identity_object_id and managed_identity_resource_id");
		return 0;
	case CONF_AUTH_ACCESS_TOKEN:
		if (pr->access_token_file == NULL)
			return conf_profile_fail(p, "auth = access_token needs access_token_file");
		return 0;
	case CONF_AUTH_DEVICE:
	case CONF_AUTH_INTERACTIVE:
		return 0;
	}
	return 0;
}

/*
 * Every profile needs a tenant: the InvokeCommand URL names it.  App-only
 * sign-in also requests its token in that tenant, so it must be the
 * organization itself, and a placeholder like "common" never works.
 */
static int conf_check_tenant(struct conf_parse *p, const struct conf_profile *pr)
{
	unsigned app_only = M_CERT | M_SECRET | M_MI;
	char why[CONF_WHY_MAX];

	if (pr->app_id == NULL && (pr->auth == CONF_AUTH_CERTIFICATE || pr->auth == CONF_AUTH_SECRET)) {
		snprintf(why, sizeof(why), "auth = %s needs app_id", conf_auth_name(pr->auth));
		return conf_profile_fail(p, why);
	}
	if (pr->organization != NULL && conf_is_alias(pr->organization))
		return conf_profile_fail(p, "organization must name the tenant (its domain or GUID), not common, organizations or consumers");
	if (pr->organization == NULL && (app_only & M(pr->auth))) {
		snprintf(why, sizeof(why), "auth = %s needs organization (the tenant's domain or GUID)",
			 conf_auth_name(pr->auth));
		return conf_profile_fail(p, why);
	}
	if (pr->organization == NULL && pr->delegated_organization == NULL) {
		snprintf(why, sizeof(why), "auth = %s needs organization or delegated_organization",
			 conf_auth_name(pr->auth));
		return conf_profile_fail(p, why);
	}
	return 0;
}

/*
 * Security & Compliance: its front door picks the tenant's region from
 * the routing hint, which must name the tenant's domain
 * (exo-protocol.md §1.2); app-only calls and a partner's calls anchor on
 * the tenant's system mailbox, so that tenant must be a domain.  No
 * endpoint is known for the closed German cloud (§1.2 has no row).
 */
static int conf_check_service(struct conf_parse *p, const struct conf_profile *pr)
{
	unsigned app_only = M_CERT | M_SECRET | M_MI;
	const char *tenant = pr->delegated_organization != NULL ? pr->delegated_organization
								 : pr->organization;
	char why[CONF_WHY_MAX];

	if (pr->service != CONF_SERVICE_COMPLIANCE)
		return 0;
	if (pr->environment == CONF_ENV_O365_GERMANY)
		return conf_profile_fail(p, "service = compliance: Security & Compliance has no "
					 "known endpoint in O365GermanyCloud");
	if ((pr->delegated_organization != NULL || (app_only & M(pr->auth))) && tenant != NULL &&
	    conf_is_guid(tenant)) {
		snprintf(why, sizeof(why), "service = compliance routes on the tenant's domain: %s "
			 "must be its domain (contoso.onmicrosoft.com), not its GUID",
			 pr->delegated_organization != NULL ? "delegated_organization" : "organization");
		return conf_profile_fail(p, why);
	}
	return 0;
}

/* A key the method ignores is a likely mistake, but switching methods should not need edits. */
static void conf_warn_unused(const struct conf_parse *p, const struct conf_profile *pr)
{
	for (size_t i = 0; i < NELEM(conf_profile_keys); i++) {
		const struct conf_key *k = &conf_profile_keys[i];

		if ((p->seen & ((uint64_t)1 << i)) && k->methods != M_ALL &&
		    !(k->methods & M(pr->auth)))
			log_warn("%s:%d: profile %s: %s is not used with auth = %s",
				 p->conf->path, p->sec_line, pr->name, k->name,
				 conf_auth_name(pr->auth));
	}
}

static int conf_check_profile(struct conf_parse *p, struct conf_profile *pr)
{
	if (!(p->seen & ((uint64_t)1 << conf_key_index("auth"))))
		return conf_profile_fail(p, "auth is required");
	if (conf_check_method(p, pr) != 0 || conf_check_tenant(p, pr) != 0 ||
	    conf_check_service(p, pr) != 0)
		return -1;
	conf_warn_unused(p, pr);
	if (pr->app_id == NULL && conf_auth_delegated(pr->auth) &&
	    (pr->app_id = strdup(CONF_DEVICE_APP_ID)) == NULL)
		return conf_profile_fail(p, "out of memory");
	return 0;
}

/* ---- roles ---- */

static void conf_role_free(struct conf_role *r)
{
	for (size_t i = 0; i < NELEM(conf_role_keys); i++)
		conf_free_str(STR_FIELD(r, &conf_role_keys[i]));
	free(r->name);
	free(r);
}

static int conf_role_fail(struct conf_parse *p, const char *why)
{
	int line = p->lineno;

	p->lineno = p->sec_line;
	conf_fail(p, "role %s: %s", p->role->name, why);
	p->lineno = line;
	return -1;
}

static int conf_check_role(struct conf_parse *p, const struct conf_role *r)
{
	if (r->cmdlets == NULL)
		return conf_role_fail(p, "cmdlets is required (the cmdlets the role may run)");
	if (r->users == NULL && r->groups == NULL)
		return conf_role_fail(p, "users or groups is required (who has the role)");
	return 0;
}

static int conf_role_open(struct conf_parse *p, const char *name)
{
	struct conf_role *r;

	if (!conf_name_valid(name)) {
		conf_fail(p, "[role %.*s]: the name must be 1 to %d of A-Z a-z 0-9 _ . -",
			  CONF_NAME_MAX, name, CONF_NAME_MAX);
		return -1;
	}
	for (r = p->conf->roles; r != NULL; r = r->next) {
		if (strcmp(r->name, name) == 0) {
			conf_fail(p, "[role %s]: duplicate role", name);
			return -1;
		}
	}
	if (p->conf->nroles >= CONF_MAX_ROLES) {
		conf_fail(p, "[role %s]: more than %d roles", name, CONF_MAX_ROLES);
		return -1;
	}
	r = calloc(1, sizeof(*r));
	if (r == NULL || (r->name = strdup(name)) == NULL) {
		free(r);
		conf_fail(p, "out of memory");
		return -1;
	}
	*p->role_tail = r;
	p->role_tail = &r->next;
	p->conf->nroles++;
	p->role = r;
	p->sec = SEC_ROLE;
	return 0;
}

static int conf_name_in_list(void *arg, const char *item, size_t len)
{
	const char *name = arg;

	return strlen(name) == len && memcmp(name, item, len) == 0;
}

static int conf_profile_named(void *arg, const char *item, size_t len)
{
	const struct conf *c = arg;

	for (const struct conf_profile *pr = c->profiles; pr != NULL; pr = pr->next)
		if (strlen(pr->name) == len && memcmp(pr->name, item, len) == 0)
			return 0;
	return 1;
}

/* Every profile a role names must exist: a typo would silently grant nothing. */
static int conf_check_role_profiles(const struct conf *c, char *err, size_t errlen)
{
	for (const struct conf_role *r = c->roles; r != NULL; r = r->next) {
		if (r->profiles != NULL && conf_list_each(r->profiles, conf_profile_named,
							  (void *)c) != 0) {
			snprintf(err, errlen, "%s: role %s: profiles names a profile that is not "
				 "configured: %.256s", c->path, r->name, r->profiles);
			return -1;
		}
	}
	return 0;
}

/* ---- [cluster] ---- */

static void conf_cluster_free(struct conf_cluster *cc)
{
	if (cc == NULL)
		return;
	for (size_t i = 0; i < NELEM(conf_cluster_keys); i++)
		if (conf_cluster_keys[i].store == STORE_STR)
			conf_free_str(STR_FIELD(cc, &conf_cluster_keys[i]));
	free(cc);
}

static int conf_cluster_open(struct conf_parse *p)
{
	struct conf_cluster *cc;

	if (p->conf->cluster != NULL) {
		conf_fail(p, "[cluster]: duplicate section");
		return -1;
	}
	cc = calloc(1, sizeof(*cc));
	if (cc == NULL) {
		conf_fail(p, "out of memory");
		return -1;
	}
	cc->lease_time = CONF_CLUSTER_LEASE;
	cc->cluster_fallback = CONF_FALLBACK_LOCAL;
	cc->source = p->conf->path;
	cc->line = p->lineno;
	p->conf->cluster = cc;
	p->sec = SEC_CLUSTER;
	return 0;
}

static int conf_check_cluster(struct conf_parse *p, const struct conf_cluster *cc)
{
	int line = p->lineno;

	if (cc->redis != NULL)
		return 0;
	p->lineno = p->sec_line;
	conf_fail(p, "[cluster]: redis is required (unix:/run/redis/redis.sock or "
		  "tcp://ADDRESS:PORT)");
	p->lineno = line;
	return -1;
}

/*
 * What [cluster] leaves out: the node is the host name, and keys start
 * with CONF_CLUSTER_PREFIX.  A delegated profile's sign-in goes to Redis
 * sealed under its cache_key_file, never in plain text.
 */
static int conf_cluster_finish(struct conf_parse *p)
{
	struct conf_cluster *cc = p->conf->cluster;
	char host[HOST_NAME_MAX + 1] = "";

	if (cc == NULL)
		return 0;
	if (cc->node == NULL) {
		if (gethostname(host, sizeof(host)) < 0 || !conf_name_valid(host)) {
			p->lineno = cc->line;
			conf_fail(p, "[cluster]: the host name \"%.64s\" cannot name this node; set "
				  "node (1 to %d of A-Z a-z 0-9 _ . -)", host, CONF_NAME_MAX);
			return -1;
		}
		cc->node = strdup(host);
	}
	if (cc->key_prefix == NULL)
		cc->key_prefix = strdup(CONF_CLUSTER_PREFIX);
	if (cc->node == NULL || cc->key_prefix == NULL) {
		conf_fail(p, "out of memory");
		return -1;
	}
	for (const struct conf_profile *pr = p->conf->profiles; pr != NULL; pr = pr->next) {
		if (conf_auth_delegated(pr->auth) && !pr->cache_encryption) {
			p->lineno = conf_key_line(pr, "cache_encryption");
			conf_fail(p, "profile %s: cache_encryption = off: with [cluster], a delegated "
				  "profile's sign-in is kept in Redis, and only sealed under "
				  "cache_key_file (the same key on every node)", pr->name);
			return -1;
		}
	}
	return 0;
}

/* ---- sections ---- */

static int conf_section_close(struct conf_parse *p)
{
	if (p->sec == SEC_PROFILE && conf_check_profile(p, p->prof) != 0)
		return -1;
	if (p->sec == SEC_ROLE && conf_check_role(p, p->role) != 0)
		return -1;
	if (p->sec == SEC_CLUSTER && conf_check_cluster(p, p->conf->cluster) != 0)
		return -1;
	p->sec = SEC_NONE;
	p->prof = NULL;
	p->role = NULL;
	p->seen = 0;
	return 0;
}

static int conf_name_valid(const char *name)
{
	size_t n = strspn(name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
			  "0123456789_.-");

	return n >= 1 && n <= CONF_NAME_MAX && name[n] == '\0';
}

static int conf_profile_open(struct conf_parse *p, const char *name)
{
	struct conf_profile *pr;

	if (!conf_name_valid(name)) {
		conf_fail(p, "[profile %.*s]: the name must be 1 to %d of A-Z a-z 0-9 _ . -",
			  CONF_NAME_MAX, name, CONF_NAME_MAX);
		return -1;
	}
	for (pr = p->conf->profiles; pr != NULL; pr = pr->next) {
		if (strcmp(pr->name, name) == 0) {
			conf_fail(p, "[profile %s]: duplicate profile", name);
			return -1;
		}
	}
	if (p->conf->nprofiles >= CONF_MAX_PROFILES) {
		conf_fail(p, "[profile %s]: more than %d profiles", name, CONF_MAX_PROFILES);
		return -1;
	}
	if ((pr = conf_profile_new(name)) == NULL) {
		conf_fail(p, "out of memory");
		return -1;
	}
	pr->source = p->conf->path;
	pr->line = p->lineno;
	*p->tail = pr;
	p->tail = &pr->next;
	p->conf->nprofiles++;
	p->prof = pr;
	p->sec = SEC_PROFILE;
	return 0;
}

/* line starts with '['; ours, because inih tells the handler nothing of empty sections. */
static int conf_section_open(struct conf_parse *p, char *line)
{
	char *end = strchr(line, ']');
	char *rest;

	if (end == NULL) {
		conf_fail(p, "syntax error: section header without ']'");
		return -1;
	}
	rest = end + 1 + strspn(end + 1, " \t");
	if (*rest != '\0' && *rest != ';' && *rest != '#') {
		conf_fail(p, "syntax error: text after ']'");
		return -1;
	}
	*end = '\0';
	line++;
	if (conf_section_close(p) != 0)
		return -1;
	p->sec_line = p->lineno;
	if (strcmp(line, "exod") == 0) {
		if (p->exod_seen) {
			conf_fail(p, "[exod]: duplicate section");
			return -1;
		}
		p->exod_seen = 1;
		p->sec = SEC_EXOD;
		return 0;
	}
	if (strcmp(line, "cluster") == 0)
		return conf_cluster_open(p);
	if (strncmp(line, "profile", 7) == 0 && (line[7] == ' ' || line[7] == '\t'))
		return conf_profile_open(p, line + 7 + strspn(line + 7, " \t"));
	if (strncmp(line, "role", 4) == 0 && (line[4] == ' ' || line[4] == '\t'))
		return conf_role_open(p, line + 4 + strspn(line + 4, " \t"));
	conf_fail(p, "[%.*s]: unknown section (expected [exod], [profile NAME], [role NAME] or "
		  "[cluster])",
		  CONF_NAME_MAX, line);
	return -1;
}

/* ---- lines ---- */

/* Reads one line into p->line without its "\n" or "\r\n"; 1 at end of file. */
static int conf_read_line(struct conf_parse *p)
{
	size_t len = 0;
	int c;

	p->lineno++;
	while ((c = getc(p->fp)) != EOF && c != '\n') {
		if (len == CONF_LINE_MAX) {
			conf_fail(p, "line longer than %d bytes", CONF_LINE_MAX);
			return -1;
		}
		p->line[len++] = (char)c;
	}
	if (ferror(p->fp)) {
		conf_fail(p, "read error: %s", strerror(errno));
		return -1;
	}
	if (c == EOF && len == 0) {
		p->lineno--;
		return 1;
	}
	if (len > 0 && p->line[len - 1] == '\r')
		len--;
	p->line[len] = '\0';
	for (size_t i = 0; i < len; i++) {
		unsigned char u = (unsigned char)p->line[i];

		if ((u < ' ' && u != '\t') || u == 0x7f) {
			conf_fail(p, "control character in line");
			return -1;
		}
	}
	return 0;
}

/* inih's rule: ';' starts a comment only after whitespace. */
static char *conf_find_comment(char *s)
{
	for (char *q = s; *q != '\0'; q++)
		if (*q == ';' && q > s && isspace((unsigned char)q[-1]))
			return q;
	return NULL;
}

static char *conf_trim_value(char *v)
{
	char *c = conf_find_comment(v);
	size_t n;

	if (c != NULL)
		*c = '\0';
	v += strspn(v, " \t");
	n = strlen(v);
	while (n > 0 && isspace((unsigned char)v[n - 1]))
		v[--n] = '\0';
	return v;
}

/*
 * inih's line buffer is fixed at build time (200 bytes on Debian) and it
 * splits longer lines silently; a long key = value line goes to inih as
 * "key =" and the handler takes the value from p->long_value.
 */
static int conf_pass_key_line(struct conf_parse *p, char *s, char *str, int num)
{
	size_t len = strlen(s);
	size_t delim;
	char *comment;

	comment = conf_find_comment(s);
	delim = strcspn(s, "=:");
	if (s[delim] == '\0' || (comment != NULL && s + delim > comment)) {
		conf_fail(p, "syntax error: expected key = value");
		return -1;
	}
	if (len < (size_t)num) {
		memcpy(str, s, len + 1);
		return 0;
	}
	if (delim + 2 > (size_t)num) {
		conf_fail(p, "syntax error: key too long");
		return -1;
	}
	memcpy(str, s, delim + 1);
	str[delim + 1] = '\0';
	p->long_value = s + delim + 1;
	return 0;
}

static char *conf_reader(char *str, int num, void *stream)
{
	struct conf_parse *p = stream;
	char *s;
	int rc;

	p->long_value = NULL;
	if (p->failed || p->done || num < 3)
		return NULL;
	rc = conf_read_line(p);
	if (rc != 0) {
		p->done = 1;
		if (rc > 0)
			conf_section_close(p);
		return NULL;
	}
	s = p->line;
	if (p->lineno == 1 && strncmp(s, CONF_UTF8_BOM, strlen(CONF_UTF8_BOM)) == 0)
		s += strlen(CONF_UTF8_BOM);
	/* Leading blanks would make inih read the line as a continuation of the last value. */
	s += strspn(s, " \t");
	str[0] = '\0';
	if (*s == '\0' || *s == ';' || *s == '#')
		return str;
	if (*s == '[') {
		if (conf_section_open(p, s) != 0)
			return NULL;
		snprintf(str, (size_t)num, "[%.*s]", num - 3, s + 1);
		return str;
	}
	return conf_pass_key_line(p, s, str, num) == 0 ? str : NULL;
}

static int conf_handler(void *user, const char *section, const char *name, const char *value)
{
	struct conf_parse *p = user;
	const struct conf_key *keys = conf_profile_keys;
	size_t nkeys = NELEM(conf_profile_keys);
	void *base = p->prof;
	char why[CONF_WHY_MAX];
	const struct conf_key *k;
	const char *val;
	size_t i = 0;

	(void)section;
	if (p->failed)
		return 0;
	if (p->sec == SEC_NONE) {
		conf_fail(p, "%s: outside of any section", name);
		return 0;
	}
	if (p->sec == SEC_EXOD) {
		keys = conf_exod_keys;
		nkeys = NELEM(conf_exod_keys);
		base = p->conf;
	} else if (p->sec == SEC_ROLE) {
		keys = conf_role_keys;
		nkeys = NELEM(conf_role_keys);
		base = p->role;
	} else if (p->sec == SEC_CLUSTER) {
		keys = conf_cluster_keys;
		nkeys = NELEM(conf_cluster_keys);
		base = p->conf->cluster;
	}
	if ((k = conf_key_find(keys, nkeys, name, &i)) == NULL) {
		if (p->sec == SEC_EXOD)
			conf_fail(p, "%s: unknown key in [exod]", name);
		else if (p->sec == SEC_ROLE)
			conf_fail(p, "%s: unknown key in [role %s] (expected users, groups, cmdlets "
				  "or profiles)", name, p->role->name);
		else if (p->sec == SEC_CLUSTER)
			conf_fail(p, "%s: unknown key in [cluster] (expected redis, "
				  "redis_password_file, node, key_prefix, lease_time or "
				  "cluster_fallback)", name);
		else
			conf_fail(p, "%s: unknown key in [profile %s]", name, p->prof->name);
		return 0;
	}
	if (p->seen & ((uint64_t)1 << i)) {
		conf_fail(p, "%s: duplicate key", name);
		return 0;
	}
	p->seen |= (uint64_t)1 << i;
	if (p->sec == SEC_PROFILE)
		p->prof->key_line[i] = p->lineno;
	else if (p->sec == SEC_EXOD)
		p->exod_line[i] = p->lineno;
	else if (p->sec == SEC_CLUSTER)
		p->conf->cluster->key_line[i] = p->lineno;
	val = p->long_value != NULL ? conf_trim_value(p->long_value) : value;
	if (*val == '\0') {
		conf_fail(p, "%s: empty value", name);
		return 0;
	}
	if (strlen(val) > CONF_VALUE_MAX) {
		conf_fail(p, "%s: longer than %d bytes", name, CONF_VALUE_MAX);
		return 0;
	}
	if (k->store == STORE_STR) {
		/* Only the [exod] defaults can be here: keys are never set twice. */
		conf_free_str(STR_FIELD(base, k));
		STR_FIELD(base, k) = NULL;
	}
	if (k->parse(k, val, FIELD(base, k), why, sizeof(why)) != 0) {
		conf_fail(p, "%s: %s", name, why);
		return 0;
	}
	return 1;
}

/* ---- API ---- */

static struct conf *conf_new(const char *path)
{
	struct conf *c = calloc(1, sizeof(*c));

	if (c == NULL)
		return NULL;
	c->path = strdup(path);
	c->socket = strdup(CONF_DEFAULT_SOCKET);
	c->state_dir = strdup(CONF_DEFAULT_STATE_DIR);
	c->socket_mode = CONF_DEF_SOCKET_MODE;
	c->log_level = LOG_INFO;
	c->max_clients = CONF_DEF_MAX_CLIENTS;
	c->max_clients_per_uid = CONF_DEF_MAX_CLIENTS_PER_UID;
	c->reserved_clients = CONF_DEF_RESERVED_CLIENTS;
	c->client_timeout = CONF_DEF_CLIENT_TIMEOUT;
	c->send_timeout = CONF_DEF_SEND_TIMEOUT;
	c->cache_encryption = 1;
	if (c->path == NULL || c->socket == NULL || c->state_dir == NULL) {
		conf_free(c);
		return NULL;
	}
	return c;
}

/* The line of an [exod] key, 0 when it is not set there. */
static int conf_exod_line(const struct conf_parse *p, const char *key)
{
	size_t i = 0;

	return conf_key_find(conf_exod_keys, NELEM(conf_exod_keys), key, &i) != NULL ?
	       p->exod_line[i] : 0;
}

/*
 * The token cache keys a profile leaves out come from [exod], with the
 * line they were set on there, so that errors about them point to it.
 */
static int conf_inherit_cache(struct conf_parse *p, struct conf_profile *pr)
{
	const struct conf *c = p->conf;

	if (pr->cache_key_file == NULL && c->cache_key_file != NULL) {
		pr->cache_key_file = strdup(c->cache_key_file);
		if (pr->cache_key_file == NULL) {
			conf_fail(p, "out of memory");
			return -1;
		}
		pr->key_line[conf_key_index("cache_key_file")] = conf_exod_line(p, "cache_key_file");
	}
	if (pr->cache_encryption < 0) {
		pr->cache_encryption = c->cache_encryption;
		pr->key_line[conf_key_index("cache_encryption")] =
			conf_exod_line(p, "cache_encryption");
	}
	return 0;
}

/* default_profile names a profile of the file; every profile learns the socket, for its hints. */
static int conf_finish(struct conf_parse *p)
{
	struct conf *c = p->conf;
	size_t i = 0;

	if (c->default_profile != NULL && conf_find_profile(c, c->default_profile) == NULL) {
		conf_key_find(conf_exod_keys, NELEM(conf_exod_keys), "default_profile", &i);
		p->lineno = p->exod_line[i];
		conf_fail(p, "default_profile: no [profile %s] in this file", c->default_profile);
		return -1;
	}
	for (struct conf_profile *pr = c->profiles; pr != NULL; pr = pr->next) {
		pr->socket = c->socket;
		if (conf_inherit_cache(p, pr) != 0)
			return -1;
	}
	return conf_cluster_finish(p);
}

int conf_load(const char *path, struct conf **out, char *err, size_t errlen)
{
	struct conf_parse p = { .err = err, .errlen = errlen };
	int rc = -1;
	int line;

	*out = NULL;
	if ((p.conf = conf_new(path)) == NULL ||
	    (p.line = malloc(CONF_LINE_MAX + 1)) == NULL) {
		snprintf(err, errlen, "%s: out of memory", path);
		goto out;
	}
	p.tail = &p.conf->profiles;
	p.role_tail = &p.conf->roles;
	if ((p.fp = fopen(path, "re")) == NULL) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		goto out;
	}
	line = ini_parse_stream(conf_reader, &p, conf_handler, &p);
	if (!p.failed && line != 0) {
		p.lineno = line;
		conf_fail(&p, "syntax error");
	}
	if (p.failed)
		goto out;
	if (p.conf->nprofiles == 0) {
		snprintf(err, errlen, "%s: no [profile NAME] section; at least one is required", path);
		goto out;
	}
	if (conf_check_role_profiles(p.conf, err, errlen) != 0 || conf_finish(&p) != 0)
		goto out;
	if (p.conf->reserved_clients >= p.conf->max_clients) {
		snprintf(err, errlen, "%s: reserved_clients (%d) must be less than max_clients (%d)",
			 path, p.conf->reserved_clients, p.conf->max_clients);
		goto out;
	}
	*out = p.conf;
	p.conf = NULL;
	rc = 0;
out:
	if (p.fp != NULL)
		fclose(p.fp);
	if (p.line != NULL) {
		sbuf_wipe(p.line, CONF_LINE_MAX + 1);
		free(p.line);
	}
	conf_free(p.conf);
	return rc;
}

void conf_free(struct conf *c)
{
	struct conf_profile *pr, *next;
	struct conf_role *r, *rnext;

	if (c == NULL)
		return;
	for (pr = c->profiles; pr != NULL; pr = next) {
		next = pr->next;
		conf_profile_free(pr);
	}
	for (r = c->roles; r != NULL; r = rnext) {
		rnext = r->next;
		conf_role_free(r);
	}
	for (size_t i = 0; i < NELEM(conf_exod_keys); i++)
		if (conf_exod_keys[i].store == STORE_STR)
			conf_free_str(STR_FIELD(c, &conf_exod_keys[i]));
	conf_cluster_free(c->cluster);
	free(c->path);
	free(c);
}

const struct conf_profile *conf_find_profile(const struct conf *c, const char *name)
{
	const struct conf_profile *pr;

	if (name == NULL)
		return c->nprofiles == 1 ? c->profiles : NULL;
	for (pr = c->profiles; pr != NULL; pr = pr->next)
		if (strcmp(pr->name, name) == 0)
			return pr;
	return NULL;
}

int conf_key_line(const struct conf_profile *p, const char *key)
{
	size_t i = 0;

	if (conf_key_find(conf_profile_keys, NELEM(conf_profile_keys), key, &i) == NULL ||
	    p->key_line[i] == 0)
		return p->line;
	return p->key_line[i];
}

void conf_key_error(const struct conf_profile *p, const char *key, char *err, size_t errlen)
{
	char why[CONF_ERR_MAX];

	snprintf(why, sizeof(why), "%s", err);
	snprintf(err, errlen, "%s:%d: %s: %s", p->source != NULL ? p->source : "exod.conf",
		 conf_key_line(p, key), key, why);
}

int conf_profile_each_path(const struct conf_profile *p,
			   int (*fn)(void *arg, const char *key, const char *path,
				     enum conf_path_kind kind),
			   void *arg)
{
	for (size_t i = 0; i < NELEM(conf_profile_keys); i++) {
		const struct conf_key *k = &conf_profile_keys[i];
		const char *path = k->names != NAMES_VALUE ? CSTR_FIELD(p, k) : NULL;
		int rc;

		if (path == NULL || (k->methods != M_ALL && !(k->methods & M(p->auth))))
			continue;
		rc = fn(arg, k->name, path, k->names == NAMES_DIR ? CONF_PATH_DIR : CONF_PATH_FILE);
		if (rc != 0)
			return rc;
	}
	return 0;
}

static int conf_str_equal(const char *a, const char *b)
{
	if (a == NULL || b == NULL)
		return a == b;
	return strcmp(a, b) == 0;
}

int conf_profile_equal(const struct conf_profile *a, const struct conf_profile *b)
{
	if (a == NULL || b == NULL)
		return a == b;
	if (!conf_str_equal(a->name, b->name))
		return 0;
	for (size_t i = 0; i < NELEM(conf_profile_keys); i++) {
		const struct conf_key *k = &conf_profile_keys[i];
		int same;

		switch (k->store) {
		case STORE_STR:
			same = conf_str_equal(CSTR_FIELD(a, k), CSTR_FIELD(b, k));
			break;
		case STORE_INT:
			same = *(const int *)CFIELD(a, k) == *(const int *)CFIELD(b, k);
			break;
		case STORE_AUTH:
			same = a->auth == b->auth;
			break;
		case STORE_ENV:
			same = a->environment == b->environment;
			break;
		case STORE_ALG:
			same = a->assertion_algorithm == b->assertion_algorithm;
			break;
		case STORE_SERVICE:
			same = a->service == b->service;
			break;
		case STORE_HTTP:
			same = a->http_version == b->http_version;
			break;
		default:
			same = 0;
			break;
		}
		if (!same)
			return 0;
	}
	return 1;
}

int conf_cluster_equal(const struct conf_cluster *a, const struct conf_cluster *b)
{
	if (a == NULL || b == NULL)
		return a == b;
	for (size_t i = 0; i < NELEM(conf_cluster_keys); i++) {
		const struct conf_key *k = &conf_cluster_keys[i];

		if (k->store == STORE_STR ? !conf_str_equal(CSTR_FIELD(a, k), CSTR_FIELD(b, k))
					  : *(const int *)CFIELD(a, k) != *(const int *)CFIELD(b, k))
			return 0;
	}
	return 1;
}

void conf_cluster_key_error(const struct conf_cluster *c, const char *key, char *err,
			    size_t errlen)
{
	char why[CONF_ERR_MAX];
	size_t i = 0;
	int line = c->line;

	if (conf_key_find(conf_cluster_keys, NELEM(conf_cluster_keys), key, &i) != NULL &&
	    c->key_line[i] != 0)
		line = c->key_line[i];
	snprintf(why, sizeof(why), "%s", err);
	snprintf(err, errlen, "%s:%d: %s: %s", c->source != NULL ? c->source : "exod.conf", line,
		 key, why);
}

int conf_list_each(const char *list, int (*fn)(void *arg, const char *item, size_t len),
		   void *arg)
{
	const char *s = list;

	while (s != NULL && *s != '\0') {
		size_t lead = strspn(s, " \t,");
		size_t len = strcspn(s + lead, " \t,");
		int rc;

		if (len == 0)
			break;
		if ((rc = fn(arg, s + lead, len)) != 0)
			return rc;
		s += lead + len;
	}
	return 0;
}

int conf_role_applies(const struct conf_role *r, const char *profile)
{
	return r->profiles == NULL ||
	       conf_list_each(r->profiles, conf_name_in_list, (void *)profile) != 0;
}

static const struct conf_role *conf_next_role_for(const struct conf_role *r, const char *profile)
{
	while (r != NULL && !conf_role_applies(r, profile))
		r = r->next;
	return r;
}

int conf_roles_equal(const struct conf *a, const struct conf *b, const char *profile)
{
	const struct conf_role *x = conf_next_role_for(a->roles, profile);
	const struct conf_role *y = conf_next_role_for(b->roles, profile);

	for (; x != NULL && y != NULL; x = conf_next_role_for(x->next, profile),
					  y = conf_next_role_for(y->next, profile)) {
		if (strcmp(x->name, y->name) != 0)
			return 0;
		for (size_t i = 0; i < NELEM(conf_role_keys); i++)
			if (!conf_str_equal(CSTR_FIELD(x, &conf_role_keys[i]),
					    CSTR_FIELD(y, &conf_role_keys[i])))
				return 0;
	}
	return x == NULL && y == NULL;
}

const char *conf_auth_name(enum conf_auth a)
{
	if ((unsigned)a >= NELEM(conf_auth_names))
		return "unknown";
	return conf_auth_names[a];
}

int conf_auth_delegated(enum conf_auth a)
{
	return a == CONF_AUTH_DEVICE || a == CONF_AUTH_PASSWORD || a == CONF_AUTH_INTERACTIVE;
}

const char *conf_environment_name(enum conf_environment e)
{
	if ((unsigned)e >= NELEM(conf_env_names))
		return "unknown";
	return conf_env_names[e];
}

const char *conf_service_name(enum conf_service s)
{
	if ((unsigned)s >= NELEM(conf_service_names))
		return "unknown";
	return conf_service_names[s];
}
