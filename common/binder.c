/*
 * The parameter binder (common/binder.h): names resolved as PowerShell
 * resolves them (case, prefixes, aliases, common parameters), values
 * without a name bound to positions of the parameter set PowerShell
 * would choose, and every value checked and written by binder_value.c.
 * Everything is checked before the caller sends anything.
 *
 * Three modes: PLAIN is params_gen's grammar alone; PASS is a cmdlet the
 * catalogue does not know (grammar, common parameters and filters only:
 * the service judges the rest); CATALOGUE is the full binder.
 */
#include "common/binder_int.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/jtree.h"
#include "common/sbuf.h"
#include "common/utf8.h"

#define BINDER_MAX_POSITION 62          /* positions the catalogue can hold (gen_catalogue.py) */
#define BINDER_MAX_SETS 32              /* sets of one cmdlet: one bit each */
#define BINDER_MAX_CMDLET_PARAMS 256    /* parameters of one cmdlet: a uint8_t index */
#define BINDER_FIRST_ENTRIES 8          /* entries allocated at first, doubled as needed */
#define BINDER_LIST_LEN 640             /* bytes of a list of names in a message */
#define BINDER_SERVICES_LEN 128         /* bytes of a list of service names in a message */

enum binder_mode {
	BINDER_PLAIN,
	BINDER_PASS,
	BINDER_CATALOGUE,
};

enum binder_src {
	BINDER_SRC_BARE,                /* -Switch with no value */
	BINDER_SRC_TEXT,                /* command-line text */
	BINDER_SRC_JSON,                /* --params, or a socket client's object */
};

struct binder_entry {
	char name[BINDER_MAX_NAME + 1]; /* canonical, or as written when passed through */
	const struct catalogue_param *param;    /* NULL: passed through, common, unbound */
	int common;                     /* enum binder_common_id, or -1 */
	enum binder_src src;
	int dashed;                     /* named by the caller: naming it again is an error */
	int positional;                 /* a value without a name */
	int comma_before;               /* positional, and the argument before it ended with ',' */
	struct binder_span text;
	char *owned;                    /* text joined from several arguments */
	yajl_val json;
};

struct binder {
	struct binder_ctx ctx;
	enum binder_mode mode;
	unsigned services;              /* the profile's (enum catalogue_service); 0: any */
	const struct catalogue_cmdlet *cmdlet;
	struct binder_result *res;
	struct binder_entry *e;         /* grown on demand: most commands name few parameters */
	size_t n, cap;
	yajl_val trees[BINDER_MAX_PARAMS];
	size_t ntrees;
	const uint32_t *mask;           /* the sets each parameter is in (binder_masks) */
	uint32_t all;
	char cmdlet_name[BINDER_MAX_NAME + 1];
};

static const struct binder_common_def {
	const char *name, *alias;
	int is_switch;
} binder_commons[BINDER_COMMON_COUNT] = {
	[BINDER_ERROR_ACTION] = { "ErrorAction", "ea", 0 },
	[BINDER_WARNING_ACTION] = { "WarningAction", "wa", 0 },
	[BINDER_INFORMATION_ACTION] = { "InformationAction", "infa", 0 },
	[BINDER_VERBOSE] = { "Verbose", "vb", 1 },
	[BINDER_DEBUG] = { "Debug", "db", 1 },
	[BINDER_ERROR_VARIABLE] = { "ErrorVariable", "ev", 0 },
	[BINDER_WARNING_VARIABLE] = { "WarningVariable", "wv", 0 },
	[BINDER_INFORMATION_VARIABLE] = { "InformationVariable", "iv", 0 },
	[BINDER_OUT_VARIABLE] = { "OutVariable", "ov", 0 },
	[BINDER_PIPELINE_VARIABLE] = { "PipelineVariable", "pv", 0 },
	[BINDER_OUT_BUFFER] = { "OutBuffer", "ob", 0 },
};

/* What to do instead of sending each SecureString parameter of the catalogue. */
static const struct binder_secure {
	const char *cmdlet, *param, *instead;
} binder_secure[] = {
	{ "New-Mailbox", "Password",
	  "create the user with its password in the Microsoft 365 admin center or with Microsoft "
	  "Graph, where it is a plain value (shared, room and equipment mailboxes need none)" },
	{ "New-Mailbox", "RoomMailboxPassword",
	  "create the room without it, then set the room account's password in the Microsoft 365 "
	  "admin center or with Microsoft Graph" },
	{ "Set-Mailbox", "Password",
	  "reset the password in the Microsoft 365 admin center or with Microsoft Graph" },
	{ "Set-Mailbox", "RoomMailboxPassword",
	  "set the room account's password in the Microsoft 365 admin center or with Microsoft Graph" },
	{ "New-MailUser", "Password",
	  "create the user with its password in the Microsoft 365 admin center or with Microsoft Graph" },
	{ "Set-MailUser", "Password",
	  "reset the password in the Microsoft 365 admin center or with Microsoft Graph" },
	{ "Undo-SoftDeletedMailbox", "Password",
	  "restore the deleted user in the Microsoft 365 admin center (Deleted users), which brings "
	  "the mailbox back, and set its password there" },
	{ "Export-QuarantineMessage", "Password",
	  "export without -Password (the file is then not encrypted), or from the Microsoft Defender "
	  "portal" },
	{ "New-MigrationEndpoint", "OAuthCode",
	  "create the endpoint in the Exchange admin center, which runs the OAuth sign-in itself" },
	{ "Connect-ExchangeOnline", "CertificatePassword",
	  "let exod sign in: its profiles in exod.conf name the certificate (exod.conf(5))" },
	{ "Connect-IPPSSession", "CertificatePassword",
	  "let exod sign in: its profiles in exod.conf name the certificate (exod.conf(5))" },
};

/* ---- names ---- */

static int binder_has_prefix(const char *full, const char *name, size_t len)
{
	return strlen(full) >= len && strncasecmp(full, name, len) == 0;
}

static int binder_common_exact(const char *name, size_t len)
{
	for (int i = 0; i < BINDER_COMMON_COUNT; i++)
		if ((strlen(binder_commons[i].name) == len && strncasecmp(binder_commons[i].name, name, len) == 0) ||
		    (strlen(binder_commons[i].alias) == len && strncasecmp(binder_commons[i].alias, name, len) == 0))
			return i;
	return -1;
}

static int binder_refuse_secure(struct binder *b, const struct catalogue_param *p)
{
	const char *cmdlet = catalogue_cmdlet_name(b->cmdlet), *name = catalogue_param_name(p);
	const char *instead = "set the value where Microsoft's portals or Microsoft Graph take it in plain";

	for (size_t i = 0; i < sizeof(binder_secure) / sizeof(binder_secure[0]); i++)
		if (strcmp(binder_secure[i].cmdlet, cmdlet) == 0 && strcmp(binder_secure[i].param, name) == 0)
			instead = binder_secure[i].instead;
	return binder_fail(&b->ctx, "%s -%s is a SecureString: the Exchange Online module encrypts it with "
			   "a Microsoft public key that is not published, so it cannot be sent from here. "
			   "Instead, %s.", cmdlet, name, instead);
}

/* Up to BINDER_MAX_CANDIDATES entries of a ranking, best first. */
struct binder_rank {
	const char *name[BINDER_MAX_CANDIDATES];
	size_t score[BINDER_MAX_CANDIDATES];
	size_t n;
};

static void binder_rank_add(struct binder_rank *r, const char *name, size_t score)
{
	size_t i = r->n;

	while (i > 0 && (r->score[i - 1] > score ||
			 (r->score[i - 1] == score && strcasecmp(r->name[i - 1], name) > 0)))
		i--;
	if (i >= BINDER_MAX_CANDIDATES)
		return;
	if (r->n < BINDER_MAX_CANDIDATES)
		r->n++;
	memmove(&r->name[i + 1], &r->name[i], (r->n - 1 - i) * sizeof(r->name[0]));
	memmove(&r->score[i + 1], &r->score[i], (r->n - 1 - i) * sizeof(r->score[0]));
	r->name[i] = name;
	r->score[i] = score;
}

static unsigned char binder_lower(unsigned char ch)
{
	return ch >= 'A' && ch <= 'Z' ? (unsigned char)(ch - 'A' + 'a') : ch;
}

static size_t binder_min3(size_t a, size_t b, size_t c)
{
	size_t m = a < b ? a : b;

	return m < c ? m : c;
}

/* Optimal string alignment distance (a swap of two letters costs 1), ignoring case. */
static size_t binder_distance(const char *a, size_t la, const char *b, size_t lb)
{
	size_t rows[3][BINDER_MAX_NAME + 2];
	size_t *pp = rows[0], *p = rows[1], *cur = rows[2];

	if (la > BINDER_MAX_NAME || lb > BINDER_MAX_NAME)
		return SIZE_MAX;
	for (size_t j = 0; j <= lb; j++)
		p[j] = j;
	for (size_t i = 1; i <= la; i++) {
		cur[0] = i;
		for (size_t j = 1; j <= lb; j++) {
			unsigned char x = binder_lower((unsigned char)a[i - 1]), y = binder_lower((unsigned char)b[j - 1]);

			cur[j] = binder_min3(p[j] + 1, cur[j - 1] + 1, p[j - 1] + (x != y));
			if (i > 1 && j > 1 && x == binder_lower((unsigned char)b[j - 2]) &&
			    binder_lower((unsigned char)a[i - 2]) == y && pp[j - 2] + 1 < cur[j])
				cur[j] = pp[j - 2] + 1;
		}
		size_t *t = pp;

		pp = p;
		p = cur;
		cur = t;
	}
	return p[lb];
}

static int binder_contains(const char *hay, const char *needle, size_t len)
{
	for (size_t i = 0; hay[i] != '\0'; i++)
		if (binder_has_prefix(hay + i, needle, len))
			return 1;
	return 0;
}

/* How close a known name is to the one written: a small number, or SIZE_MAX for not close. */
static size_t binder_closeness(const char *known, const char *name, size_t len)
{
	size_t limit = len / 3 < 1 ? 1 : len / 3 > 3 ? 3 : len / 3;
	size_t d = binder_distance(name, len, known, strlen(known));

	if (d <= limit)
		return d;
	if (len >= 3 && binder_contains(known, name, len))
		return 4;
	return SIZE_MAX;
}

/* "-A", "-A or -B", "-A, -B or -C". */
static void binder_or_list(const struct binder_rank *r, char *out, size_t outlen)
{
	size_t o = 0;

	out[0] = '\0';
	for (size_t i = 0; i < r->n && o < outlen; i++) {
		int n = snprintf(out + o, outlen - o, "%s-%s", i == 0 ? "" : i + 1 == r->n ? " or " : ", ",
				 r->name[i]);

		o += n > 0 ? (size_t)n : 0;
	}
}

static int binder_unknown(struct binder *b, const char *name, size_t len)
{
	struct binder_rank r = { .n = 0 };
	char list[BINDER_LIST_LEN];

	for (size_t i = 0; i < catalogue_param_count(b->cmdlet); i++) {
		const char *known = catalogue_param_name(catalogue_param_at(b->cmdlet, i));
		size_t s = binder_closeness(known, name, len);

		if (s != SIZE_MAX)
			binder_rank_add(&r, known, s);
	}
	for (int i = 0; i < BINDER_COMMON_COUNT; i++) {
		size_t s = binder_closeness(binder_commons[i].name, name, len);

		if (s != SIZE_MAX)
			binder_rank_add(&r, binder_commons[i].name, s);
	}
	if (r.n == 0)
		return binder_fail(&b->ctx, "%s has no parameter -%.*s, nor one with a similar name.",
				   b->ctx.cmdlet, (int)len, name);
	binder_or_list(&r, list, sizeof(list));
	return binder_fail(&b->ctx, "%s has no parameter -%.*s; did you mean %s?", b->ctx.cmdlet,
			   (int)len, name, list);
}

/* Appends "-name" to a list in a message, or counts it when the list is full. */
static void binder_list_add(char *list, size_t *o, size_t *more, const char *name)
{
	int n;

	if (*o + strlen(name) + 16 >= BINDER_LIST_LEN) {
		(*more)++;
		return;
	}
	n = snprintf(list + *o, BINDER_LIST_LEN - *o, "%s-%s", *o == 0 ? "" : ", ", name);
	*o += n > 0 ? (size_t)n : 0;
}

static int binder_param_matches(const struct catalogue_param *p, const char *name, size_t len)
{
	if (binder_has_prefix(catalogue_param_name(p), name, len))
		return 1;
	for (size_t a = 0; a < catalogue_param_alias_count(p); a++)
		if (binder_has_prefix(catalogue_param_alias(p, a), name, len))
			return 1;
	return 0;
}

static int binder_ambiguous(struct binder *b, const char *name, size_t len)
{
	char list[BINDER_LIST_LEN];
	size_t o = 0, more = 0;

	list[0] = '\0';
	for (size_t i = 0; i < catalogue_param_count(b->cmdlet); i++) {
		const struct catalogue_param *p = catalogue_param_at(b->cmdlet, i);

		if (binder_param_matches(p, name, len))
			binder_list_add(list, &o, &more, catalogue_param_name(p));
	}
	for (int i = 0; i < BINDER_COMMON_COUNT; i++)
		if (binder_has_prefix(binder_commons[i].name, name, len) ||
		    binder_has_prefix(binder_commons[i].alias, name, len))
			binder_list_add(list, &o, &more, binder_commons[i].name);
	if (more > 0)
		return binder_fail(&b->ctx, "%s: the parameter name -%.*s is ambiguous: it could be %s "
				   "and %zu more; write more of the name.", b->ctx.cmdlet, (int)len, name, list, more);
	return binder_fail(&b->ctx, "%s: the parameter name -%.*s is ambiguous: it could be %s; write "
			   "more of the name.", b->ctx.cmdlet, (int)len, name, list);
}

/* A unique prefix of a parameter, alias or common parameter, as PowerShell allows. */
static int binder_prefix(struct binder *b, const char *name, size_t len, struct binder_entry *e)
{
	size_t hits = 0;

	for (size_t i = 0; i < catalogue_param_count(b->cmdlet); i++) {
		const struct catalogue_param *p = catalogue_param_at(b->cmdlet, i);

		if (binder_param_matches(p, name, len) && hits++ == 0)
			e->param = p;
	}
	for (int i = 0; i < BINDER_COMMON_COUNT; i++)
		if ((binder_has_prefix(binder_commons[i].name, name, len) ||
		     binder_has_prefix(binder_commons[i].alias, name, len)) && hits++ == 0)
			e->common = i;
	if (hits == 1)
		return 0;
	e->param = NULL;
	e->common = -1;
	return hits == 0 ? binder_unknown(b, name, len) : binder_ambiguous(b, name, len);
}

/* A parameter of another service than the profile's, as its proxy module would lack it. */
static int binder_other_service(struct binder *b, const struct catalogue_param *p)
{
	char has[BINDER_SERVICES_LEN], want[BINDER_SERVICES_LEN];

	return binder_fail(&b->ctx, "%s -%s applies to %s only, not to %s, which this profile "
			   "speaks to.", b->ctx.cmdlet, catalogue_param_name(p),
			   catalogue_services_text(catalogue_param_services(p), has, sizeof(has)),
			   catalogue_services_text(b->services, want, sizeof(want)));
}

/* Fills e->param or e->common, and e->name, from the name as written. */
static int binder_resolve(struct binder *b, const char *name, size_t len, struct binder_entry *e)
{
	const char *canonical = NULL;

	e->param = NULL;
	e->common = b->mode == BINDER_PLAIN ? -1 : binder_common_exact(name, len);
	if (b->mode == BINDER_CATALOGUE && e->common < 0) {
		e->param = catalogue_param_find(b->cmdlet, name, len);
		if (e->param == NULL && binder_prefix(b, name, len, e) < 0)
			return -1;
	}
	if (e->param != NULL && catalogue_param_kind(e->param) == CATALOGUE_SECURE)
		return binder_refuse_secure(b, e->param);
	if (e->param != NULL && b->services != 0 && !(catalogue_param_services(e->param) & b->services))
		return binder_other_service(b, e->param);
	if (e->param != NULL)
		canonical = catalogue_param_name(e->param);
	else if (e->common >= 0)
		canonical = binder_commons[e->common].name;
	if (canonical != NULL)
		utf8_copy(e->name, sizeof(e->name), canonical, strlen(canonical));
	else
		utf8_copy(e->name, sizeof(e->name), name, len);
	return 0;
}

/* ---- entries ---- */

static void binder_entry_clear(struct binder_entry *e)
{
	if (e->owned != NULL) {
		sbuf_wipe(e->owned, e->text.len);
		free(e->owned);
	}
	memset(e, 0, sizeof(*e));
	e->common = -1;
}

static int binder_same(const struct binder_entry *a, const struct binder_entry *b)
{
	if (a->positional || b->positional)
		return 0;
	if (a->param != NULL || b->param != NULL)
		return a->param == b->param;
	if (a->common >= 0 || b->common >= 0)
		return a->common == b->common;
	return strcasecmp(a->name, b->name) == 0;
}

static int binder_twice(struct binder *b, const struct binder_entry *first)
{
	if (b->mode == BINDER_PLAIN)
		return binder_fail(&b->ctx, "parameter -%s is given twice", first->name);
	return binder_fail(&b->ctx, "%s: -%s is given twice.", b->ctx.cmdlet, first->name);
}

static int binder_grow(struct binder *b)
{
	size_t cap = b->cap == 0 ? BINDER_FIRST_ENTRIES : b->cap * 2;
	struct binder_entry *e;

	if (cap > BINDER_MAX_PARAMS)
		cap = BINDER_MAX_PARAMS;
	e = realloc(b->e, cap * sizeof(*e));
	if (e == NULL)
		return binder_fail(&b->ctx, "out of memory");
	b->e = e;
	b->cap = cap;
	return 0;
}

/* Adds or, when merged from --params, replaces; takes ownership of e->owned. */
static int binder_add(struct binder *b, struct binder_entry *e)
{
	struct binder_entry *old = NULL;
	int rc = 0;

	for (size_t i = 0; i < b->n && old == NULL; i++)
		if (binder_same(&b->e[i], e))
			old = &b->e[i];
	if (old != NULL && old->dashed && e->dashed)
		rc = binder_twice(b, old);
	else if (old == NULL && b->n >= BINDER_MAX_PARAMS)
		rc = b->mode == BINDER_PLAIN ? binder_fail(&b->ctx, "more than %d parameters", BINDER_MAX_PARAMS)
					     : binder_fail(&b->ctx, "%s: more than %d parameters.", b->ctx.cmdlet,
							   BINDER_MAX_PARAMS);
	if (rc == 0 && old == NULL && (b->e == NULL || b->n == b->cap))
		rc = binder_grow(b);
	if (rc < 0) {
		binder_entry_clear(e);
		return -1;
	}
	if (old == NULL) {
		old = &b->e[b->n++];
		memset(old, 0, sizeof(*old));
	}
	binder_entry_clear(old);
	*old = *e;
	return 0;
}

static int binder_is_switch(const struct binder_entry *e)
{
	if (e->common >= 0)
		return binder_commons[e->common].is_switch;
	return e->param != NULL && catalogue_param_kind(e->param) == CATALOGUE_SWITCH;
}

static int binder_is_bool(const struct binder_entry *e)
{
	return binder_is_switch(e) ||
	       (e->param != NULL && catalogue_param_kind(e->param) == CATALOGUE_BOOLEAN);
}

/* Where text from several arguments joins into one list ("a," "b"): lists, or the grammar alone. */
static int binder_joins(const struct binder_entry *e)
{
	if (e->common >= 0)
		return 0;
	if (e->param == NULL)
		return 1;
	return (catalogue_param_flags(e->param) & CATALOGUE_MULTI) != 0;
}

static int binder_join(struct binder *b, int argc, char *const argv[], int *i, struct binder_entry *e)
{
	while (binder_ends_with_comma(e->text.s, e->text.len) && *i + 1 < argc && argv[*i + 1] != NULL &&
	       !binder_is_name(argv[*i + 1]) && !binder_is_merge(argv[*i + 1])) {
		const char *next = argv[++*i];
		size_t nlen = strnlen(next, BINDER_MAX_VALUE + 1);
		char *joined;

		if (e->text.len + nlen > BINDER_MAX_VALUE)
			return binder_fail(&b->ctx, "value of -%s is longer than %d bytes", e->name, BINDER_MAX_VALUE);
		if ((joined = malloc(e->text.len + nlen + 1)) == NULL)
			return binder_fail(&b->ctx, "out of memory");
		memcpy(joined, e->text.s, e->text.len);
		memcpy(joined + e->text.len, next, nlen);
		joined[e->text.len + nlen] = '\0';
		if (e->owned != NULL) {
			sbuf_wipe(e->owned, e->text.len);
			free(e->owned);
		}
		e->owned = joined;
		e->text.s = joined;
		e->text.len += nlen;
	}
	return 0;
}

/* What a common parameter takes, for messages. */
static const char *binder_common_takes(int id)
{
	if (binder_commons[id].is_switch)
		return "$true or $false";
	if (id == BINDER_ERROR_ACTION || id == BINDER_WARNING_ACTION || id == BINDER_INFORMATION_ACTION)
		return "Continue, Stop, SilentlyContinue, Ignore or Inquire";
	if (id == BINDER_OUT_BUFFER)
		return "a whole number";
	return "a variable name";
}

static int binder_needs_value(struct binder *b, const struct binder_entry *e)
{
	if (e->common >= 0 && !binder_commons[e->common].is_switch)
		return binder_fail(&b->ctx, "%s -%s needs a value: %s.", b->ctx.cmdlet, e->name,
				   binder_common_takes(e->common));
	if (binder_is_bool(e))
		return binder_fail(&b->ctx, "%s -%s needs a value: $true or $false. In bash, $false unquoted "
				   "or in double quotes expands to nothing, so write '$false' in single quotes, "
				   "or false.", b->ctx.cmdlet, e->name);
	return binder_fail(&b->ctx, "%s -%s needs a value (%s). In bash, write '$null' in single quotes "
			   "to send null.", b->ctx.cmdlet, e->name,
			   e->param != NULL ? catalogue_kind_name(catalogue_param_kind(e->param)) : "a value");
}

static int binder_colon_empty(struct binder *b, const struct binder_entry *e)
{
	if (b->mode != BINDER_PLAIN && binder_is_bool(e))
		return binder_fail(&b->ctx, "%s -%s: needs a value after ':'. In bash, -%s:$false unquoted "
				   "loses its $false, which expands to nothing: write '-%s:$false' in single "
				   "quotes, or -%s:false.", b->ctx.cmdlet, e->name, e->name, e->name, e->name);
	if (b->mode == BINDER_PLAIN)
		return binder_fail(&b->ctx, "-%s: needs a value after ':'", e->name);
	return binder_fail(&b->ctx, "%s -%s: needs a value after ':'.", b->ctx.cmdlet, e->name);
}

/* 1 or 0: a Boolean word, but also a plausible value by position. */
static int binder_is_digit_word(struct binder_span v)
{
	v = binder_trim(v);
	if (binder_quoted(v))
		v.len -= 2;
	return v.len == 1;
}

/* "-Archive false": PowerShell would bind 'false' by position, which nobody means. */
static int binder_switch_then_word(struct binder *b, const struct binder_entry *e, const char *next)
{
	struct binder_span v = { next, strnlen(next, BINDER_MAX_VALUE + 1) };
	int word;

	if (!binder_bool_word(v, &word) || binder_is_digit_word(v))
		return 0;
	return binder_fail(&b->ctx, "%s -%s is a switch and takes no separate value, so '%s' would be "
			   "a value by position: write -%s:%s (in bash '-%s:$false' in single quotes, or "
			   "-%s:false).", b->ctx.cmdlet, e->name, word ? "true" : "false", e->name,
			   word ? "$true" : "$false", e->name, e->name);
}

/* The value of -Name: after ':' or in the next argument; none for a switch. */
static int binder_value_of(struct binder *b, int argc, char *const argv[], int *i,
			   const char *colon, struct binder_entry *e)
{
	int known = e->param != NULL || e->common >= 0;
	const char *next = *i + 1 < argc ? argv[*i + 1] : NULL;

	if (colon != NULL && colon[1] != '\0')
		e->text.s = colon + 1;
	else if (colon != NULL && next != NULL && !(known && binder_is_bool(e) && binder_is_name(next)))
		e->text.s = argv[++*i];
	else if (colon != NULL)
		return binder_colon_empty(b, e);
	else if (known && binder_is_switch(e))
		return next != NULL && !binder_is_name(next) ? binder_switch_then_word(b, e, next) : 0;
	else if (next != NULL && !binder_is_name(next) && !binder_is_merge(next))
		e->text.s = argv[++*i];
	else if (known)
		return binder_needs_value(b, e);
	if (e->text.s == NULL)
		return 0;               /* a switch as the grammar alone reads it */
	e->src = BINDER_SRC_TEXT;
	e->text.len = strnlen(e->text.s, BINDER_MAX_VALUE + 1);
	return binder_joins(e) ? binder_join(b, argc, argv, i, e) : 0;
}

static int binder_take(struct binder *b, int argc, char *const argv[], int *i)
{
	const char *a = argv[*i] + 1;
	size_t alen = strnlen(a, BINDER_MAX_VALUE);
	const char *colon = memchr(a, ':', alen);
	size_t nlen = colon != NULL ? (size_t)(colon - a) : alen;
	struct binder_entry e = { .src = BINDER_SRC_BARE, .dashed = 1, .common = -1 };
	char q[BINDER_QUOTE_LEN];

	if (!binder_valid_name(a, nlen))
		return binder_fail(&b->ctx, "invalid parameter name %s (letters and digits, at most %d)",
				   binder_quote(a - 1, nlen + 1, q, sizeof(q)), BINDER_MAX_NAME);
	if (binder_resolve(b, a, nlen, &e) < 0)
		return -1;
	if (binder_value_of(b, argc, argv, i, colon, &e) < 0) {
		binder_entry_clear(&e);
		return -1;
	}
	return binder_add(b, &e);
}

static int binder_positional(struct binder *b, char *const argv[], int i)
{
	struct binder_entry e = { .src = BINDER_SRC_TEXT, .positional = 1, .common = -1 };
	char q[BINDER_QUOTE_LEN];
	const char *a = argv[i];
	size_t len = strnlen(a, BINDER_MAX_VALUE + 1);

	if (b->mode == BINDER_PLAIN)
		return binder_fail(&b->ctx, "%s is a value with no -Name before it "
				   "(write -Name value; quote a value that starts with '-' as -Name:value)",
				   binder_quote(a, len, q, sizeof(q)));
	if (b->mode == BINDER_PASS)
		return binder_fail(&b->ctx, "%s is not in the cmdlet catalogue, so the value %s cannot be bound "
				   "by position: name its parameter (-Name value).", b->ctx.cmdlet,
				   binder_quote(a, len, q, sizeof(q)));
	e.text.s = a;
	e.text.len = len;
	e.comma_before = i > 0 && binder_ends_with_comma(argv[i - 1], strnlen(argv[i - 1], BINDER_MAX_VALUE));
	return binder_add(b, &e);
}

static int binder_merge_key(struct binder *b, const char *key, yajl_val v, int dashed)
{
	struct binder_entry e = { .src = BINDER_SRC_JSON, .json = v, .dashed = dashed, .common = -1 };
	size_t len = strnlen(key, BINDER_MAX_NAME + 1);
	char q[BINDER_QUOTE_LEN];

	if (!binder_valid_name(key, len))
		return binder_fail(&b->ctx, "%s: invalid parameter name %s", dashed ? "params" : "--params",
				   binder_quote(key, strnlen(key, BINDER_MAX_VALUE), q, sizeof(q)));
	if (binder_resolve(b, key, len, &e) < 0)
		return -1;
	return binder_add(b, &e);
}

static int binder_merge(struct binder *b, const char *json)
{
	char why[128];
	yajl_val tree;
	size_t len;

	if (json == NULL)
		return binder_fail(&b->ctx, "--params needs a JSON object");
	if ((len = strnlen(json, BINDER_MAX_JSON + 1)) > BINDER_MAX_JSON)
		return binder_fail(&b->ctx, "--params is longer than %d bytes", BINDER_MAX_JSON);
	if (b->ntrees >= BINDER_MAX_PARAMS)
		return binder_fail(&b->ctx, "too many --params");
	if ((tree = jtree_parse(json, len, why, sizeof(why))) == NULL)
		return strcmp(why, "not valid JSON") == 0 ? binder_fail(&b->ctx, "--params is not valid JSON")
		       : binder_fail(&b->ctx, "--params is not valid JSON: %s", why);
	b->trees[b->ntrees++] = tree;
	if (!YAJL_IS_OBJECT(tree))
		return binder_fail(&b->ctx, "--params must be a JSON object");
	for (size_t k = 0; k < tree->u.object.len; k++)
		if (binder_merge_key(b, tree->u.object.keys[k], tree->u.object.values[k], 0) < 0)
			return -1;
	return 0;
}

static int binder_collect(struct binder *b, int argc, char *const argv[])
{
	char q[BINDER_QUOTE_LEN];

	if (argc > BINDER_MAX_ARGS)
		return binder_fail(&b->ctx, "more than %d arguments", BINDER_MAX_ARGS);
	/* All of them first: a value is often read with the name before it. */
	for (int i = 0; i < argc; i++) {
		if (argv[i] == NULL)
			return binder_fail(&b->ctx, "argument %d is missing (NULL)", i + 1);
		if (strnlen(argv[i], BINDER_MAX_VALUE + 1) > BINDER_MAX_VALUE)
			return binder_fail(&b->ctx, "argument %d is longer than %d bytes", i + 1, BINDER_MAX_VALUE);
	}
	for (int i = 0; i < argc; i++) {
		const char *a = argv[i];
		int rc;

		if (binder_is_merge(a)) {
			const char *json = a[8] == '=' ? a + 9 : i + 1 < argc ? argv[++i] : NULL;

			rc = binder_merge(b, json);
		} else if (binder_is_name(a)) {
			rc = binder_take(b, argc, argv, &i);
		} else if (strncmp(a, "--", 2) == 0) {
			rc = binder_fail(&b->ctx, "unknown option %s",
					 binder_quote(a, strnlen(a, BINDER_MAX_VALUE), q, sizeof(q)));
		} else {
			rc = binder_positional(b, argv, i);
		}
		if (rc < 0)
			return -1;
	}
	return 0;
}

/* ---- parameter sets and positions ---- */

static size_t binder_index(const struct binder *b, const struct catalogue_param *p)
{
	return catalogue_param_index(b->cmdlet, p);
}

/*
 * The sets each parameter of the cmdlet is in.  The catalogue never
 * changes, so the last cmdlet's masks are kept: a daemon runs the same
 * few cmdlets over and over, and working them out costs more than the
 * rest of the binding.
 */
static void binder_masks(struct binder *b)
{
	static const struct catalogue_cmdlet *cached;
	static uint32_t masks[BINDER_MAX_CMDLET_PARAMS], all;
	size_t ns = catalogue_set_count(b->cmdlet), np = catalogue_param_count(b->cmdlet);
	struct catalogue_member m;

	b->mask = masks;
	if (cached == b->cmdlet) {
		b->all = all;
		return;
	}
	all = ns >= BINDER_MAX_SETS ? UINT32_MAX : (UINT32_C(1) << ns) - 1;
	memset(masks, 0, sizeof(masks));
	for (size_t s = 0; s < ns && s < BINDER_MAX_SETS; s++)
		for (size_t i = 0; catalogue_set_member(catalogue_set_at(b->cmdlet, s), i, &m) == 0; i++)
			masks[m.param] |= UINT32_C(1) << s;
	/* A parameter the docs put in no set (New-RoleGroup -WellKnownObject) fits every set. */
	for (size_t p = 0; p < np; p++)
		if (masks[p] == 0)
			masks[p] = all;
	cached = b->cmdlet;
	b->all = all;
}

static int binder_conflict(struct binder *b, size_t upto)
{
	const struct binder_entry *e = &b->e[upto];
	uint32_t m = b->mask[binder_index(b, e->param)];

	for (size_t i = 0; i < upto; i++)
		if (b->e[i].param != NULL && (b->mask[binder_index(b, b->e[i].param)] & m) == 0)
			return binder_fail(&b->ctx, "%s: -%s and -%s cannot be used together (no parameter "
					   "set has both).", b->ctx.cmdlet, b->e[i].name, e->name);
	return binder_fail(&b->ctx, "%s: -%s cannot be used together with the parameters before it (no "
			   "parameter set has them all).", b->ctx.cmdlet, e->name);
}

/* The sets that every parameter given (by name so far) belongs to. */
static int binder_valid_sets(struct binder *b, uint32_t *valid)
{
	*valid = b->all;
	for (size_t i = 0; i < b->n; i++) {
		uint32_t m;

		if (b->e[i].param == NULL)
			continue;
		m = b->mask[binder_index(b, b->e[i].param)];
		if ((*valid & m) == 0)
			return binder_conflict(b, i);
		*valid &= m;
	}
	return 0;
}

static int binder_bound(const struct binder *b, const struct catalogue_param *p)
{
	for (size_t i = 0; i < b->n; i++)
		if (b->e[i].param == p)
			return 1;
	return 0;
}

/* The first parameter of set s at position pos that is not bound yet. */
static const struct catalogue_param *binder_set_position(const struct binder *b, size_t s, int pos)
{
	const struct catalogue_set *set = catalogue_set_at(b->cmdlet, s);
	struct catalogue_member m;

	for (size_t i = 0; catalogue_set_member(set, i, &m) == 0; i++) {
		const struct catalogue_param *p = catalogue_param_at(b->cmdlet, m.param);

		if (m.position == pos && !binder_bound(b, p))
			return p;
	}
	return NULL;
}

static int binder_default_set(const struct binder *b, uint32_t valid)
{
	for (size_t s = 0; s < catalogue_set_count(b->cmdlet) && s < BINDER_MAX_SETS; s++)
		if ((valid & (UINT32_C(1) << s)) && catalogue_set_is_default(catalogue_set_at(b->cmdlet, s)))
			return (int)s;
	return -1;
}

/* As PowerShell: the default set's parameter at pos first, then the other valid sets in order. */
static const struct catalogue_param *binder_at_position(const struct binder *b, int pos, uint32_t valid)
{
	int def = binder_default_set(b, valid);
	const struct catalogue_param *p = def >= 0 ? binder_set_position(b, (size_t)def, pos) : NULL;

	for (size_t s = 0; p == NULL && s < catalogue_set_count(b->cmdlet) && s < BINDER_MAX_SETS; s++)
		if (valid & (UINT32_C(1) << s))
			p = binder_set_position(b, s, pos);
	return p;
}

static size_t binder_next_positional(const struct binder *b, size_t from)
{
	while (from < b->n && !(b->e[from].positional && b->e[from].param == NULL))
		from++;
	return from;
}

static int binder_too_many(struct binder *b, const struct binder_entry *e)
{
	char buf[BINDER_QUOTE_LEN];
	const char *q = binder_quote(e->text.s, e->text.len, buf, sizeof(buf));

	if (e->comma_before)
		return binder_fail(&b->ctx, "%s: no parameter takes the value %s by position. The argument "
				   "before it ends with a comma: if they are one value, quote it whole, as in "
				   "-DisplayName 'Vance, Adele' (only multi-valued parameters take lists).",
				   b->ctx.cmdlet, q);
	return binder_fail(&b->ctx, "%s: no parameter takes the value %s by position; name its "
			   "parameter (-Name value).", b->ctx.cmdlet, q);
}

static int binder_bind_positions(struct binder *b, uint32_t *valid)
{
	size_t next = binder_next_positional(b, 0);

	for (int pos = 0; pos <= BINDER_MAX_POSITION && next < b->n; pos++) {
		const struct catalogue_param *p = binder_at_position(b, pos, *valid);

		if (p == NULL)
			continue;
		if (catalogue_param_kind(p) == CATALOGUE_SECURE)
			return binder_refuse_secure(b, p);
		b->e[next].param = p;
		snprintf(b->e[next].name, sizeof(b->e[next].name), "%s", catalogue_param_name(p));
		*valid &= b->mask[binder_index(b, p)];
		next = binder_next_positional(b, next + 1);
	}
	return next < b->n ? binder_too_many(b, &b->e[next]) : 0;
}

static int binder_required_bound(const struct binder *b, size_t s)
{
	const struct catalogue_set *set = catalogue_set_at(b->cmdlet, s);
	struct catalogue_member m;

	for (size_t i = 0; catalogue_set_member(set, i, &m) == 0; i++)
		if (m.required && !binder_bound(b, catalogue_param_at(b->cmdlet, m.param)))
			return 0;
	return 1;
}

/* One set left; else the default; else the only one whose required parameters are all given. */
static int binder_choose(const struct binder *b, uint32_t valid)
{
	int one = -1, count = 0, def = binder_default_set(b, valid);

	for (size_t s = 0; s < catalogue_set_count(b->cmdlet) && s < BINDER_MAX_SETS; s++)
		if (valid & (UINT32_C(1) << s))
			count++, one = (int)s;
	if (count <= 1)
		return one;
	if (def >= 0)
		return def;
	one = -1;
	count = 0;
	for (size_t s = 0; s < catalogue_set_count(b->cmdlet) && s < BINDER_MAX_SETS; s++)
		if ((valid & (UINT32_C(1) << s)) && binder_required_bound(b, s))
			count++, one = (int)s;
	return count == 1 ? one : -1;
}

static void binder_missing(const struct binder *b, int s, char *out, size_t outlen)
{
	struct catalogue_member m;
	size_t o = 0;

	out[0] = '\0';
	if (s < 0)
		return;
	for (size_t i = 0; catalogue_set_member(catalogue_set_at(b->cmdlet, (size_t)s), i, &m) == 0; i++) {
		const char *name = catalogue_param_name(catalogue_param_at(b->cmdlet, m.param));

		if (!m.required || binder_bound(b, catalogue_param_at(b->cmdlet, m.param)))
			continue;
		if (o + strlen(name) + 4 >= outlen)
			break;
		o += (size_t)snprintf(out + o, outlen - o, "%s-%s", o == 0 ? "" : ", ", name);
	}
}

static int binder_sets(struct binder *b)
{
	uint32_t valid;

	binder_masks(b);
	if (binder_valid_sets(b, &valid) < 0 || binder_bind_positions(b, &valid) < 0)
		return -1;
	b->res->set = binder_choose(b, valid);
	binder_missing(b, b->res->set, b->res->missing, sizeof(b->res->missing));
	return 0;
}

/* ---- common parameters ---- */

static int binder_common_action(struct binder *b, int id, struct binder_span v, char *out)
{
	static const char *const actions[] = { "Continue", "Stop", "SilentlyContinue", "Ignore", "Inquire" };
	char q[BINDER_QUOTE_LEN];

	for (size_t i = 0; i < sizeof(actions) / sizeof(actions[0]); i++)
		if (v.len == strlen(actions[i]) && strncasecmp(v.s, actions[i], v.len) == 0) {
			snprintf(out, BINDER_MAX_COMMON_VALUE + 1, "%s", actions[i]);
			return 0;
		}
	if (v.len == 7 && strncasecmp(v.s, "Suspend", 7) == 0)
		return binder_fail(&b->ctx, "%s -%s: Suspend is for PowerShell workflows only; use Continue, "
				   "Stop, SilentlyContinue, Ignore or Inquire.", b->ctx.cmdlet,
				   binder_commons[id].name);
	return binder_fail(&b->ctx, "%s -%s takes Continue, Stop, SilentlyContinue, Ignore or Inquire, "
			   "not %s.", b->ctx.cmdlet, binder_commons[id].name, binder_quote(v.s, v.len, q, sizeof(q)));
}

/* A variable name as the common parameters take it: '+' to append, then letters, digits, _ and :. */
static int binder_common_variable(struct binder *b, int id, struct binder_span v, char *out)
{
	size_t i = v.len > 0 && v.s[0] == '+';
	int ok = v.len > i && v.len <= BINDER_MAX_COMMON_VALUE;
	char q[BINDER_QUOTE_LEN];

	for (size_t j = i; ok && j < v.len; j++) {
		char ch = v.s[j];

		ok = (ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') ||
		     ch == '_' || ch == ':';
	}
	if (!ok)
		return binder_fail(&b->ctx, "%s -%s takes a variable name (letters, digits, _ and :, with + "
				   "in front to append), not %s.", b->ctx.cmdlet, binder_commons[id].name,
				   binder_quote(v.s, v.len, q, sizeof(q)));
	memcpy(out, v.s, v.len);
	out[v.len] = '\0';
	return 0;
}

static int binder_common_buffer(struct binder *b, int id, struct binder_span v, char *out)
{
	unsigned long n = 0;
	size_t i = 0;
	char q[BINDER_QUOTE_LEN];

	while (i < v.len && v.s[i] >= '0' && v.s[i] <= '9' && n <= 2147483647UL)
		n = n * 10 + (unsigned long)(v.s[i++] - '0');
	if (v.len == 0 || i < v.len || n > 2147483647UL)
		return binder_fail(&b->ctx, "%s -%s takes a whole number from 0 to 2147483647, not %s.",
				   b->ctx.cmdlet, binder_commons[id].name, binder_quote(v.s, v.len, q, sizeof(q)));
	snprintf(out, BINDER_MAX_COMMON_VALUE + 1, "%lu", n);
	return 0;
}

static int binder_common_switch(struct binder *b, const struct binder_entry *e, struct binder_span v,
				char *out)
{
	struct binder_target t = { .name = e->name, .kind = CATALOGUE_SWITCH };
	int on = 1;

	if (e->src == BINDER_SRC_JSON && (YAJL_IS_TRUE(e->json) || YAJL_IS_FALSE(e->json)))
		on = YAJL_IS_TRUE(e->json);
	else if (e->src != BINDER_SRC_BARE && !binder_bool_word(v, &on))
		return binder_fail(&b->ctx, "%s -%s is a switch: write -%s, or -%s:$false to turn it off.",
				   b->ctx.cmdlet, t.name, t.name, t.name);
	snprintf(out, BINDER_MAX_COMMON_VALUE + 1, "%s", on ? "true" : "false");
	return 0;
}

/* The text of a common parameter's value, from the command line or from JSON. */
static int binder_common_text(struct binder *b, const struct binder_entry *e, struct binder_span *v)
{
	v->s = "";
	v->len = 0;
	if (e->src == BINDER_SRC_TEXT) {
		*v = binder_trim(e->text);
		if (binder_quoted(*v)) {
			v->s++;
			v->len -= 2;
		}
	} else if (e->src == BINDER_SRC_JSON && YAJL_IS_STRING(e->json)) {
		v->s = e->json->u.string;
		v->len = strnlen(v->s, BINDER_MAX_VALUE);
	} else if (e->src == BINDER_SRC_JSON && YAJL_IS_NUMBER(e->json) && e->json->u.number.r != NULL) {
		v->s = e->json->u.number.r;
		v->len = strnlen(v->s, BINDER_MAX_NAME);
	} else if (e->src == BINDER_SRC_JSON &&
		   !(binder_commons[e->common].is_switch && (YAJL_IS_TRUE(e->json) || YAJL_IS_FALSE(e->json)))) {
		return binder_fail(&b->ctx, "%s -%s takes %s, not %s.", b->ctx.cmdlet, e->name,
				   binder_common_takes(e->common), YAJL_IS_NULL(e->json) ? "null" :
				   YAJL_IS_TRUE(e->json) || YAJL_IS_FALSE(e->json) ? "a Boolean" : "a list or an object");
	}
	return 0;
}

static int binder_common_one(struct binder *b, const struct binder_entry *e)
{
	char *out = b->res->common.value[e->common];
	struct binder_span v;
	int id = e->common;

	if (binder_common_text(b, e, &v) < 0)
		return -1;
	if (binder_commons[id].is_switch) {
		if (binder_common_switch(b, e, v, out) < 0)
			return -1;
	} else if (id == BINDER_ERROR_ACTION || id == BINDER_WARNING_ACTION || id == BINDER_INFORMATION_ACTION) {
		if (binder_common_action(b, id, v, out) < 0)
			return -1;
	} else if (id == BINDER_OUT_BUFFER) {
		if (binder_common_buffer(b, id, v, out) < 0)
			return -1;
	} else if (binder_common_variable(b, id, v, out) < 0) {
		return -1;
	}
	b->res->common.given |= 1u << id;
	return 0;
}

static int binder_common_all(struct binder *b)
{
	for (size_t i = 0; i < b->n; i++)
		if (b->e[i].common >= 0 && binder_common_one(b, &b->e[i]) < 0)
			return -1;
	return 0;
}

/* ---- writing ---- */

static void binder_target_of(const struct binder *b, const struct binder_entry *e, struct binder_target *t)
{
	memset(t, 0, sizeof(*t));
	t->name = e->name;
	t->max_depth = b->mode == BINDER_PLAIN ? JTREE_MAX_DEPTH : BINDER_MAX_DEPTH;
	t->filter = b->mode != BINDER_PLAIN && binder_is_filter(e->name, strlen(e->name));
	if (e->param != NULL) {
		t->kind = catalogue_param_kind(e->param);
		t->flags = catalogue_param_flags(e->param);
		t->range = catalogue_param_range(e->param);
	} else {
		/* Passed through; a filter's text is still rewritten, as one string (no lists). */
		t->kind = t->filter ? CATALOGUE_STRING : CATALOGUE_OTHER;
		t->plain = 1;
	}
}

static int binder_emit(struct binder *b, yajl_gen g)
{
	if (binder_gen_ok(&b->ctx, yajl_gen_map_open(g)) < 0)
		return -1;
	for (size_t i = 0; i < b->n; i++) {
		const struct binder_entry *e = &b->e[i];
		struct binder_target t;
		int rc;

		if (e->common >= 0)
			continue;
		binder_target_of(b, e, &t);
		if (binder_gen_str(&b->ctx, g, e->name, strlen(e->name)) < 0)
			return -1;
		if (e->src == BINDER_SRC_JSON && strcasecmp(e->name, "ResultSize") == 0)
			b->res->result_size = e->json;
		if (e->src == BINDER_SRC_BARE)
			rc = binder_gen_ok(&b->ctx, yajl_gen_bool(g, 1));
		else if (e->src == BINDER_SRC_TEXT)
			rc = binder_gen_text(&b->ctx, g, &t, e->text);
		else
			rc = binder_gen_json(&b->ctx, g, &t, e->json);
		if (rc < 0)
			return -1;
	}
	return binder_gen_ok(&b->ctx, yajl_gen_map_close(g));
}

/* ---- entry points ---- */

/* A cmdlet name safe to print: letters, digits and '-', or a stand-in. */
static void binder_name_cmdlet(struct binder *b, const char *cmdlet, size_t len)
{
	int ok = len > 0 && len <= BINDER_MAX_NAME;

	for (size_t i = 0; ok && i < len; i++)
		ok = cmdlet[i] == '-' || binder_valid_name(cmdlet + i, 1) || (cmdlet[i] >= '0' && cmdlet[i] <= '9');
	if (!ok) {
		cmdlet = "The cmdlet";
		len = strlen(cmdlet);
	}
	utf8_copy(b->cmdlet_name, sizeof(b->cmdlet_name), cmdlet, len);
	b->ctx.cmdlet = b->cmdlet_name;
}

static int binder_begin(struct binder *b, enum binder_mode mode, const char *cmdlet, size_t len,
			struct binder_result *res, char *err, size_t errlen)
{
	memset(b, 0, sizeof(*b));
	b->ctx.err = err;
	b->ctx.errlen = errlen;
	b->res = res;
	if (err != NULL && errlen > 0)
		err[0] = '\0';
	if (res != NULL) {
		memset(res, 0, sizeof(*res));
		res->set = -1;
	}
	b->mode = mode;
	binder_name_cmdlet(b, cmdlet != NULL ? cmdlet : "", cmdlet != NULL ? len : 0);
	if (mode != BINDER_PLAIN && (b->cmdlet = catalogue_find(cmdlet, len)) == NULL)
		b->mode = BINDER_PASS;
	if (b->cmdlet != NULL)
		b->ctx.cmdlet = catalogue_cmdlet_name(b->cmdlet);
	if (res != NULL)
		res->cmdlet = b->cmdlet;
	return 0;
}

static int binder_end(struct binder *b, yajl_gen g)
{
	if (b->mode == BINDER_CATALOGUE && binder_sets(b) < 0)
		return -1;
	if (b->mode != BINDER_PLAIN && binder_common_all(b) < 0)
		return -1;
	return binder_emit(b, g);
}

static void binder_free(struct binder *b)
{
	for (size_t i = 0; b->e != NULL && i < b->n; i++)
		binder_entry_clear(&b->e[i]);
	for (size_t i = 0; i < b->ntrees; i++)
		jtree_free(b->trees[i]);
	free(b->e);
}

static int binder_run_argv(enum binder_mode mode, yajl_gen g, const char *cmdlet, size_t cmdlet_len,
			   int argc, char *const argv[], struct binder_result *res, char *err, size_t errlen)
{
	struct binder b;
	int rc = -1;

	if (binder_begin(&b, mode, cmdlet, cmdlet_len, res, err, errlen) == 0 &&
	    binder_collect(&b, argc, argv) == 0 && binder_end(&b, g) == 0)
		rc = 0;
	binder_free(&b);
	return rc;
}

int binder_argv(yajl_gen g, const char *cmdlet, size_t cmdlet_len, int argc, char *const argv[],
		struct binder_result *res, char *err, size_t errlen)
{
	struct binder_result scratch;

	return binder_run_argv(BINDER_CATALOGUE, g, cmdlet, cmdlet_len, argc, argv,
			       res != NULL ? res : &scratch, err, errlen);
}

int binder_argv_plain(yajl_gen g, int argc, char *const argv[], char *err, size_t errlen)
{
	struct binder_result scratch;

	return binder_run_argv(BINDER_PLAIN, g, NULL, 0, argc, argv, &scratch, err, errlen);
}

static int binder_collect_json(struct binder *b, yajl_val params)
{
	if (params == NULL || YAJL_IS_NULL(params))
		return 0;
	if (!YAJL_IS_OBJECT(params))
		return binder_fail(&b->ctx, "%s: the parameters must be a JSON object.", b->ctx.cmdlet);
	if (params->u.object.len > BINDER_MAX_PARAMS)
		return binder_fail(&b->ctx, "%s: more than %d parameters.", b->ctx.cmdlet, BINDER_MAX_PARAMS);
	for (size_t k = 0; k < params->u.object.len; k++)
		if (binder_merge_key(b, params->u.object.keys[k], params->u.object.values[k], 1) < 0)
			return -1;
	return 0;
}

/* A catalogue cmdlet of another service than the profile's: the service would not know it. */
static int binder_service(struct binder *b, unsigned services)
{
	char has[BINDER_SERVICES_LEN], want[BINDER_SERVICES_LEN];

	b->services = services;
	if (services == 0 || b->cmdlet == NULL || (catalogue_cmdlet_services(b->cmdlet) & services))
		return 0;
	return binder_fail(&b->ctx, "%s is a cmdlet of %s, not of %s, which this profile speaks "
			   "to (service in exod.conf).", b->ctx.cmdlet,
			   catalogue_services_text(catalogue_cmdlet_services(b->cmdlet), has, sizeof(has)),
			   catalogue_services_text(services, want, sizeof(want)));
}

static int binder_run_json(yajl_gen g, unsigned services, const char *cmdlet, size_t cmdlet_len,
			   yajl_val params, int tag_tables, struct binder_result *res, char *err,
			   size_t errlen)
{
	struct binder_result scratch;
	struct binder b;
	int rc = -1;

	if (binder_begin(&b, BINDER_CATALOGUE, cmdlet, cmdlet_len, res != NULL ? res : &scratch, err,
			 errlen) == 0 && binder_service(&b, services) == 0) {
		b.ctx.tag_tables = tag_tables;
		if (binder_collect_json(&b, params) == 0 && binder_end(&b, g) == 0)
			rc = 0;
	}
	binder_free(&b);
	return rc;
}

int binder_json_for(yajl_gen g, unsigned services, const char *cmdlet, size_t cmdlet_len,
		    yajl_val params, struct binder_result *res, char *err, size_t errlen)
{
	return binder_run_json(g, services, cmdlet, cmdlet_len, params, 0, res, err, errlen);
}

int binder_json_tagged_for(yajl_gen g, unsigned services, const char *cmdlet, size_t cmdlet_len,
			   yajl_val params, struct binder_result *res, char *err, size_t errlen)
{
	return binder_run_json(g, services, cmdlet, cmdlet_len, params, 1, res, err, errlen);
}

int binder_json(yajl_gen g, const char *cmdlet, size_t cmdlet_len, yajl_val params,
		struct binder_result *res, char *err, size_t errlen)
{
	return binder_json_for(g, 0, cmdlet, cmdlet_len, params, res, err, errlen);
}

const char *binder_common_name(enum binder_common_id id)
{
	return (unsigned)id < BINDER_COMMON_COUNT ? binder_commons[id].name : NULL;
}

const char *binder_common_get(const struct binder_common *c, enum binder_common_id id)
{
	if (c == NULL || (unsigned)id >= BINDER_COMMON_COUNT || !(c->given & (1u << id)))
		return NULL;
	return c->value[id];
}
