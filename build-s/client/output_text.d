build-s/client/output_text.o: client/output_text.c client/output_int.h \
 client/output.h common/utf8.h
client/output_int.h:
client/output.h:
common/utf8.h:
