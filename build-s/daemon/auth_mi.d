build-s/daemon/auth_mi.o: daemon/auth_mi.c daemon/auth_mi.h common/conf.h \
 daemon/http.h common/jtree.h common/log.h common/sbuf.h \
 daemon/auth_method.h daemon/auth.h common/wire.h daemon/cloud.h \
 daemon/oauth.h
daemon/auth_mi.h:
common/conf.h:
daemon/http.h:
common/jtree.h:
common/log.h:
common/sbuf.h:
daemon/auth_method.h:
daemon/auth.h:
common/wire.h:
daemon/cloud.h:
daemon/oauth.h:
