/* Binding a run's parameters, and what -ErrorAction and -WarningAction ask of the result. */
#include "daemon/invoke.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <yajl/yajl_gen.h>

#include "common/binder.h"
#include "common/catalogue.h"
#include "common/sbuf.h"

/* PowerShell's ActionPreference values, and what each asks of exod. */
static int invoke_action(const char *name, const char *value, enum exo_action *out, char *err,
			 size_t errlen)
{
	if (strcasecmp(value, "Continue") == 0) {
		*out = EXO_CONTINUE;
	} else if (strcasecmp(value, "SilentlyContinue") == 0 || strcasecmp(value, "Ignore") == 0) {
		*out = EXO_SILENT;
	} else if (strcasecmp(value, "Stop") == 0) {
		*out = EXO_STOP;
	} else if (strcasecmp(value, "Inquire") == 0) {
		snprintf(err, errlen, "-%s Inquire asks a person at a PowerShell prompt, and there is "
			 "none here; use Stop, Continue or SilentlyContinue", name);
		return -1;
	} else {
		snprintf(err, errlen, "-%s takes Continue, SilentlyContinue, Stop or Ignore, not "
			 "'%.64s'", name, value);
		return -1;
	}
	return 0;
}

/* Common parameters that only make sense inside PowerShell: refused, not silently dropped. */
static int invoke_refuse_variables(const struct binder_common *c, char *err, size_t errlen)
{
	static const enum binder_common_id vars[] = {
		BINDER_ERROR_VARIABLE, BINDER_WARNING_VARIABLE, BINDER_INFORMATION_VARIABLE,
		BINDER_OUT_VARIABLE, BINDER_PIPELINE_VARIABLE,
	};

	for (size_t i = 0; i < sizeof(vars) / sizeof(vars[0]); i++)
		if (binder_common_get(c, vars[i]) != NULL) {
			snprintf(err, errlen, "-%s names a PowerShell variable, and there is no "
				 "PowerShell session here: read the records, the ERROR and WARNING "
				 "lines and the exit status instead", binder_common_name(vars[i]));
			return -1;
		}
	return 0;
}

static int invoke_common(struct invoke *iv, const struct binder_common *c, char *err,
			 size_t errlen)
{
	const char *ea = binder_common_get(c, BINDER_ERROR_ACTION);
	const char *wa = binder_common_get(c, BINDER_WARNING_ACTION);

	if (invoke_refuse_variables(c, err, errlen) < 0)
		return -1;
	if (ea != NULL) {
		if (invoke_action("ErrorAction", ea, &iv->rq.on_error, err, errlen) < 0)
			return -1;
		snprintf(iv->error_action, sizeof(iv->error_action), "%s", ea);
		iv->rq.error_action = iv->error_action;
	}
	if (wa != NULL) {
		if (invoke_action("WarningAction", wa, &iv->rq.on_warning, err, errlen) < 0)
			return -1;
		snprintf(iv->warning_action, sizeof(iv->warning_action), "%s", wa);
		iv->rq.warning_action = iv->warning_action;
	}
	/* -Verbose, -Debug, -InformationAction and -OutBuffer change nothing the service sends. */
	return 0;
}

unsigned invoke_services(enum conf_service service)
{
	/* Connect-ExchangeOnline reaches EOP-only tenants too; Connect-IPPSSession is S&C alone. */
	return service == CONF_SERVICE_COMPLIANCE ? CATALOGUE_SCC : CATALOGUE_EXO | CATALOGUE_EOP;
}

int invoke_prepare(struct invoke *iv, unsigned services, const char *cmdlet, yajl_val params,
		   char *err, size_t errlen)
{
	struct binder_result res;
	const unsigned char *buf;
	size_t len;

	memset(iv, 0, sizeof(*iv));
	iv->rq.cmdlet = cmdlet;
	/* The parameters may hold secrets: the generator's buffers are wiped when freed. */
	iv->gen = yajl_gen_alloc(&sbuf_yajl_funcs);
	if (iv->gen == NULL || yajl_gen_config(iv->gen, yajl_gen_validate_utf8, 1) == 0) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	/* Bound and written as the body carries them (exo_codec_body): no second pass. */
	if (binder_json_tagged_for(iv->gen, services, cmdlet, strlen(cmdlet), params, &res, err,
				   errlen) < 0 ||
	    invoke_common(iv, &res.common, err, errlen) < 0)
		return -1;
	if (yajl_gen_get_buf(iv->gen, &buf, &len) != yajl_gen_status_ok) {
		snprintf(err, errlen, "cannot bind the parameters");
		return -1;
	}
	iv->rq.params = (const char *)buf;
	iv->rq.params_len = len;
	iv->rq.result_size = res.result_size;
	/* The catalogue's spelling goes out (X-CmdletName, the read-only list, the logs). */
	if (res.cmdlet != NULL)
		iv->rq.cmdlet = catalogue_cmdlet_name(res.cmdlet);
	return 0;
}

void invoke_clear(struct invoke *iv)
{
	if (iv->gen != NULL)
		yajl_gen_free(iv->gen);
	memset(iv, 0, sizeof(*iv));
}
