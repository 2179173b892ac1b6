/*
 * A client's run, made ready for Exchange Online: its parameters bound on
 * the cmdlet catalogue (common/binder.h) as PowerShell would bind them,
 * and the common parameters that shape the result (-ErrorAction,
 * -WarningAction) taken out of them.  Every socket client goes through
 * this, so scripts get the rules exoctl's users get.
 */
#ifndef EXOD_INVOKE_H
#define EXOD_INVOKE_H

#include <stddef.h>
#include <yajl/yajl_gen.h>
#include <yajl/yajl_tree.h>

#include "common/conf.h"
#include "daemon/exo.h"

struct invoke {
	struct exo_request rq;          /* what exo_call_start takes; points into this struct */
	yajl_gen gen;                   /* holds rq.params, the bound text: its buffers are wiped */
	char error_action[EXO_MAX_ACTION + 1];
	char warning_action[EXO_MAX_ACTION + 1];
};

/*
 * Binds params (a JSON object, or NULL) for cmdlet, on the cmdlets and
 * parameters of services (a mask of enum catalogue_service: the
 * profile's, see invoke_services).  0 with *iv ready; -1 with a sentence
 * for the client in err (the request is a BadRequest).  iv is always
 * cleared with invoke_clear.  iv->rq.result_size points into params: keep
 * them until exo_call_start has taken the request.
 */
int invoke_prepare(struct invoke *iv, unsigned services, const char *cmdlet, yajl_val params,
		   char *err, size_t errlen);
/* The catalogue services a profile of this service runs: EXO and EOP, or S&C. */
unsigned invoke_services(enum conf_service service);
void invoke_clear(struct invoke *iv);

#endif
