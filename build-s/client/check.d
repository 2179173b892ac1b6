build-s/client/check.o: client/check.c client/check.h
client/check.h:
