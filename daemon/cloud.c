/* The environment table; sources are named in reference/exo-protocol.md §1.1. */
#include "daemon/cloud.h"

static const struct cloud clouds[] = {
	[CONF_ENV_O365_DEFAULT] = {
		"O365Default", "https://outlook.office365.com",
		"https://outlook.office365.com", "https://login.microsoftonline.com" },
	[CONF_ENV_O365_USGOV_GCCHIGH] = {
		"O365USGovGCCHigh", "https://outlook.office365.us",
		"https://outlook.office365.us", "https://login.microsoftonline.us" },
	[CONF_ENV_O365_USGOV_DOD] = {
		"O365USGovDoD", "https://outlook-dod.office365.us",
		"https://outlook-dod.office365.us", "https://login.microsoftonline.us" },
	[CONF_ENV_O365_GERMANY] = {
		/* Microsoft Cloud Deutschland closed in 2021; kept for old configurations. */
		"O365GermanyCloud", "https://outlook.office.de",
		"https://outlook.office.de", "https://login.microsoftonline.de" },
	[CONF_ENV_O365_CHINA] = {
		/* The module's and third-party clients' host; the Admin API docs also name outlook.office365.cn. */
		"O365China", "https://partner.outlook.cn",
		"https://partner.outlook.cn", "https://login.chinacloudapi.cn" },
};

const struct cloud *cloud_get(enum conf_environment env)
{
	if ((unsigned)env >= sizeof(clouds) / sizeof(clouds[0]))
		return &clouds[CONF_ENV_O365_DEFAULT];
	return &clouds[env];
}
