build-s/client/progress.o: client/progress.c client/progress.h
client/progress.h:
