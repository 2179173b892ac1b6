build-s/daemon/oauth.o: daemon/oauth.c daemon/oauth.h common/jtree.h \
 common/sbuf.h daemon/auth_method.h daemon/auth.h common/conf.h \
 common/wire.h daemon/http.h
daemon/oauth.h:
common/jtree.h:
common/sbuf.h:
daemon/auth_method.h:
daemon/auth.h:
common/conf.h:
common/wire.h:
daemon/http.h:
