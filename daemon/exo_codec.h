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
 * {"CmdletInput":{"CmdletName":cmdlet,"Parameters":params}}.  params is the
 * Parameters object as compact JSON text, written as it is (the binder's,
 * binder_json_tagged_for: checked, hashtables typed), or NULL ({}).  *out
 * is a secret buffer: parameters may be passwords.
 */
int exo_codec_body(const char *cmdlet, const char *params, size_t params_len, struct sbuf **out);

struct exo_parser_cbs {
	/* One element of "value", compact JSON.  Nonzero stops the parse (for each callback). */
	int (*record)(void *arg, const char *json, size_t len);
	/*
	 * One string of "@adminapi.warnings", NUL-terminated; paging is 1 for the
	 * service's "There are more results available..." warning.
	 */
	int (*warning)(void *arg, const char *msg, size_t len, int paging);
	/* One non-terminating error of "@adminapi.errors", as compact JSON (string or object). */
	int (*error)(void *arg, const char *json, size_t len);
	/* "@adminapi.confirmationmessage" (the "What if: ..." text), NUL-terminated. */
	int (*confirmation)(void *arg, const char *msg, size_t len);
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
	char *message;          /* best text, as the module picks it: details[0] (without its
				   |Type|), internalexception, error.message */
	char *type;             /* innererror.internalexception.type, or NULL */
};

/* Parses an error body; never fails on garbage (non-JSON, NUL bytes): fields stay NULL. */
void exo_codec_parse_error(const char *body, size_t len, struct exo_error *out);
/*
 * One element of @adminapi.errors (compact JSON, as the parser passes it):
 * a string is the message; an object gives Message, ErrorCode and TypeName
 * (or their near names).  Fields stay NULL for what is not there.
 */
void exo_codec_cmdlet_error(const char *json, size_t len, struct exo_error *out);
void exo_error_clear(struct exo_error *e);
/* 1 when the error names a transient server exception (§3.3: DCOverloadedException, ...). */
int exo_codec_error_transient(const struct exo_error *e);

#endif
