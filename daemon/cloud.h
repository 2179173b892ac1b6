/*
 * Microsoft's clouds: for each Connect-ExchangeOnline environment, the
 * Exchange Online REST host, the token scope and the Entra authority
 * (reference/exo-protocol.md §1.1, entra-auth.md §1.2), and the
 * Security & Compliance endpoints of Connect-IPPSSession (§1.2).  One
 * table.
 */
#ifndef EXOD_CLOUD_H
#define EXOD_CLOUD_H

#include "common/conf.h"

/*
 * Security & Compliance in one environment.  Its front door redirects a
 * tenant's requests to <region>.<redirect_domain>; the client calls
 * https://<region>.<region_domain> (exo-protocol.md §1.2).
 */
struct cloud_compliance {
	const char *frontdoor_uri;      /* https://ps.compliance.protection.outlook.com */
	const char *resource;           /* token audience: scope is resource + "/.default" */
	const char *redirect_domain;    /* admin.protection.outlook.com: the Location's hosts */
	const char *region_domain;      /* ps.compliance.protection.outlook.com: regional hosts */
	const char *other_frontdoor;    /* another documented front door host, or NULL */
};

struct cloud {
	const char *environment;        /* O365Default, ... */
	const char *exchange_uri;       /* REST front door: https://outlook.office365.com */
	const char *resource;           /* token audience: scope is resource + "/.default" */
	const char *authority_uri;      /* Entra host, without tenant */
	const struct cloud_compliance *compliance;      /* NULL: none known */
};

const struct cloud *cloud_get(enum conf_environment env);
/* The token audience of the profile's service ("https://outlook.office365.com", ...). */
const char *cloud_resource(const struct conf_profile *c);

#endif
