/*
 * sync.h: keeping a standby container's root file system in step with its
 * primary VM (rsync over SSH, the exclusion list of exclude.h).
 */
#ifndef SYNC_H
#define SYNC_H

/* sh script: lists a primary for excl_parse() (see snapshot.c). */
extern const char sync_snapshot_script[];

#endif
