/* The environment table; sources are named in reference/exo-protocol.md §1.1 and §1.2. */
#include "daemon/cloud.h"

#include <stddef.h>

/*
 * §1.2: the front doors and scopes are the module's and third-party
 * clients'; the redirect to <region>.admin.protection.outlook.com and the
 * regional <region>.ps.compliance.protection.outlook.com are seen in
 * commercial tenants only [C-3p].  Outside it the same shape under each
 * cloud's own domain is our inference [I].  DoD's scope is SCUBA's
 * (the GCC High one); 21Vianet's scope is inferred [I].
 */
static const struct cloud_compliance compliance_commercial = {
	"https://ps.compliance.protection.outlook.com", "https://ps.compliance.protection.outlook.com",
	"admin.protection.outlook.com", "ps.compliance.protection.outlook.com", NULL,
};
static const struct cloud_compliance compliance_gcchigh = {
	"https://ps.compliance.protection.office365.us", "https://ps.compliance.protection.office365.us",
	"admin.protection.office365.us", "ps.compliance.protection.office365.us", NULL,
};
/* D-APP names DoD's front door compliance.dod.microsoft.com instead (conflicting docs, §1.2). */
static const struct cloud_compliance compliance_dod = {
	"https://l5.ps.compliance.protection.office365.us", "https://ps.compliance.protection.office365.us",
	"admin.protection.office365.us", "ps.compliance.protection.office365.us",
	"compliance.dod.microsoft.com",
};
static const struct cloud_compliance compliance_china = {
	"https://ps.compliance.protection.partner.outlook.cn",
	"https://ps.compliance.protection.partner.outlook.cn",
	"admin.protection.partner.outlook.cn", "ps.compliance.protection.partner.outlook.cn", NULL,
};

static const struct cloud clouds[] = {
	[CONF_ENV_O365_DEFAULT] = {
		"O365Default", "https://outlook.office365.com",
		"https://outlook.office365.com", "https://login.microsoftonline.com",
		&compliance_commercial },
	[CONF_ENV_O365_USGOV_GCCHIGH] = {
		"O365USGovGCCHigh", "https://outlook.office365.us",
		"https://outlook.office365.us", "https://login.microsoftonline.us",
		&compliance_gcchigh },
	[CONF_ENV_O365_USGOV_DOD] = {
		"O365USGovDoD", "https://outlook-dod.office365.us",
		"https://outlook-dod.office365.us", "https://login.microsoftonline.us",
		&compliance_dod },
	[CONF_ENV_O365_GERMANY] = {
		/* Microsoft Cloud Deutschland closed in 2021; kept for old configurations. */
		"O365GermanyCloud", "https://outlook.office.de",
		"https://outlook.office.de", "https://login.microsoftonline.de", NULL },
	[CONF_ENV_O365_CHINA] = {
		/* The module's and third-party clients' host; the Admin API docs also name outlook.office365.cn. */
		"O365China", "https://partner.outlook.cn",
		"https://partner.outlook.cn", "https://login.chinacloudapi.cn",
		&compliance_china },
};

const struct cloud *cloud_get(enum conf_environment env)
{
	if ((unsigned)env >= sizeof(clouds) / sizeof(clouds[0]))
		return &clouds[CONF_ENV_O365_DEFAULT];
	return &clouds[env];
}

const char *cloud_resource(const struct conf_profile *c)
{
	const struct cloud *cl = cloud_get(c->environment);

	/* conf_load refuses compliance where none is known; the Exchange audience is no worse. */
	if (c->service == CONF_SERVICE_COMPLIANCE && cl->compliance != NULL)
		return cl->compliance->resource;
	return cl->resource;
}
