build-s/daemon/invoke.o: daemon/invoke.c daemon/invoke.h daemon/exo.h \
 common/conf.h common/wire.h common/binder.h common/catalogue.h \
 common/jtree.h common/sbuf.h
daemon/invoke.h:
daemon/exo.h:
common/conf.h:
common/wire.h:
common/binder.h:
common/catalogue.h:
common/jtree.h:
common/sbuf.h:
