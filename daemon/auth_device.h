/*
 * auth = device: the pure part of the device code flow, apart so that it
 * can be tested and fuzzed alone: reading Entra's devicecode answer.
 */
#ifndef EXOD_AUTH_DEVICE_H
#define EXOD_AUTH_DEVICE_H

#include <stddef.h>

struct sbuf;

struct auth_device_code {
	struct sbuf *device_code;       /* a credential while it is valid */
	char *user_code;
	char *verification_uri;
	char *message;                  /* Entra's instructions, "" when it sent none */
	double interval;                /* seconds between polls */
	long expires_in;                /* seconds */
};

/* 0 and *out filled from a devicecode answer body; -1 when it lacks what a person needs. */
int auth_device_parse(const char *body, size_t len, struct auth_device_code *out);
void auth_device_code_clear(struct auth_device_code *c);

#endif
