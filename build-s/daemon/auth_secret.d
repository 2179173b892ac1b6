build-s/daemon/auth_secret.o: daemon/auth_secret.c daemon/auth_method.h \
 daemon/auth.h common/conf.h common/wire.h common/sbuf.h daemon/oauth.h \
 daemon/secret.h
daemon/auth_method.h:
daemon/auth.h:
common/conf.h:
common/wire.h:
common/sbuf.h:
daemon/oauth.h:
daemon/secret.h:
