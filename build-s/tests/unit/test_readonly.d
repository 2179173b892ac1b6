build-s/tests/unit/test_readonly.o: tests/unit/test_readonly.c \
 daemon/readonly.h daemon/readonly_cmdlets.inc
daemon/readonly.h:
daemon/readonly_cmdlets.inc:
