build-s/daemon/auth_certificate.o: daemon/auth_certificate.c \
 daemon/auth_method.h daemon/auth.h common/conf.h common/wire.h \
 common/sbuf.h daemon/cert.h daemon/jwt.h daemon/oauth.h daemon/secret.h
daemon/auth_method.h:
daemon/auth.h:
common/conf.h:
common/wire.h:
common/sbuf.h:
daemon/cert.h:
daemon/jwt.h:
daemon/oauth.h:
daemon/secret.h:
