build-s/client/args.o: client/args.c client/args.h
client/args.h:
