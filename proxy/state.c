/*
 * state.c: the state file, STATE_DIR/state.json.
 *
 * Written to a temporary file, fsynced, renamed over the old one and the
 * directory fsynced: after a crash the file is the old or the new one,
 * never half of each.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <json-c/json.h>

#include "vcr.h"
#include "conf.h"
#include "events.h"
#include "state.h"
#include "svc.h"

#define STATE_FILE	"state.json"
#define STATE_EVENTS	100

static const char *const moved_key[2] = { "promoted", "moved" };

static void
moved_load(struct json_object *o, struct moved *m)
{
	struct json_object *v;
	const char *t;

#define STR(k, dst) do {							\
	t = json_object_object_get_ex(o, k, &v) ? json_object_get_string(v) : "";	\
	snprintf(dst, sizeof(dst), "%s", t ? t : "");				\
} while (0)
	STR("from_a", m->from_a);
	STR("from_b", m->from_b);
	STR("to_a", m->to_a);
	STR("to_b", m->to_b);
	STR("from_source", m->from_src);
	STR("to_source", m->to_src);
#undef STR
	m->set = json_object_object_get_ex(o, "from", &v) &&
	    parse_endpoint(json_object_get_string(v), &m->from_ep) == 0 &&
	    json_object_object_get_ex(o, "to", &v) &&
	    parse_endpoint(json_object_get_string(v), &m->to_ep) == 0;
}

static struct json_object *
moved_json(const struct moved *m)
{
	struct json_object *o = json_object_new_object();
	char t[32];

	json_object_object_add(o, "from", json_object_new_string(fmt_endpoint(&m->from_ep, t,
	    sizeof(t))));
	json_object_object_add(o, "to", json_object_new_string(fmt_endpoint(&m->to_ep, t,
	    sizeof(t))));
	json_object_object_add(o, "from_a", json_object_new_string(m->from_a));
	json_object_object_add(o, "from_b", json_object_new_string(m->from_b));
	json_object_object_add(o, "to_a", json_object_new_string(m->to_a));
	json_object_object_add(o, "to_b", json_object_new_string(m->to_b));
	json_object_object_add(o, "from_source", json_object_new_string(m->from_src));
	json_object_object_add(o, "to_source", json_object_new_string(m->to_src));
	return o;
}

int
state_load(const char *dir, struct saved_state *st, char *err, size_t errlen)
{
	char path[PATH_MAX];
	struct json_object *root, *arr, *o, *v;
	size_t n;

	memset(st, 0, sizeof(*st));
	snprintf(path, sizeof(path), "%s/%s", dir, STATE_FILE);
	if (access(path, F_OK) == -1 && errno == ENOENT)
		return 0;
	if ((root = json_object_from_file(path)) == NULL) {
		/* Refuse rather than guess: guessing could send traffic back to a dead primary. */
		char why[128];
		snprintf(why, sizeof(why), "%s", json_util_get_last_err() ?
		    json_util_get_last_err() : "not JSON");
		why[strcspn(why, "\n")] = '\0';
		snprintf(err, errlen, "%s: unreadable state file (%s): vcrd does not know where "
		    "the services point; move the file away to start every service on its "
		    "primary", path, why);
		return -1;
	}
	if (json_object_object_get_ex(root, "services", &arr) &&
	    json_object_is_type(arr, json_type_array)) {
		n = json_object_array_length(arr);
		st->svc = calloc(n ? n : 1, sizeof(*st->svc));
		for (size_t i = 0; st->svc && i < n; i++) {
			struct saved_svc *s = &st->svc[st->n];
			o = json_object_array_get_idx(arr, i);
			if (!json_object_object_get_ex(o, "name", &v))
				continue;
			snprintf(s->name, sizeof(s->name), "%s", json_object_get_string(v));
			s->active = json_object_object_get_ex(o, "active", &v) &&
			    strcmp(json_object_get_string(v), "standby") == 0 ?
			    SIDE_STANDBY : SIDE_PRIMARY;
			if (json_object_object_get_ex(o, "since_ms", &v))
				s->since_wall_ms = (uint64_t)json_object_get_int64(v);
			if (json_object_object_get_ex(o, "cutovers", &v))
				s->cutovers = (unsigned)json_object_get_int(v);
			if (json_object_object_get_ex(o, "sync_ok_start_ms", &v))
				s->sync_ok_start_ms = (uint64_t)json_object_get_int64(v);
			s->fb_frozen = json_object_object_get_ex(o, "failback_frozen", &v) &&
			    json_object_get_boolean(v);
			for (int k = 0; k < 2; k++)
				if (json_object_object_get_ex(o, moved_key[k], &v))
					moved_load(v, &s->moved[k]);
			st->n++;
		}
	}
	if (json_object_object_get_ex(root, "events", &arr) &&
	    json_object_is_type(arr, json_type_array)) {
		n = json_object_array_length(arr);
		for (size_t i = 0; i < n; i++) {
			struct vcr_event ev = { 0 };
			o = json_object_array_get_idx(arr, i);
			if (json_object_object_get_ex(o, "time_ms", &v))
				ev.wall_ms = (uint64_t)json_object_get_int64(v);
			if (json_object_object_get_ex(o, "service", &v))
				snprintf(ev.service, sizeof(ev.service), "%s", json_object_get_string(v));
			if (json_object_object_get_ex(o, "kind", &v))
				snprintf(ev.kind, sizeof(ev.kind), "%s", json_object_get_string(v));
			if (json_object_object_get_ex(o, "text", &v))
				snprintf(ev.text, sizeof(ev.text), "%s", json_object_get_string(v));
			events_restore(&ev);
		}
	}
	json_object_put(root);
	return 0;
}

const struct saved_svc *
state_find(const struct saved_state *st, const char *name)
{
	for (unsigned i = 0; i < st->n; i++)
		if (strcmp(st->svc[i].name, name) == 0)
			return &st->svc[i];
	return NULL;
}

void
state_free(struct saved_state *st)
{
	free(st->svc);
	memset(st, 0, sizeof(*st));
}

int
vcrd_save_state(struct vcrd *d)
{
	char path[PATH_MAX], tmp[PATH_MAX];
	struct json_object *root = json_object_new_object();
	struct json_object *arr = json_object_new_array();
	struct json_object *evs = json_object_new_array();
	const char *text;
	unsigned first, n;
	struct svc *s;
	int fd, rc = -1;
	size_t len;

	TAILQ_FOREACH(s, &d->services, entry) {
		struct json_object *o = json_object_new_object();
		json_object_object_add(o, "name", json_object_new_string(s->conf->name));
		json_object_object_add(o, "active", json_object_new_string(side_name(s->dec.active)));
		json_object_object_add(o, "since_ms", json_object_new_int64((int64_t)s->since_wall_ms));
		json_object_object_add(o, "cutovers", json_object_new_int((int)s->cutovers));
		if (s->rec.sync_ok_start_ms)
			json_object_object_add(o, "sync_ok_start_ms",
			    json_object_new_int64((int64_t)s->rec.sync_ok_start_ms));
		if (rec_failback_frozen(s))
			json_object_object_add(o, "failback_frozen", json_object_new_boolean(1));
		for (int k = 0; k < 2; k++)
			if (s->moved[k].set)
				json_object_object_add(o, moved_key[k], moved_json(&s->moved[k]));
		json_object_array_add(arr, o);
	}
	json_object_object_add(root, "version", json_object_new_int(1));
	json_object_object_add(root, "services", arr);
	n = events_count();
	first = n > STATE_EVENTS ? n - STATE_EVENTS : 0;
	for (unsigned i = first; i < n; i++) {
		const struct vcr_event *ev = events_get(i);
		struct json_object *o = json_object_new_object();
		json_object_object_add(o, "time_ms", json_object_new_int64((int64_t)ev->wall_ms));
		json_object_object_add(o, "service", json_object_new_string(ev->service));
		json_object_object_add(o, "kind", json_object_new_string(ev->kind));
		json_object_object_add(o, "text", json_object_new_string(ev->text));
		json_object_array_add(evs, o);
	}
	json_object_object_add(root, "events", evs);

	snprintf(path, sizeof(path), "%s/%s", d->conf->state_dir, STATE_FILE);
	snprintf(tmp, sizeof(tmp), "%s/.%s.tmp", d->conf->state_dir, STATE_FILE);
	text = json_object_to_json_string_ext(root, JSON_C_TO_STRING_PRETTY);
	len = strlen(text);
	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600)) == -1) {
		log_warn("event=state-save path=%s", tmp);
		goto out;
	}
	if (write(fd, text, len) != (ssize_t)len || write(fd, "\n", 1) != 1 || fsync(fd) == -1) {
		log_warn("event=state-save path=%s", tmp);
		close(fd);
		unlink(tmp);
		goto out;
	}
	close(fd);
	if (rename(tmp, path) == -1) {
		log_warn("event=state-save path=%s", path);
		unlink(tmp);
		goto out;
	}
	if ((fd = open(d->conf->state_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) != -1) {
		fsync(fd);
		close(fd);
	}
	rc = 0;
out:
	json_object_put(root);
	return rc;
}
