build-s/daemon/readonly.o: daemon/readonly.c daemon/readonly.h \
 daemon/readonly_cmdlets.inc
daemon/readonly.h:
daemon/readonly_cmdlets.inc:
