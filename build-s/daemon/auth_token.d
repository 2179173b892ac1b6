build-s/daemon/auth_token.o: daemon/auth_token.c daemon/auth_method.h \
 daemon/auth.h common/conf.h common/wire.h common/sbuf.h daemon/jwt.h \
 daemon/secret.h
daemon/auth_method.h:
daemon/auth.h:
common/conf.h:
common/wire.h:
common/sbuf.h:
daemon/jwt.h:
daemon/secret.h:
