build-s/client/output.o: client/output.c client/output_int.h \
 client/output.h
client/output_int.h:
client/output.h:
