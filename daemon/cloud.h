/*
 * Microsoft's clouds: for each Connect-ExchangeOnline environment, the
 * Exchange Online REST host, the token scope and the Entra authority
 * (reference/exo-protocol.md §1.1, entra-auth.md §1.2).  One table.
 */
#ifndef EXOD_CLOUD_H
#define EXOD_CLOUD_H

#include "common/conf.h"

struct cloud {
	const char *environment;        /* O365Default, ... */
	const char *exchange_uri;       /* REST front door: https://outlook.office365.com */
	const char *resource;           /* token audience: scope is resource + "/.default" */
	const char *authority_uri;      /* Entra host, without tenant */
};

const struct cloud *cloud_get(enum conf_environment env);

#endif
