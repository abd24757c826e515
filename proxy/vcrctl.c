/*
 * vcrctl: talks to vcrd over its control socket.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>

#include "vcr.h"

static int json_out;

static void
usage(void)
{
	fprintf(stderr,
	    "usage: vcrctl [-s socket] [--json] command\n"
	    "commands:\n"
	    "  status           every service: state, where it points, last checks\n"
	    "  events           recent transitions with their reasons\n"
	    "  failover [--no-sync] NAME\n"
	    "                   move NAME to its standby; with disk sync, after a\n"
	    "                   final sync (--no-sync: at once)\n"
	    "  failback [--no-sync] NAME\n"
	    "                   move NAME back to its primary; with disk sync, after\n"
	    "                   syncing the standby's changes back (--no-sync: at once)\n"
	    "  sync NAME        copy NAME's primary disk into its standby container now\n"
	    "  relieve NAME --to LXD|vm [--prepare]\n"
	    "                   move NAME's container to the LXD server LXD, or promote\n"
	    "                   NAME to the VM of its relieve block; --prepare: copy the\n"
	    "                   (standby) container to LXD ahead, so that a relieve later\n"
	    "                   sends only what changed\n"
	    "  reload           re-read the configuration (rejected whole if invalid)\n"
	    "socket: -s, else $VCRCTL_SOCKET, else %s\n", VCR_DEFAULT_SOCKET);
	exit(2);
}

/* Sends one request; returns the HTTP status and the body (caller frees). */
static int
request(const char *sock, const char *method, const char *path, char **body)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	char req[512], *buf = NULL, *p;
	size_t len = 0, cap = 0;
	ssize_t n;
	int fd, code;

	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", sock);
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1 ||
	    connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1) {
		fprintf(stderr, "vcrctl: cannot reach vcrd at %s: %s%s\n", sock, strerror(errno),
		    errno == ENOENT || errno == ECONNREFUSED ? " (is vcrd running?)" : "");
		exit(1);
	}
	snprintf(req, sizeof(req), "%s %s HTTP/1.0\r\nHost: vcrd\r\nContent-Length: 0\r\n\r\n",
	    method, path);
	if (write(fd, req, strlen(req)) != (ssize_t)strlen(req)) {
		fprintf(stderr, "vcrctl: write to %s: %s\n", sock, strerror(errno));
		exit(1);
	}
	for (;;) {
		if (len + 4096 + 1 > cap) {
			cap = cap ? cap * 2 : 65536;
			if ((buf = realloc(buf, cap)) == NULL) {
				fprintf(stderr, "vcrctl: out of memory\n");
				exit(1);
			}
		}
		if ((n = read(fd, buf + len, cap - len - 1)) <= 0)
			break;
		len += (size_t)n;
	}
	close(fd);
	if (buf == NULL || len == 0) {
		fprintf(stderr, "vcrctl: vcrd closed the connection without an answer\n");
		exit(1);
	}
	buf[len] = '\0';
	if (sscanf(buf, "HTTP/1.%*d %d", &code) != 1 || (p = strstr(buf, "\r\n\r\n")) == NULL) {
		fprintf(stderr, "vcrctl: unreadable answer from vcrd\n");
		exit(1);
	}
	*body = strdup(p + 4);
	free(buf);
	return code;
}

static const char *
str(struct json_object *o, const char *key)
{
	struct json_object *v;

	if (o && json_object_object_get_ex(o, key, &v) && v != NULL)
		return json_object_get_string(v);
	return "";
}

static double
num(struct json_object *o, const char *key)
{
	struct json_object *v;

	if (o && json_object_object_get_ex(o, key, &v))
		return json_object_get_double(v);
	return 0;
}

static void
print_side(struct json_object *svc, const char *side)
{
	struct json_object *o;

	if (!json_object_object_get_ex(svc, side, &o))
		return;
	printf("  %-8s %-21s %-8s %s (%.1f ms, %d of %d checks failed)\n", side, str(o, "target"),
	    str(o, "health"), str(o, "last_result"), num(o, "latency_ms"),
	    (int)num(o, "failures"), (int)num(o, "checks"));
}

static void
print_status(struct json_object *root)
{
	struct json_object *arr, *s, *r;

	if (!json_object_object_get_ex(root, "services", &arr))
		return;
	printf("%-16s %-17s %-8s %-21s %-21s %8s  %s\n", "SERVICE", "STATE", "ACTIVE", "FRONTEND",
	    "TARGET", "CUTOVERS", "SINCE");
	for (size_t i = 0; i < json_object_array_length(arr); i++) {
		s = json_object_array_get_idx(arr, i);
		printf("%-16s %-17s %-8s %-21s %-21s %8d  %s\n", str(s, "name"), str(s, "state"),
		    str(s, "active"), str(s, "frontend"), str(s, "target"), (int)num(s, "cutovers"),
		    str(s, "since"));
		print_side(s, "primary");
		print_side(s, "standby");
		if (json_object_get_boolean(json_object_object_get(s, "held")))
			printf("  HELD     new connections wait (%s): the standby container is "
			    "frozen for a failback or relieve\n", strcmp(str(s, "hold"), "relayed") ?
			    "SYNs dropped" : "accepted by vcrd, sent on after the switch");
		if (json_object_object_get_ex(s, "primary_vm", &r))
			printf("  vm       %s/%s: %s (fencing %s; libvirt %s)\n", str(r, "libvirt"),
			    str(r, "domain"), str(r, "domain_state"), str(r, "fencing"),
			    str(r, "connection"));
		if (json_object_object_get_ex(s, "standby_container", &r))
			printf("  %-8s %s/%s %s: %s\n",
			    json_object_get_boolean(json_object_object_get(r, "degraded")) ?
			    "DEGRADED" : "container", str(r, "lxd"), str(r, "instance"),
			    str(r, "kind"), str(r, "status"));
		if (json_object_object_get_ex(s, "sync", &r)) {
			if (num(r, "runs") == 0)
				printf("  sync     from %s: %s\n", str(r, "source"),
				    json_object_get_boolean(json_object_object_get(r, "running")) ?
				    "running (first)" : "not run yet");
			else
				printf("  sync     from %s: last %s, %s, %.0f ms, %d files changed, "
				    "%d deleted, %.0f bytes; recovery point %.0f s old%s%s\n",
				    str(r, "source"), str(r, "last"),
				    str(r, "error")[0] ? "FAILED" : "ok", num(r, "took_ms"),
				    (int)num(r, "files_changed"), (int)num(r, "deleted"),
				    num(r, "bytes"), num(r, "age_s"), str(r, "error")[0] ? ": " : "",
				    str(r, "error"));
		}
		if (json_object_object_get_ex(s, "relieve", &r)) {
			struct json_object *cpu = json_object_object_get(r, "cpu_pct");
			printf("  relieve  %s%s%s%s, strategy %s: %s%s%s", str(r, "migrate_to"),
			    str(r, "migrate_to")[0] && str(r, "promote_to")[0] ? " or " : "",
			    str(r, "promote_to")[0] ? "vm " : "", str(r, "promote_to"),
			    str(r, "strategy"), str(r, "running")[0] ? "RUNNING " : "",
			    str(r, "running"), str(r, "running")[0] ? "" : str(r, "last")[0] ?
			    str(r, "last") : "not run");
			struct json_object *host = json_object_object_get(r, "host_memory_pct");
			if (cpu)
				printf("; load cpu %d%% memory %.0f MiB", json_object_get_int(cpu),
				    num(r, "memory_bytes") / 1048576.0);
			if (host)
				printf("%s host memory %d%%", cpu ? "," : "; load",
				    json_object_get_int(host));
			if (cpu || host)
				printf("%s", num(r, "over_ms") > 0 ? " (over the threshold)" : "");
			printf("\n");
		}
		if (str(s, "alert")[0])
			printf("  ALERT    %s\n", str(s, "alert"));
	}
}

static void
print_events(struct json_object *root)
{
	struct json_object *arr, *e;

	if (!json_object_object_get_ex(root, "events", &arr))
		return;
	for (size_t i = 0; i < json_object_array_length(arr); i++) {
		e = json_object_array_get_idx(arr, i);
		printf("%s %-8s %-16s %s\n", str(e, "time"), str(e, "kind"),
		    str(e, "service")[0] ? str(e, "service") : "-", str(e, "text"));
	}
}

int
main(int argc, char *argv[])
{
	static const struct option longopts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "socket", required_argument, NULL, 's' },
		{ "no-sync", no_argument, NULL, 'n' },
		{ "to", required_argument, NULL, 't' },
		{ "prepare", no_argument, NULL, 'p' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *sock = getenv("VCRCTL_SOCKET"), *cmd;
	char path[256], *body = NULL;
	struct json_object *root;
	int ch, code, no_sync = 0;
	const char *to = NULL;
	int prepare = 0;

	if (sock == NULL)
		sock = VCR_DEFAULT_SOCKET;
	while ((ch = getopt_long(argc, argv, "hjs:", longopts, NULL)) != -1) {
		switch (ch) {
		case 'j':
			json_out = 1;
			break;
		case 's':
			sock = optarg;
			break;
		case 'n':
			no_sync = 1;
			break;
		case 't':
			to = optarg;
			break;
		case 'p':
			prepare = 1;
			break;
		default:
			usage();
		}
	}
	argc -= optind;
	argv += optind;
	if (argc < 1)
		usage();
	cmd = argv[0];
	if (no_sync && strcmp(cmd, "failover") != 0 && strcmp(cmd, "failback") != 0)
		usage();
	if ((to != NULL) != (strcmp(cmd, "relieve") == 0) || (prepare && to == NULL))
		usage();
	if (strcmp(cmd, "status") == 0 && argc == 1)
		code = request(sock, "GET", "/v1/status", &body);
	else if (strcmp(cmd, "events") == 0 && argc == 1)
		code = request(sock, "GET", "/v1/events", &body);
	else if (strcmp(cmd, "reload") == 0 && argc == 1)
		code = request(sock, "POST", "/v1/reload", &body);
	else if ((strcmp(cmd, "failover") == 0 || strcmp(cmd, "failback") == 0 ||
	    strcmp(cmd, "sync") == 0 || strcmp(cmd, "relieve") == 0) && argc == 2) {
		if (strlen(argv[1]) > 47 || strchr(argv[1], '/') || strchr(argv[1], ' ')) {
			fprintf(stderr, "vcrctl: '%s' is not a service name\n", argv[1]);
			return 1;
		}
		if (to && (strlen(to) > 47 || strspn(to, "abcdefghijklmnopqrstuvwxyz"
		    "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.") != strlen(to))) {
			fprintf(stderr, "vcrctl: --to '%s' is not an LXD server name or vm\n", to);
			return 1;
		}
		snprintf(path, sizeof(path), "/v1/services/%s/%s%s%s%s", argv[1], cmd,
		    no_sync ? "?sync=no" : to ? "?to=" : "", to ? to : "",
		    prepare ? "&prepare=1" : "");
		code = request(sock, "POST", path, &body);
	} else
		usage();

	if ((root = json_tokener_parse(body)) == NULL) {
		fprintf(stderr, "vcrctl: vcrd answered %d with no JSON\n", code);
		free(body);
		return 1;
	}
	if (code >= 300) {
		if (json_out)
			printf("%s", body);
		else
			fprintf(stderr, "vcrctl: %s\n", str(root, "error"));
		json_object_put(root);
		free(body);
		return 1;
	}
	if (json_out)
		printf("%s", body);
	else if (strcmp(cmd, "status") == 0)
		print_status(root);
	else if (strcmp(cmd, "events") == 0)
		print_events(root);
	else if (strcmp(cmd, "reload") == 0)
		printf("vcrd: configuration reloaded\n");
	else if (strcmp(cmd, "sync") == 0)
		printf("vcrd: sync of %s started (vcrctl events shows its end)\n", argv[1]);
	else if (strcmp(cmd, "relieve") == 0)
		printf("%s: %s to %s started (vcrctl events shows each step)\n", argv[1],
		    prepare ? "copy" : "relieve", to);
	else if (code == 202 && strcmp(cmd, "failover") == 0)
		printf("%s: final sync running; the failover follows it when it succeeds "
		    "(vcrctl events)\n", argv[1]);
	else if (code == 202)
		printf("%s: syncing the standby's changes back to the primary; the failback "
		    "follows when that succeeds (vcrctl events)\n", argv[1]);
	else
		printf("%s: now on the %s (cut-over applied in %.2f ms)\n", argv[1],
		    str(root, "result"), num(root, "last_cutover_ms"));
	json_object_put(root);
	free(body);
	return 0;
}
