/*
 * The InvokeCommand wire format (reference/exo-protocol.md §2.4, §3):
 * the request body, the streaming parse of a result page, and the error
 * envelope.  No I/O here: exo.c feeds bytes in and gets records out.
 */
#ifndef EXOD_EXO_CODEC_H
#define EXOD_EXO_CODEC_H

#include <stddef.h>
#include <yajl/yajl_tree.h>

#define EXO_MAX_RECORD (4 * 1024 * 1024)   /* bytes in one serialized result object */
#define EXO_MAX_LINK 8192                  /* bytes in an @odata.nextLink */
#define EXO_MAX_WARNING 8192               /* bytes in one warning */

struct sbuf;

/*
 * {"CmdletInput":{"CmdletName":cmdlet,"Parameters":params}}.  params may be
 * NULL ({}).  Nested objects get "@odata.type":"#Exchange.GenericHashTable"
 * unless they carry an @odata.type already.  *out is a secret buffer:
 * parameters may be passwords.
 */
int exo_codec_body(const char *cmdlet, const yajl_val params, struct sbuf **out);

struct exo_parser_cbs {
	/* One element of "value", compact JSON.  Nonzero stops the parse. */
	int (*record)(void *arg, const char *json, size_t len);
	/* One string of "@adminapi.warnings"; the paging warning is not passed on. */
	int (*warning)(void *arg, const char *msg, size_t len);
	/* "@odata.nextLink", when present. */
	int (*next_link)(void *arg, const char *url, size_t len);
};

struct exo_parser;

struct exo_parser *exo_parser_new(const struct exo_parser_cbs *cbs, void *arg);
/* 0, or -1 with exo_parser_error() set: bad JSON, a record over EXO_MAX_RECORD, a callback stop. */
int exo_parser_feed(struct exo_parser *p, const char *buf, size_t len);
int exo_parser_finish(struct exo_parser *p);
const char *exo_parser_error(const struct exo_parser *p);
void exo_parser_free(struct exo_parser *p);

struct exo_error {
	char *code;             /* error.code, e.g. "BadRequest"; NULL if the body had none */
	char *message;          /* best text: internalexception, details[0] without |Type|, message */
	char *type;             /* innererror.internalexception.type, or NULL */
};

/* Parses an error body; never fails on garbage (non-JSON, NUL bytes): fields stay NULL. */
void exo_codec_parse_error(const char *body, size_t len, struct exo_error *out);
void exo_error_clear(struct exo_error *e);
/* 1 when the error names a transient server exception (§3.3: DCOverloadedException, ...). */
int exo_codec_error_transient(const struct exo_error *e);

#endif
