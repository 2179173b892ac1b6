build-s/daemon/cert.o: daemon/cert.c daemon/cert.h daemon/secret.h \
 common/log.h common/sbuf.h daemon/b64.h
daemon/cert.h:
daemon/secret.h:
common/log.h:
common/sbuf.h:
daemon/b64.h:
