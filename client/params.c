/*
 * PowerShell-style cmdlet parameters turned into a JSON object with
 * yajl_gen.  The grammar lives in common/binder_grammar.c, shared with the
 * parameter binder (common/binder.h); params_gen keeps its behaviour for
 * the callers that want the grammar alone.
 */
#include "params.h"

#include "common/binder.h"

/* params.h promises these limits to its callers: they must be the binder's. */
_Static_assert(PARAMS_MAX_NAME == BINDER_MAX_NAME, "name limit");
_Static_assert(PARAMS_MAX_COUNT == BINDER_MAX_PARAMS, "count limit");
_Static_assert(PARAMS_MAX_VALUE == BINDER_MAX_VALUE, "value limit");
_Static_assert(PARAMS_MAX_JSON == BINDER_MAX_JSON, "--params limit");

int params_gen(yajl_gen g, int argc, char *const argv[], char *err, size_t errlen)
{
	return binder_argv_plain(g, argc, argv, err, errlen);
}
