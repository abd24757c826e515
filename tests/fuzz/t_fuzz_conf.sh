#!/bin/bash
# Fuzzes the configuration parser for a bounded time, seeded with the
# shipped example: no crash, and a rejected file names "file:line: ".
. "$(dirname "$0")/lib.sh"
cp "$top_srcdir/conf/vcrd.conf.example" "$work/corpus/example"
printf 'service a { frontend 198.18.0.1:80; primary 198.18.1.2:80; standby 198.18.2.2:80; check tcp }\n' > "$work/corpus/oneline"
fuzz_run fuzz_conf "the configuration parser" proxy/conf.c proxy/log.c
