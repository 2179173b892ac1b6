/*
 * exod.conf: the [exod] section and one [profile NAME] section per
 * Exchange Online connection (DESIGN.md §3.1).  Parsed with inih; every
 * value is validated here so that the rest of exod can trust it.
 */
#ifndef EXOD_CONF_H
#define EXOD_CONF_H

#include <stddef.h>

#define CONF_DEFAULT_PATH "/etc/exod/exod.conf"
#define CONF_DEFAULT_SOCKET "/run/exod/exod.sock"
#define CONF_DEFAULT_STATE_DIR "/var/lib/exod"
#define CONF_NAME_MAX 64                /* profile name: [A-Za-z0-9_.-]{1,64} */
#define CONF_VALUE_MAX 4096             /* bytes in one value */
#define CONF_MAX_PROFILES 10000
#define CONF_MAX_ROLES 1000
#define CONF_GLOB_MAX 128               /* bytes in one cmdlet glob, as in a cmdlet name */
#define CONF_MAX_GLOBS 1024             /* globs in one cmdlets list */
#define CONF_DEVICE_APP_ID "fb78d390-0c51-40cd-8e17-fdbfab77341b"  /* the module's public client */
#define CONF_MAX_KEYS 64                /* keys a [profile] section may have (conf.c's table) */

enum conf_auth {
	CONF_AUTH_CERTIFICATE,
	CONF_AUTH_SECRET,
	CONF_AUTH_DEVICE,
	CONF_AUTH_PASSWORD,
	CONF_AUTH_MANAGED_IDENTITY,
	CONF_AUTH_ACCESS_TOKEN,
	CONF_AUTH_INTERACTIVE,          /* the browser (authorization code and PKCE), as the module's default */
};

enum conf_environment {
	CONF_ENV_O365_DEFAULT,
	CONF_ENV_O365_USGOV_GCCHIGH,
	CONF_ENV_O365_USGOV_DOD,
	CONF_ENV_O365_GERMANY,
	CONF_ENV_O365_CHINA,
};

/* What a profile speaks to: Connect-ExchangeOnline or Connect-IPPSSession. */
enum conf_service {
	CONF_SERVICE_EXCHANGE,          /* Exchange Online (and EOP): the default */
	CONF_SERVICE_COMPLIANCE,        /* Security & Compliance, on the tenant's regional host */
};

/* The protocol to Exchange Online: bench-measured, HTTP/1.1 costs fewer instructions a request. */
enum conf_http_version {
	CONF_HTTP_1_1,                  /* keep-alive, one connection per request in flight */
	CONF_HTTP_2,                    /* one connection, requests multiplexed on it */
};

enum conf_assertion_alg {
	CONF_ALG_PS256,                 /* with x5t#S256: the current Entra default */
	CONF_ALG_RS256,                 /* with x5t (SHA-1): for older tenants */
};

struct conf_profile {
	char *name;
	char *organization;             /* tenant: contoso.onmicrosoft.com or a GUID */
	enum conf_environment environment;
	enum conf_service service;      /* default CONF_SERVICE_EXCHANGE */
	enum conf_auth auth;
	char *app_id;                   /* delegated without one: conf_load sets CONF_DEVICE_APP_ID */
	char *certificate_file;         /* .pfx/.p12, or PEM with certificate (and key) */
	char *certificate_key_file;     /* PEM private key when not in certificate_file */
	char *certificate_password_file;
	char *certificate_thumbprint;   /* SHA-1 hex, upper or lower case, colons allowed */
	char *certificate_store;        /* directory searched for the thumbprint */
	enum conf_assertion_alg assertion_algorithm;
	char *client_secret_file;
	char *user_principal_name;
	char *password_file;
	char *managed_identity_client_id;  /* user-assigned identity: client id */
	char *managed_identity_object_id;
	char *managed_identity_resource_id;
	char *managed_identity_endpoint;   /* overrides IMDS / IDENTITY_ENDPOINT */
	char *access_token_file;
	char *delegated_organization;   /* partner acting for this customer tenant */
	char *connection_uri;           /* overrides the environment's Exchange URL */
	char *authority_uri;            /* overrides the environment's Entra authority */
	char *ca_file;                  /* CA bundle for both */
	char *proxy;
	enum conf_http_version http_version;    /* default CONF_HTTP_1_1 */
	int page_size;                  /* 1..1000, default 1000 */
	int max_pages;                  /* pages one run may fetch, 1..1000000, default 10000 */
	int max_connections;            /* 1..64, default 3 */
	int queue_limit;                /* 0..100000, default 100 */
	int queue_timeout;              /* seconds, 1..86400, default 120 */
	int request_timeout;            /* seconds, 1..86400, default 960 */
	int refresh_margin;             /* seconds, 0..86400, default 600 */
	char *allow_users;              /* comma-separated user names or uids */
	char *allow_groups;             /* comma-separated group names or gids */
	char *read_only_users;          /* may only run read cmdlets */
	char *read_only_groups;
	char *cmdlets;                  /* globs the profile may run (-CommandName); NULL: all */
	char *cache_key_file;           /* the token cache's key; [exod]'s when the profile sets none */
	int cache_encryption;           /* 1 on (the default), 0 off; [exod]'s when the profile sets none */
	/* Not configuration (conf_profile_equal ignores them): where it was read, and what for. */
	const char *source;             /* the file, as struct conf's path */
	int line;                       /* of its [profile NAME] header */
	int key_line[CONF_MAX_KEYS];    /* of each key set (in [exod] when inherited), in conf.c's order */
	const char *socket;             /* [exod] socket: where exoctl reaches this exod, for hints */
	struct conf_profile *next;      /* in file order */
};

/* [cluster]: what happens to a clustered profile while Redis cannot be reached. */
enum conf_fallback {
	CONF_FALLBACK_LOCAL,            /* serve with max_connections / nodes last seen (at least 1) */
	CONF_FALLBACK_FAIL,             /* refuse new runs until Redis is back */
};

#define CONF_CLUSTER_PREFIX "exod:"     /* key_prefix when none is given */
#define CONF_CLUSTER_LEASE 30           /* lease_time when none is given, seconds */
#define CONF_CLUSTER_KEYS 8             /* keys the [cluster] section may have (conf.c's table) */

/*
 * [cluster]: several exods share each profile's budget through one Redis
 * (daemon/cluster.h).  Absent, exod is on its own.
 */
struct conf_cluster {
	char *redis;                    /* unix:/path or tcp://ADDRESS:PORT (conf_redis_address) */
	char *redis_password_file;      /* AUTH; a secret file; NULL: none */
	char *node;                     /* this exod's name in the cluster; default the host name */
	char *key_prefix;               /* of every Redis key and the channel; default CONF_CLUSTER_PREFIX */
	int lease_time;                 /* seconds a shared slot (and a node's presence) outlives its node */
	enum conf_fallback cluster_fallback;
	/* Not configuration: where it was read. */
	const char *source;
	int line;                       /* of the [cluster] header */
	int key_line[CONF_CLUSTER_KEYS];
};

/* [role NAME]: users and groups who may run these cmdlets (and only these) on these profiles. */
struct conf_role {
	char *name;
	char *users;                    /* comma-separated user names or uids */
	char *groups;                   /* comma-separated group names or gids */
	char *cmdlets;                  /* comma-separated globs: Get-*, Set-CASMailbox */
	char *profiles;                 /* comma-separated profile names; NULL: every profile */
	struct conf_role *next;         /* in file order */
};

struct conf {
	char *path;
	char *socket;                   /* default CONF_DEFAULT_SOCKET */
	int socket_mode;                /* octal in the file, default 0660 */
	char *state_dir;                /* default CONF_DEFAULT_STATE_DIR */
	int log_level;                  /* LOG_ERR..LOG_DEBUG, default LOG_INFO */
	int max_clients;                /* 1..100000, default 1024 */
	int max_clients_per_uid;        /* connections of one user, 1..100000, default 64 */
	int reserved_clients;           /* of max_clients, kept for root and exod's user; default 16 */
	int client_timeout;             /* seconds a half-sent request line may wait, default 30 */
	int send_timeout;               /* seconds answers may wait unread, 0 = forever; default 600 */
	char *metrics_listen;           /* "ADDRESS:PORT" or "[IPv6]:PORT" for GET /metrics; NULL: off */
	char *default_profile;          /* for requests that name none; NULL: none (a configured one) */
	char *cache_key_file;           /* default of the profiles' cache_key_file; NULL: none */
	int cache_encryption;           /* default of the profiles' cache_encryption: 1 on, 0 off */
	struct conf_cluster *cluster;   /* NULL without a [cluster] section */
	int nprofiles;
	struct conf_profile *profiles;
	int nroles;
	struct conf_role *roles;
};

/*
 * Reads and validates path.  On failure returns -1 and writes to err a
 * message naming the file, the line and the key, e.g.
 * "exod.conf:12: max_connections: must be between 1 and 64".
 */
int conf_load(const char *path, struct conf **out, char *err, size_t errlen);
void conf_free(struct conf *c);
/* NULL name: the only profile, if there is exactly one. */
const struct conf_profile *conf_find_profile(const struct conf *c, const char *name);
/* 1 when the two profiles would connect identically (for reload). */
int conf_profile_equal(const struct conf_profile *a, const struct conf_profile *b);

/* The line where the profile sets key, or that of its [profile NAME] header if it does not. */
int conf_key_line(const struct conf_profile *p, const char *key);
/*
 * For errors found after loading (a credential file that will not open):
 * rewrites err, a message about the value of the profile's key, as
 * "FILE:LINE: KEY: err", as conf_load names its own errors.
 */
void conf_key_error(const struct conf_profile *p, const char *key, char *err, size_t errlen);
enum conf_path_kind {
	CONF_PATH_FILE,
	CONF_PATH_DIR,
};
/*
 * Calls fn for each key that names a file or a directory and is set and
 * used by the profile's auth method, in file order of the key table;
 * stops at a nonzero return and returns it.
 */
int conf_profile_each_path(const struct conf_profile *p,
			   int (*fn)(void *arg, const char *key, const char *path,
				     enum conf_path_kind kind),
			   void *arg);

/*
 * Splits a [cluster] redis value: 0 for unix:PATH (PATH into host), 1 for
 * tcp://ADDRESS:PORT (the numeric address, without brackets, into host and
 * the port into *port), -1 when it is neither.
 */
int conf_redis_address(const char *redis, char *host, size_t hostlen, int *port);
/* 1 when the two [cluster] sections (or their absence) are the same (for reload). */
int conf_cluster_equal(const struct conf_cluster *a, const struct conf_cluster *b);
/* As conf_key_error, for a key of [cluster]. */
void conf_cluster_key_error(const struct conf_cluster *c, const char *key, char *err,
			    size_t errlen);

/* 1 when the role is for the named profile. */
int conf_role_applies(const struct conf_role *r, const char *profile);
/* 1 when the roles that apply to the profile are the same in both (for reload). */
int conf_roles_equal(const struct conf *a, const struct conf *b, const char *profile);
/*
 * Calls fn for each item of a comma-separated list (as the list keys hold
 * them: checked at load), without blanks; stops at a nonzero return and
 * returns it.
 */
int conf_list_each(const char *list, int (*fn)(void *arg, const char *item, size_t len),
		   void *arg);

const char *conf_auth_name(enum conf_auth a);
/* 1 for the methods a person signs in with (device, password, interactive): refresh tokens. */
int conf_auth_delegated(enum conf_auth a);
const char *conf_environment_name(enum conf_environment e);
/* "exchange" or "compliance", as exod.conf and status spell it. */
const char *conf_service_name(enum conf_service s);

#endif
