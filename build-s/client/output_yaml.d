build-s/client/output_yaml.o: client/output_yaml.c client/output_int.h \
 client/output.h
client/output_int.h:
client/output.h:
