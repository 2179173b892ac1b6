build-s/daemon/auth_delegated.o: daemon/auth_delegated.c \
 daemon/auth_method.h daemon/auth.h common/conf.h common/wire.h \
 common/sbuf.h daemon/hint.h daemon/http.h daemon/oauth.h
daemon/auth_method.h:
daemon/auth.h:
common/conf.h:
common/wire.h:
common/sbuf.h:
daemon/hint.h:
daemon/http.h:
daemon/oauth.h:
