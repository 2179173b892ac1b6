build-s/daemon/access.o: daemon/access.c daemon/access.h common/conf.h \
 daemon/readonly.h
daemon/access.h:
common/conf.h:
daemon/readonly.h:
