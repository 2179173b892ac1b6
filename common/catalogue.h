/*
 * The cmdlet catalogue compiled into exod and exoctl: every cmdlet that
 * Microsoft documents for Exchange Online, Security & Compliance and EOP,
 * with its parameters (type, aliases) and parameter sets (positions,
 * required flags).  common/catalogue.inc is generated from
 * ../shared/reference/cmdlets/cmdlets.json by tools/gen_catalogue.py;
 * the binder (common/binder.h) checks command lines against it.
 *
 * Names are ASCII; every look-up ignores ASCII case, as PowerShell does,
 * and takes bytes with a length (from the wire: not NUL-terminated, any
 * byte).  Every pointer returned points into static data: never freed.
 */
#ifndef EXOD_CATALOGUE_H
#define EXOD_CATALOGUE_H

#include <stddef.h>

#define CATALOGUE_MAX_NAME 128          /* bytes in a cmdlet or parameter name looked up */
#define CATALOGUE_MAX_PATTERN 256       /* bytes in a glob pattern */

/* Services a cmdlet or parameter applies to (bit mask). */
enum catalogue_service {
	CATALOGUE_EXO = 1,              /* Exchange Online */
	CATALOGUE_SCC = 2,              /* Security & Compliance */
	CATALOGUE_EOP = 4,              /* Exchange Online Protection */
};

/*
 * How the binder treats a parameter's value, decided by tools/gen_catalogue.py
 * from the documented type (its docstring lists the types of each kind).
 * For a multi-valued parameter the kind is that of one element.
 */
enum catalogue_kind {
	CATALOGUE_SWITCH,               /* SwitchParameter: -Name, -Name:$false */
	CATALOGUE_BOOLEAN,              /* Boolean: a value is required */
	CATALOGUE_INTEGER,              /* Int16..UInt64: a whole number in range */
	CATALOGUE_UNLIMITED_INT,        /* Unlimited<count>: a whole number or Unlimited */
	CATALOGUE_UNLIMITED,            /* Unlimited<size or time span>: Unlimited or text */
	CATALOGUE_SECURE,               /* SecureString: cannot be sent (binder.h) */
	CATALOGUE_HASHTABLE,            /* Hashtable, PswsHashtable: @{Key=Value} */
	CATALOGUE_IDENTITY,             /* ...IdParameter: text */
	CATALOGUE_STRING,               /* String, SmtpAddress, DateTime...: text */
	CATALOGUE_OTHER,                /* enums and the rest: left to the service */
};

/* Flags of a parameter. */
enum catalogue_flag {
	CATALOGUE_MULTI = 1,            /* takes a list of values */
	CATALOGUE_DELTA = 2,            /* MultiValuedProperty: also @{Add=...;Remove=...} */
};

/* The range of an integer kind. */
enum catalogue_range {
	CATALOGUE_RANGE_NONE,
	CATALOGUE_RANGE_I16,
	CATALOGUE_RANGE_I32,
	CATALOGUE_RANGE_I64,
	CATALOGUE_RANGE_U16,
	CATALOGUE_RANGE_U32,
	CATALOGUE_RANGE_U64,
};

struct catalogue_cmdlet;
struct catalogue_param;
struct catalogue_set;

/* One member of a parameter set. */
struct catalogue_member {
	size_t param;                   /* index among the cmdlet's parameters */
	int position;                   /* 0-based position, or -1: named only */
	int required;                   /* 1 when the set requires it */
};

/* "MicrosoftDocs/office-docs-powershell @<commit>": where the data comes from. */
const char *catalogue_source(void);
/* The number of cmdlets, and the i-th in case-insensitive name order (NULL past the end). */
size_t catalogue_count(void);
const struct catalogue_cmdlet *catalogue_at(size_t i);
/* The cmdlet named name[0..len), ignoring ASCII case, or NULL. */
const struct catalogue_cmdlet *catalogue_find(const char *name, size_t len);
/*
 * 1 when name matches the glob pattern[0..plen) ignoring ASCII case: *, ?,
 * [abc], [a-z], [!abc] or [^abc], and \ before a character to match it
 * literally (a '[' with no ']' is literal, as in fnmatch).  0 when it does
 * not, or when the pattern is longer than CATALOGUE_MAX_PATTERN.
 */
int catalogue_glob(const char *pattern, size_t plen, const char *name);
/*
 * Iteration for `exoctl cmdlets [PATTERN]`: the next cmdlet at or after
 * *cursor (start at 0) whose name matches pattern (NULL: every cmdlet), in
 * name order; *cursor moves past it.  NULL at the end.
 */
const struct catalogue_cmdlet *catalogue_next(const char *pattern, size_t plen, size_t *cursor);

const char *catalogue_cmdlet_name(const struct catalogue_cmdlet *c);
unsigned catalogue_cmdlet_services(const struct catalogue_cmdlet *c);
/*
 * The services of a mask in words, as the docs name them: "Exchange
 * Online, Security & Compliance".  Returns buf ("" for none).
 */
const char *catalogue_services_text(unsigned services, char *buf, size_t len);
size_t catalogue_param_count(const struct catalogue_cmdlet *c);
/* The i-th parameter in the page's order, or NULL. */
const struct catalogue_param *catalogue_param_at(const struct catalogue_cmdlet *c, size_t i);
/* The parameter whose name or alias is name[0..len) ignoring case (no prefixes), or NULL. */
const struct catalogue_param *catalogue_param_find(const struct catalogue_cmdlet *c,
						   const char *name, size_t len);
/* The index of p among c's parameters (p from c). */
size_t catalogue_param_index(const struct catalogue_cmdlet *c, const struct catalogue_param *p);
size_t catalogue_set_count(const struct catalogue_cmdlet *c);
const struct catalogue_set *catalogue_set_at(const struct catalogue_cmdlet *c, size_t i);

const char *catalogue_param_name(const struct catalogue_param *p);
/* The .NET type as documented: "Boolean", "MailboxIdParameter", "String[]". */
const char *catalogue_param_type(const struct catalogue_param *p);
enum catalogue_kind catalogue_param_kind(const struct catalogue_param *p);
unsigned catalogue_param_flags(const struct catalogue_param *p);
enum catalogue_range catalogue_param_range(const struct catalogue_param *p);
unsigned catalogue_param_services(const struct catalogue_param *p);
size_t catalogue_param_alias_count(const struct catalogue_param *p);
const char *catalogue_param_alias(const struct catalogue_param *p, size_t i);

const char *catalogue_set_name(const struct catalogue_set *s);
int catalogue_set_is_default(const struct catalogue_set *s);
size_t catalogue_set_member_count(const struct catalogue_set *s);
/* The i-th member into *m; -1 when i is past the end. */
int catalogue_set_member(const struct catalogue_set *s, size_t i, struct catalogue_member *m);

/* A kind in words ("a switch", "a Boolean", "text"...), for messages. */
const char *catalogue_kind_name(enum catalogue_kind k);

#endif
