build-s/client/shell.o: client/shell.c client/shell.h common/wire.h
client/shell.h:
common/wire.h:
