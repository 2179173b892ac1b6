build-s/daemon/jwt.o: daemon/jwt.c daemon/jwt.h common/conf.h \
 common/jtree.h common/sbuf.h daemon/b64.h daemon/cert.h daemon/rnd.h
daemon/jwt.h:
common/conf.h:
common/jtree.h:
common/sbuf.h:
daemon/b64.h:
daemon/cert.h:
daemon/rnd.h:
