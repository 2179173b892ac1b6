build-s/client/exoctl.o: client/exoctl.c client/args.h client/check.h \
 client/conn.h client/discover.h client/output.h client/params.h \
 client/progress.h client/query.h client/shell.h common/binder.h \
 common/catalogue.h common/sbuf.h common/wire.h
client/args.h:
client/check.h:
client/conn.h:
client/discover.h:
client/output.h:
client/params.h:
client/progress.h:
client/query.h:
client/shell.h:
common/binder.h:
common/catalogue.h:
common/sbuf.h:
common/wire.h:
