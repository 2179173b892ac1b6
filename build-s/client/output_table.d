build-s/client/output_table.o: client/output_table.c client/output_int.h \
 client/output.h
client/output_int.h:
client/output.h:
