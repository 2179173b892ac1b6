build-s/client/query.o: client/query.c client/query.h client/output.h
client/query.h:
client/output.h:
