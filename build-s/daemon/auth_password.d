build-s/daemon/auth_password.o: daemon/auth_password.c \
 daemon/auth_method.h daemon/auth.h common/conf.h common/wire.h \
 common/sbuf.h daemon/hint.h daemon/http.h daemon/oauth.h daemon/secret.h
daemon/auth_method.h:
daemon/auth.h:
common/conf.h:
common/wire.h:
common/sbuf.h:
daemon/hint.h:
daemon/http.h:
daemon/oauth.h:
daemon/secret.h:
