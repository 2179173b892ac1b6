build-s/client/conn.o: client/conn.c client/conn.h common/wire.h
client/conn.h:
common/wire.h:
