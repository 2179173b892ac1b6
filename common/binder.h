/*
 * The parameter binder: cmdlet parameters checked and bound the way
 * PowerShell's binder would, on the cmdlet catalogue (common/catalogue.h),
 * before anything is sent to Exchange Online.  exoctl calls binder_argv
 * for its command line; exod calls binder_json for what a socket client
 * sent.  Both write the cmdlet's parameters as one JSON object into a
 * yajl_gen, under their canonical names, with values of the right JSON
 * type, and return PowerShell's common parameters (-ErrorAction,
 * -Verbose...) apart, since they are not cmdlet parameters.
 *
 * The rules, with examples and what PowerShell does differently, are in
 * tools/README-binder.md.  In short:
 *   - names ignore case, may be shortened to an unambiguous prefix, and
 *     may be aliases; ambiguous and unknown names are errors that list
 *     the candidates;
 *   - values without a name bind to the positions of the parameter set
 *     chosen as PowerShell chooses it;
 *   - values are checked against the parameter's type: switches, Booleans
 *     ($true, $false, true, false, 1, 0), whole numbers, Unlimited, text,
 *     lists (commas split only multi-valued parameters), hashtables;
 *   - SecureString parameters are refused (the module's encryption key is
 *     not known);
 *   - $true/$false in -Filter, -RecipientFilter and -RecipientPreviewFilter
 *     become 'True'/'False', as the module rewrites them;
 *   - a cmdlet not in the catalogue passes through: exoctl's grammar only.
 *
 * Errors are complete sentences naming the cmdlet and the parameter, for
 * the person who typed the command.  Input is untrusted: every size is
 * bounded by the constants below, and text must be valid UTF-8.
 */
#ifndef EXOD_BINDER_H
#define EXOD_BINDER_H

#include <stddef.h>

#include <yajl/yajl_gen.h>
#include <yajl/yajl_tree.h>

#include "common/catalogue.h"

#define BINDER_MAX_NAME 128             /* bytes in a parameter name */
#define BINDER_MAX_PARAMS 256           /* parameters in one command */
#define BINDER_MAX_ARGS 4096            /* command-line arguments after the cmdlet */
#define BINDER_MAX_VALUE 65536          /* bytes in one value, list parts joined */
#define BINDER_MAX_JSON 65536           /* bytes of one --params object */
#define BINDER_MAX_ITEMS 65536          /* elements of one list */
#define BINDER_MAX_DEPTH 32             /* nesting of a JSON value passed on */
#define BINDER_MAX_CANDIDATES 5         /* names suggested for an unknown one */
#define BINDER_MAX_COMMON_VALUE 128     /* bytes in a common parameter's value */
#define BINDER_MAX_MISSING 512          /* bytes of binder_result.missing */
#define BINDER_ERR_LEN 1024             /* an err buffer of this size holds every message whole */

/* PowerShell's common parameters, which the binder returns apart. */
enum binder_common_id {
	BINDER_ERROR_ACTION,            /* Continue, Stop, SilentlyContinue, Ignore, Inquire */
	BINDER_WARNING_ACTION,          /* the same five */
	BINDER_INFORMATION_ACTION,      /* the same five */
	BINDER_VERBOSE,                 /* switch: "true" or "false" */
	BINDER_DEBUG,                   /* switch: "true" or "false" */
	BINDER_ERROR_VARIABLE,          /* a variable name, '+' in front to append */
	BINDER_WARNING_VARIABLE,
	BINDER_INFORMATION_VARIABLE,
	BINDER_OUT_VARIABLE,
	BINDER_PIPELINE_VARIABLE,
	BINDER_OUT_BUFFER,              /* a whole number 0..2147483647 */
	BINDER_COMMON_COUNT,
};

struct binder_common {
	unsigned given;                 /* bit (1u << id) for each one given */
	/* The canonical value: "Stop", "true", "42", "+errs"; "" when not given. */
	char value[BINDER_COMMON_COUNT][BINDER_MAX_COMMON_VALUE + 1];
};

struct binder_result {
	/* The catalogue's cmdlet, or NULL: not in the catalogue, passed through. */
	const struct catalogue_cmdlet *cmdlet;
	/* The parameter set chosen (index for catalogue_set_at), or -1: none could be told. */
	int set;
	struct binder_common common;
	/*
	 * The parameters the chosen set requires that were not given, as
	 * "-Name, -Other" (cut at a name boundary when long), or "".  Not an
	 * error: the catalogue's required flags come from the docs, and the
	 * service is the judge.  Callers may warn.
	 */
	char missing[BINDER_MAX_MISSING];
	/*
	 * The value a JSON caller gave -ResultSize (exod pages by it), or NULL:
	 * it points into params and lives as long as they do.
	 */
	yajl_val result_size;
};

/*
 * For exoctl: argv[0..argc) are the arguments after the cmdlet's name, in
 * exoctl's grammar (PowerShell's, as far as a shell lets it through):
 *   -Name value   -Name:value   -Switch   -Switch:$false   value (positional)
 *   $true $false $null   12   'quoted text'   a,b,c ("\," keeps a comma)
 *   @{Key=Value;Key2=a,b}   --params '{"Name":...}' (JSON merged in order)
 * cmdlet[0..cmdlet_len) is looked up in the catalogue; an unknown cmdlet
 * passes through (grammar only, no positional values).  Writes one JSON
 * object into g and fills *res; 0 on success.  On failure -1 with a
 * message in err (at most errlen bytes, NUL-terminated); g then holds
 * part of a document and must be thrown away.
 */
int binder_argv(yajl_gen g, const char *cmdlet, size_t cmdlet_len, int argc,
		char *const argv[], struct binder_result *res, char *err, size_t errlen);

/*
 * For exod: params is the object a client sent (NULL or JSON null: no
 * parameters); its keys may be in any case, prefixes or aliases, its
 * values any JSON.  Writes the canonical parameters into g: canonical
 * names; "true"/"false"/1/0 for a Boolean or a switch become true/false;
 * numbers for text parameters become their text; "10" for an integer
 * becomes 10; a single value for a multi-valued parameter becomes a list
 * of one; common parameters leave the object for *res.  Same returns as
 * binder_argv.
 */
int binder_json(yajl_gen g, const char *cmdlet, size_t cmdlet_len, yajl_val params,
		struct binder_result *res, char *err, size_t errlen);

/*
 * binder_json for a profile that speaks to one service: services is a
 * mask of enum catalogue_service (0: any, as binder_json).  A catalogue
 * cmdlet of none of them, or a parameter that does not apply to them
 * (Get-User -Anr in Security & Compliance), is refused with a sentence
 * that names the services it has; a cmdlet the catalogue does not know
 * passes through.
 */
int binder_json_for(yajl_gen g, unsigned services, const char *cmdlet, size_t cmdlet_len,
		    yajl_val params, struct binder_result *res, char *err, size_t errlen);

/*
 * binder_json_for writing the Parameters object exod sends as it is: every
 * object within a value, in lists too, begins with "@odata.type":
 * "#Exchange.GenericHashTable" (PowerShell hashtables, exo-protocol.md
 * §2.4), unless it has an "@odata.type" of its own.
 */
int binder_json_tagged_for(yajl_gen g, unsigned services, const char *cmdlet, size_t cmdlet_len,
			   yajl_val params, struct binder_result *res, char *err, size_t errlen);

/*
 * exoctl's grammar alone, as client/params.c's params_gen has always
 * written it: no catalogue, no positional values, common parameters and
 * filters left as they are.  Kept for params_gen; new callers want
 * binder_argv.
 */
int binder_argv_plain(yajl_gen g, int argc, char *const argv[], char *err, size_t errlen);

/* "ErrorAction", "Verbose"...: the canonical name of a common parameter. */
const char *binder_common_name(enum binder_common_id id);
/* The value of a common parameter given, or NULL. */
const char *binder_common_get(const struct binder_common *c, enum binder_common_id id);

#endif
