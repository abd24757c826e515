/*
 * snapshot.c: the script that lists a primary for the exclusion list, in
 * one round trip: its merged-/usr links, dpkg status, diversions, every
 * package's file list, then its whole tree (one file system, NUL-separated).
 * It needs only sh, cat and find on the primary. $1 is the root to list
 * ("" on the primary itself; a directory for an image on this host).
 */
#include "sync.h"

const char sync_snapshot_script[] =
    "R=${1:-}\n"
    "set -e\n"
    "[ -r \"$R/var/lib/dpkg/status\" ] || { echo 'no dpkg database at '\"$R\"'/var/lib/dpkg: "
    "only Debian-based primaries are supported' >&2; exit 3; }\n"
    "echo @links\n"
    "for d in bin sbin lib lib32 lib64 libx32; do\n"
    "  if [ -L \"$R/$d\" ]; then echo \"$d $(readlink \"$R/$d\")\"; fi\n"
    "done\n"
    "echo @status\n"
    "cat \"$R/var/lib/dpkg/status\"\n"
    "echo @diversions\n"
    "cat \"$R/var/lib/dpkg/diversions\" 2>/dev/null || true\n"
    "for f in \"$R\"/var/lib/dpkg/info/*.list; do\n"
    "  p=${f##*/}; echo \"@list ${p%.list}\"; cat \"$f\"\n"
    "done\n"
    "echo @tree\n"
    "cd \"$R/\"\n"
    "find . -xdev \\( -path ./proc -o -path ./sys -o -path ./dev -o -path ./run -o -path ./tmp \\) "
    "-prune -o -printf '%y %P\\0'\n";
