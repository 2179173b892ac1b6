build-s/daemon/auth.o: daemon/auth.c daemon/auth_method.h daemon/auth.h \
 common/conf.h common/wire.h common/sbuf.h daemon/cloud.h daemon/hint.h \
 daemon/http.h
daemon/auth_method.h:
daemon/auth.h:
common/conf.h:
common/wire.h:
common/sbuf.h:
daemon/cloud.h:
daemon/hint.h:
daemon/http.h:
