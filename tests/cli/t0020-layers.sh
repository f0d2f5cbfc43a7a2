#!/bin/bash
# lib/'s folders include only downward (base <- config <- io, net <- format,
# source, store <- notify, job <- recover): scripts/check-layers passes on the tree,
# and names the file, the line and the include when a folder reaches up or sideways.
. "$(dirname "$0")/../lib/test-lib.sh"

run 0 "$TOP/scripts/check-layers" "$TOP/lib"
check "no include goes up or sideways in lib/" test -z "$out"

# the failure cases beside it, on a copy of lib/
cp -r "$TOP/lib" "$T/lib"
printf '#include "job/repo.h"\n' >>"$T/lib/base/log.c"
run 1 "$TOP/scripts/check-layers" "$T/lib"
expect_out 'base/log.c:'
expect_out '"job/repo.h" (job is not below base)'

cp -r "$TOP/lib" "$T/lib2"
printf '#include "source/pg/pg.h"\n' >>"$T/lib2/store/store.c"
run 1 "$TOP/scripts/check-layers" "$T/lib2"
expect_out '"source/pg/pg.h" (source is not below store)'

# a new folder must be placed in the table before it may include anything
mkdir "$T/lib3" && cp -r "$TOP/lib/base" "$T/lib3/" && mkdir "$T/lib3/misc"
printf '#include "base/error.h"\n' >"$T/lib3/misc/x.c"
run 1 "$TOP/scripts/check-layers" "$T/lib3"
expect_out 'misc/x.c:1: "base/error.h" (base is not below misc)'

done_testing
