build-s/tests/unit/test_shell.o: tests/unit/test_shell.c client/shell.h
client/shell.h:
