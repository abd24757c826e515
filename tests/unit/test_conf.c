/*
 * test_conf.c: the configuration parser, good files and each kind of bad
 * file with the file:line message an SRE would see.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <arpa/inet.h>
#include <cmocka.h>

#include "conf.h"

static const char good[] =
    "# globals\n"
    "control-socket /run/test.sock\n"
    "state-dir /var/lib/test\n"
    "metrics-listen 127.0.0.1:9107\n"
    "log-level debug\n"
    "log-target syslog\n"
    "keep-rules-on-exit no\n"
    "\n"
    "service web {\n"
    "\tfrontend 198.18.0.1:80   # tenants' DNS points here\n"
    "\tprotocol tcp\n"
    "\tprimary 198.18.1.2:8080\n"
    "\tstandby 198.18.2.2:8080\n"
    "\tmode dnat\n"
    "\tsnat off\n"
    "\tcheck http {\n"
    "\t\tpath /healthz\n"
    "\t\thost www.example.com\n"
    "\t\texpect-status 200-299,301\n"
    "\t\texpect-body \"all good\"\n"
    "\t\tinterval 100ms\n"
    "\t\ttimeout 80ms\n"
    "\t\trise 2\n"
    "\t\tfall 3\n"
    "\t}\n"
    "\tfailover manual\n"
    "\tfailback automatic 30s\n"
    "}\n"
    "service db { frontend 198.18.0.1:5432; primary 198.18.1.3:5432; standby 198.18.2.3:5432; check tcp }\n"
    "service relay {\n"
    "\tfrontend 198.18.0.1:8080\n"
    "\tprimary 198.18.1.4:80\n"
    "\tstandby 198.18.2.4:80\n"
    "\tmode tcp\n"
    "\tconnect-timeout 200ms\n"
    "\tidle-timeout 1m\n"
    "\ttotal-timeout 1h\n"
    "\thold-timeout 5s\n"
    "\tmax-connections 5000\n"
    "\tobserve-errors 2\n"
    "}\n"
    "service api {\n"
    "\tfrontend 198.18.0.1:8081\n"
    "\tprimary 198.18.1.5:80\n"
    "\tstandby 198.18.2.5:80\n"
    "\tmode http\n"
    "\trequest-timeout 5s\n"
    "\tresponse-timeout 1m\n"
    "\tkeepalive-timeout 30s\n"
    "\tmax-header-size 32k\n"
    "\tmax-body-size 10m\n"
    "\treplay-post on\n"
    "\tforwarded-headers off\n"
    "\tobserve-5xx 10/20\n"
    "}\n";

static struct vcr_conf *
parse(const char *text, char *err, size_t errlen)
{
	return conf_parse("test.conf", text, strlen(text), err, errlen);
}

static void
test_good(void **state)
{
	char err[512] = "";
	struct vcr_conf *c = parse(good, err, sizeof(err));
	struct svc_conf *s;
	char buf[32];

	if (c == NULL)
		print_error("%s\n", err);
	assert_non_null(c);
	assert_string_equal(err, "");
	assert_int_equal(c->nservices, 4);
	assert_string_equal(c->control_socket, "/run/test.sock");
	assert_string_equal(c->state_dir, "/var/lib/test");
	assert_string_equal(c->metrics_listen, "127.0.0.1:9107");
	assert_int_equal(c->log_level, 3);
	assert_int_equal(c->log_syslog, 1);
	assert_int_equal(c->keep_rules_on_exit, 0);
	s = conf_find(c, "web");
	assert_non_null(s);
	assert_int_equal(s->line, 9);
	assert_string_equal(fmt_endpoint(&s->frontend, buf, sizeof(buf)), "198.18.0.1:80");
	assert_string_equal(fmt_endpoint(&s->primary, buf, sizeof(buf)), "198.18.1.2:8080");
	assert_string_equal(fmt_endpoint(&s->standby, buf, sizeof(buf)), "198.18.2.2:8080");
	assert_int_equal(s->snat, 0);
	assert_int_equal(s->check.type, CHK_HTTP);
	assert_string_equal(s->check.path, "/healthz");
	assert_string_equal(s->check.host, "www.example.com");
	assert_int_equal(s->check.nstatus, 2);
	assert_int_equal(s->check.status[0].lo, 200);
	assert_int_equal(s->check.status[0].hi, 299);
	assert_int_equal(s->check.status[1].lo, 301);
	assert_string_equal(s->check.expect_body, "all good");
	assert_int_equal(s->check.interval_ms, 100);
	assert_int_equal(s->check.timeout_ms, 80);
	assert_int_equal(s->check.rise, 2);
	assert_int_equal(s->check.fall, 3);
	assert_int_equal(s->failover_auto, 0);
	assert_int_equal(s->failback_auto, 1);
	assert_int_equal(s->failback_hold_ms, 30000);
	s = conf_find(c, "db");
	assert_non_null(s);
	assert_int_equal(s->snat, 1);			/* default on */
	assert_int_equal(s->check.type, CHK_TCP);
	assert_int_equal(s->check.interval_ms, 1000);	/* defaults */
	assert_int_equal(s->failover_auto, 1);
	assert_int_equal(s->failback_auto, 0);
	assert_int_equal(s->mode, FWD_DNAT);
	assert_int_equal(s->relay.hold_ms, 3000);		/* defaults */
	assert_int_equal(s->relay.observe_errors, 3);
	s = conf_find(c, "relay");
	assert_non_null(s);
	assert_int_equal(s->mode, FWD_TCP);
	assert_int_equal(s->relay.connect_timeout_ms, 200);
	assert_int_equal(s->relay.idle_timeout_ms, 60000);
	assert_int_equal(s->relay.total_timeout_ms, 3600000);
	assert_int_equal(s->relay.hold_ms, 5000);
	assert_int_equal(s->relay.max_conns, 5000);
	assert_int_equal(s->relay.observe_errors, 2);
	assert_int_equal(s->relay.max_header, 16384);		/* http defaults, unused in tcp */
	assert_int_equal(s->relay.forwarded, 1);
	s = conf_find(c, "api");
	assert_non_null(s);
	assert_int_equal(s->mode, FWD_HTTP);
	assert_int_equal(s->relay.request_timeout_ms, 5000);
	assert_int_equal(s->relay.response_timeout_ms, 60000);
	assert_int_equal(s->relay.keepalive_timeout_ms, 30000);
	assert_int_equal(s->relay.max_header, 32768);
	assert_int_equal(s->relay.max_body, 10 << 20);
	assert_int_equal(s->relay.replay_post, 1);
	assert_int_equal(s->relay.forwarded, 0);
	assert_int_equal(s->relay.observe_5xx, 10);
	assert_int_equal(s->relay.observe_5xx_of, 20);
	conf_free(c);
}

static const char recovery[] =
    "lxd local unix:/var/lib/lxd/unix.socket\n"
    "lxd remote https://198.18.0.5:8443 {\n"
    "\tclient-cert /etc/vcrecovery/client.crt\n"
    "\tclient-key /etc/vcrecovery/client.key\n"
    "\tserver-cert /etc/vcrecovery/lxd.crt\n"
    "}\n"
    "libvirt hv1 qemu+ssh://hv1/system\n"
    "service web {\n"
    "\tfrontend 198.18.0.1:80\n"
    "\tprimary 198.18.1.2:80\n"
    "\tprimary-vm hv1 web-vm\n"
    "\tstandby 198.18.2.2:80\n"
    "\tstandby-container remote web-sb cold\n"
    "\tfencing proceed\n"
    "\tstart-timeout 10s\n"
    "}\n"
    "service db {\n"
    "\tfrontend 198.18.0.1:5432\n"
    "\tprimary 198.18.1.3:5432\n"
    "\tprimary-vm hv1 db-vm\n"
    "\tstandby 198.18.2.3:5432\n"
    "\tstandby-container local db-sb warm\n"
    "}\n";

static void
test_recovery(void **state)
{
	char err[512] = "";
	struct vcr_conf *c = parse(recovery, err, sizeof(err));
	struct lxd_conf *l;
	struct svc_conf *s;

	if (c == NULL)
		print_error("%s\n", err);
	assert_non_null(c);
	l = TAILQ_FIRST(&c->lxds);
	assert_string_equal(l->name, "local");
	assert_string_equal(l->url, "unix:/var/lib/lxd/unix.socket");
	l = TAILQ_NEXT(l, entry);
	assert_string_equal(l->url, "https://198.18.0.5:8443");
	assert_string_equal(l->client_key, "/etc/vcrecovery/client.key");
	assert_string_equal(l->server_cert, "/etc/vcrecovery/lxd.crt");
	assert_string_equal(TAILQ_FIRST(&c->virts)->uri, "qemu+ssh://hv1/system");
	s = conf_find(c, "web");
	assert_string_equal(s->rec.vm_conn, "hv1");
	assert_string_equal(s->rec.vm, "web-vm");
	assert_string_equal(s->rec.lxd, "remote");
	assert_string_equal(s->rec.container, "web-sb");
	assert_int_equal(s->rec.cold, 1);
	assert_int_equal(s->rec.fence, 1);
	assert_int_equal(s->rec.fence_proceed, 1);
	assert_int_equal(s->rec.start_timeout_ms, 10000);
	s = conf_find(c, "db");
	assert_int_equal(s->rec.cold, 0);
	assert_int_equal(s->rec.fence, 1);		/* default with primary-vm */
	assert_int_equal(s->rec.fence_proceed, 0);	/* default refuse */
	assert_int_equal(s->rec.start_timeout_ms, 30000);
	conf_free(c);
}

/* migrate-to's USER@HOST is optional: a comment, ';' or '}' may follow the address. */
static void
test_relieve_ssh(void **state)
{
	const char *text = "lxd l unix:/s\nlxd m https://198.18.9.9:8443 { client-cert /c; "
	    "client-key /k }\n"
	    "service a {\n frontend 198.18.0.1:80\n primary 198.18.1.2:80\n standby "
	    "198.18.2.2:80\n standby-container l sa warm\n sync {\n  source root@198.18.1.2\n"
	    "  key /k\n }\n relieve {\n  migrate-to m sa2 198.18.2.3:80 root@198.18.2.3\n }\n}\n"
	    "service b {\n frontend 198.18.0.1:81\n primary 198.18.1.2:81\n standby "
	    "198.18.2.2:81\n standby-container l sb warm\n relieve {\n  migrate-to m sb2 "
	    "198.18.2.4:81 # no ssh\n }\n}\n"
	    "service c {\n frontend 198.18.0.1:82\n primary 198.18.1.2:82\n standby "
	    "198.18.2.2:82\n standby-container l sc warm\n relieve { migrate-to m sc2 "
	    "198.18.2.5:82; cpu 80%; host-memory 90% }\n}\n";
	char err[512] = "";
	struct vcr_conf *c = parse(text, err, sizeof(err));

	if (c == NULL)
		print_error("%s\n", err);
	assert_non_null(c);
	assert_string_equal(conf_find(c, "a")->relieve.to_ssh, "root@198.18.2.3");
	assert_string_equal(conf_find(c, "b")->relieve.to_ssh, "");
	assert_string_equal(conf_find(c, "c")->relieve.to_ssh, "");
	assert_int_equal(conf_find(c, "c")->relieve.cpu_pct, 80);
	assert_int_equal(conf_find(c, "c")->relieve.host_mem_pct, 90);
	assert_int_equal(conf_find(c, "a")->relieve.host_mem_pct, 0);
	conf_free(c);
}

static void
test_defaults(void **state)
{
	char err[512] = "";
	struct vcr_conf *c = parse("", err, sizeof(err));

	assert_non_null(c);
	assert_int_equal(c->nservices, 0);
	assert_string_equal(c->control_socket, "/run/vcrd.sock");
	assert_int_equal(c->keep_rules_on_exit, 1);
	conf_free(c);
}

/* Each bad file and the exact message it must give. */
static const struct {
	const char *text;
	const char *msg;
} bad[] = {
	{ "log-level chatty\n",
	  "test.conf:1: field 'log-level': bad value 'chatty': expected error, warn, info or debug" },
	{ "\n\nfoo bar\n", "test.conf:3: unknown field 'foo'" },
	{ "service web {\n frontend 198.18.0.1\n}\n",
	  "test.conf:2: service 'web': field 'frontend': bad value '198.18.0.1': expected an IPv4 "
	  "address and port such as 198.18.0.1:80" },
	{ "service web {\n frontend 198.18.0.1:80\n primary 198.18.1.2:99999\n}\n",
	  "test.conf:3: service 'web': field 'primary': bad value '198.18.1.2:99999': expected an "
	  "IPv4 address and port such as 198.18.0.1:80" },
	{ "service web {\n frontend 198.18.0.1:80\n primary 198.18.1.2:80\n}\n",
	  "test.conf:1: service 'web': missing field 'standby'" },
	{ "service web {\n frontend 198.18.0.1:80\n primary 198.18.1.2:80\n standby 198.18.2.2:80\n"
	  " check tcp {\n  interval 10x\n }\n}\n",
	  "test.conf:6: service 'web': field 'interval': bad value '10x': expected a duration of at "
	  "least 10ms, such as 100ms or 2s" },
	{ "service web {\n frontend 198.18.0.1:80\n primary 198.18.1.2:80\n standby 198.18.2.2:80\n"
	  " check http {\n  fall 0\n }\n}\n",
	  "test.conf:6: service 'web': field 'fall': bad value '0': expected a whole number from 1 to 100" },
	{ "service web {\n frontend 198.18.0.1:80\n primary 198.18.1.2:80\n standby 198.18.2.2:80\n"
	  " check http {\n  expect-status 200-199\n }\n}\n",
	  "test.conf:6: service 'web': field 'expect-status': bad value '200-199': expected status "
	  "codes or ranges such as 200-299,301 (at most 8)" },
	{ "service web {\n frontend 198.18.0.1:80\n primary 198.18.1.2:80\n standby 198.18.2.2:80\n"
	  " check http {\n  interval 100ms\n  timeout 1s\n }\n}\n",
	  "test.conf:7: service 'web': check: timeout 1000ms is longer than interval 100ms" },
	{ "service web {\n frontend 198.18.0.1:80\n primary 198.18.1.2:80\n standby 198.18.1.2:80\n}\n",
	  "test.conf:4: service 'web': field 'standby': same target as the primary (198.18.1.2:80)" },
	{ "service web {\n frontend 198.18.0.1:80\n primary 198.18.1.2:80\n standby 198.18.2.2:80\n}\n"
	  "service api {\n frontend 198.18.0.1:80\n primary 198.18.1.3:80\n standby 198.18.2.3:80\n}\n",
	  "test.conf:7: service 'api': field 'frontend': 198.18.0.1:80 is already the frontend of "
	  "service 'web' (line 1)" },
	{ "service web {\n frontend 198.18.0.1:80\n primary 198.18.1.2:80\n standby 198.18.2.2:80\n}\n"
	  "service web {\n}\n",
	  "test.conf:6: service 'web' is already defined at line 1" },
	{ "service web {\n frontend 198.18.0.1:80\n mode https\n}\n",
	  "test.conf:3: service 'web': field 'mode': bad value 'https': expected dnat, tcp or http" },
	{ "service web {\n frontend 198.18.0.1:80\n primary 198.18.1.2:80\n standby 198.18.2.2:80\n"
	  " mode tcp\n response-timeout 5s\n}\n",
	  "test.conf:6: service 'web': this field is for mode http, and the service is mode tcp" },
	{ "service web {\n mode http\n observe-5xx 11/10\n}\n",
	  "test.conf:3: service 'web': field 'observe-5xx': bad value '11/10': expected N/M (N 5xx "
	  "among the last M responses, M at most 64) such as 10/20, or off" },
	{ "service web {\n mode http\n max-header-size 100\n}\n",
	  "test.conf:3: service 'web': field 'max-header-size': bad value '100': expected a size "
	  "from 1k to 1m, such as 16k" },
	{ "service web {\n mode http\n max-body-size 10q\n}\n",
	  "test.conf:3: service 'web': field 'max-body-size': bad value '10q': expected a size such "
	  "as 10m, or off" },
	{ "service web {\n mode http\n total-timeout 1h\n}\n",
	  "test.conf:3: service 'web': field 'total-timeout' is for mode tcp; mode http has "
	  "request-timeout, response-timeout and keepalive-timeout" },
	{ "service web {\n mode http\n replay-post yes\n}\n",
	  "test.conf:3: service 'web': field 'replay-post': bad value 'yes': expected on or off" },
	{ "service web {\n hold-timeout 0s\n}\n",
	  "test.conf:2: service 'web': field 'hold-timeout': bad value '0s': expected a duration "
	  "such as 500ms or 5m" },
	{ "service web {\n total-timeout forever\n}\n",
	  "test.conf:2: service 'web': field 'total-timeout': bad value 'forever': expected a "
	  "duration such as 1h, or off" },
	{ "service web {\n max-connections lots\n}\n",
	  "test.conf:2: service 'web': field 'max-connections': bad value 'lots': expected a whole "
	  "number from 1 to 1000000" },
	{ "service web {\n protocol sctp\n}\n",
	  "test.conf:2: service 'web': field 'protocol': bad value 'sctp': expected tcp (the only "
	  "protocol so far)" },
	{ "service web {\n frontend 198.18.0.1:80\n", "test.conf:3: service 'web': block not "
	  "closed (missing '}' for line 1)" },
	{ "service bad/name {\n}\n", "test.conf:1: field 'service': bad value 'bad/name': expected "
	  "a name of 1 to 47 letters, digits, '-', '_' or '.'" },
	{ "service web {\n frontend 198.18.0.1:80 extra\n}\n",
	  "test.conf:2: service 'web': field 'frontend': unexpected 'extra' after value '198.18.0.1:80'" },
	{ "service web {\n failback automatic soon\n}\n",
	  "test.conf:2: service 'web': field 'failback automatic': bad value 'soon': expected a "
	  "hold-down duration such as 60s" },
	{ "service web {\n check http {\n  path \"/a\n }\n}\n",
	  "test.conf:3: unterminated string \"/a\"" },
	{ "service web {\n check tcp {\n  host example.com\n }\n}\n",
	  "test.conf:3: service 'web': check tcp: 'host' and 'expect-body' need 'check http'" },
	{ "service a {\n frontend 198.18.0.1:80\n primary 198.18.1.2:80\n standby 198.18.2.2:80\n}\n"
	  "service b {\n frontend 198.18.0.1:81\n primary 198.18.1.2:80\n standby 198.18.2.3:80\n"
	  " snat off\n}\n",
	  "test.conf:6: service 'b': field 'snat': target 198.18.1.2:80 is shared with service 'a' "
	  "(line 1), whose snat differs" },
	{ "metrics-listen localhost:80\n", "test.conf:1: field 'metrics-listen': bad value "
	  "'localhost:80': expected an IPv4 address and port such as 127.0.0.1:9107, or off" },
	{ "control-socket\n", "test.conf:1: field 'control-socket': missing value" },
	{ "}\n", "test.conf:1: unexpected '}'" },
	{ "lxd local tcp://198.18.0.5:8443\n", "test.conf:1: lxd 'local': field 'url': bad value "
	  "'tcp://198.18.0.5:8443': expected unix:/var/lib/lxd/unix.socket or https://HOST:8443" },
	{ "lxd remote https://198.18.0.5:8443\n", "test.conf:1: lxd 'remote': an https:// URL needs "
	  "client-cert and client-key (LXD trusts clients by certificate)" },
	{ "lxd local unix:/var/lib/lxd/unix.socket {\n client-cert /etc/c.pem\n}\n",
	  "test.conf:1: lxd 'local': certificates are for an https:// URL, not "
	  "unix:/var/lib/lxd/unix.socket" },
	{ "lxd r https://h:8443 {\n client-cert c.pem\n}\n", "test.conf:2: lxd 'r': field "
	  "'client-cert': bad value 'c.pem': expected an absolute path of at most 255 bytes" },
	{ "lxd a unix:/s\nlxd a unix:/t\n", "test.conf:2: lxd 'a' is already defined at line 1" },
	{ "libvirt hv qemu\n", "test.conf:1: libvirt 'hv': field 'uri': bad value 'qemu': expected "
	  "a libvirt URI such as qemu:///system or qemu+ssh://host/system" },
	{ "service web {\n frontend 198.18.0.1:80\n primary 198.18.1.2:80\n standby 198.18.2.2:80\n" " primary-vm hv\n}\n", "test.conf:5: service 'web': field 'primary-vm': bad value '': "
	  "expected a domain name after the connection name, such as 'primary-vm hv1 web-vm'" },
	{ "service web {\n frontend 198.18.0.1:80\n primary 198.18.1.2:80\n standby 198.18.2.2:80\n" " primary-vm hv web\n}\n", "test.conf:5: service 'web': field 'primary-vm': no "
	  "'libvirt hv URI' line in the file" },
	{ "lxd l unix:/s\n" "service web {\n frontend 198.18.0.1:80\n primary 198.18.1.2:80\n standby 198.18.2.2:80\n" " standby-container l web-sb lukewarm\n}\n", "test.conf:6: "
	  "service 'web': field 'standby-container': bad value 'lukewarm': expected warm or cold "
	  "after the instance name" },
	{ "service web {\n frontend 198.18.0.1:80\n primary 198.18.1.2:80\n standby 198.18.2.2:80\n" " standby-container nope web-sb cold\n}\n", "test.conf:5: service 'web': field "
	  "'standby-container': no 'lxd nope URL' line in the file" },
	{ "service web {\n frontend 198.18.0.1:80\n primary 198.18.1.2:80\n standby 198.18.2.2:80\n" " fencing proceed\n}\n", "test.conf:5: service 'web': field 'fencing' needs "
	  "'primary-vm' (the VM to power off)" },
	{ "service web {\n frontend 198.18.0.1:80\n primary 198.18.1.2:80\n standby 198.18.2.2:80\n" " fencing maybe\n}\n", "test.conf:5: service 'web': field 'fencing': bad value "
	  "'maybe': expected refuse (no cut-over when fencing fails), proceed, or off" },
	{ "service web {\n frontend 198.18.0.1:80\n primary 198.18.1.2:80\n standby 198.18.2.2:80\n" " start-timeout 5ms\n}\n", "test.conf:5: service 'web': field 'start-timeout': bad "
	  "value '5ms': expected a duration of at least 100ms, such as 30s" },
	{ "lxd l unix:/s\n" "service web {\n frontend 198.18.0.1:80\n primary 198.18.1.2:80\n standby 198.18.2.2:80\n" " standby-container l sb warm\n}\nservice b {\n frontend 198.18.0.1:81\n"
	  " primary 198.18.1.3:80\n standby 198.18.2.3:80\n standby-container l sb cold\n}\n",
	  "test.conf:12: service 'b': field 'standby-container': l/sb is already the standby of "
	  "service 'web' (line 2)" },
	{ "lxd l unix:/s\n" "service web {\n frontend 198.18.0.1:80\n primary 198.18.1.2:80\n standby 198.18.2.2:80\n" " standby-container l sb warm\n failback automatic 30s\n"
	  " sync {\n  source root@198.18.1.2\n  key /k\n }\n}\n", "test.conf:7: service 'web': field "
	  "'failback': automatic with a 'sync' block would leave what the standby wrote behind; "
	  "use 'failback manual' and 'vcrctl failback', which syncs it back first" },
	{ "lxd l unix:/s\nlxd m https://198.18.9.9:8443 { client-cert /c; client-key /k }\nlibvirt hv qemu:///system\n" "service web {\n frontend 198.18.0.1:80\n primary 198.18.1.2:80\n standby 198.18.2.2:80\n" " standby-container l sb warm\n relieve {\n  cpu 80%\n }\n}\n",
	  "test.conf:9: service 'web': relieve: needs 'migrate-to' or 'promote-to' (where the "
	  "service goes)" },
	{ "lxd l unix:/s\nlxd m https://198.18.9.9:8443 { client-cert /c; client-key /k }\nlibvirt hv qemu:///system\n" "service web {\n frontend 198.18.0.1:80\n primary 198.18.1.2:80\n standby 198.18.2.2:80\n" " standby-container m sb warm\n relieve {\n  migrate-to l sb2 198.18.2.3:80\n }\n}\n",
	  "test.conf:10: service 'web': relieve migrate-to: lxd l is reached at unix:/s; the "
	  "source pushes the container to it, so it needs an https:// URL" },
	{ "lxd l unix:/s\nlxd m https://198.18.9.9:8443 { client-cert /c; client-key /k }\nlibvirt hv qemu:///system\n" "service web {\n frontend 198.18.0.1:80\n primary 198.18.1.2:80\n standby 198.18.2.2:80\n" " standby-container l sb warm\n relieve {\n  migrate-to l sb2 198.18.2.3:80\n }\n}\n",
	  "test.conf:10: service 'web': relieve migrate-to: l is the standby's own LXD server; "
	  "name another one" },
	{ "lxd l unix:/s\nlxd m https://198.18.9.9:8443 { client-cert /c; client-key /k }\nlibvirt hv qemu:///system\n" "service web {\n frontend 198.18.0.1:80\n primary 198.18.1.2:80\n standby 198.18.2.2:80\n" " standby-container l sb warm\n relieve {\n  migrate-to n sb2 198.18.2.3:80\n }\n}\n",
	  "test.conf:10: service 'web': relieve migrate-to: no 'lxd n URL' line in the file" },
	{ "lxd l unix:/s\nlxd m https://198.18.9.9:8443 { client-cert /c; client-key /k }\nlibvirt hv qemu:///system\n" "service web {\n frontend 198.18.0.1:80\n primary 198.18.1.2:80\n standby 198.18.2.2:80\n" " standby-container l sb warm\n relieve {\n  migrate-to m sb2 198.18.2.3\n }\n}\n",
	  "test.conf:10: service 'web': field 'relieve migrate-to': bad value '198.18.2.3': "
	  "expected the container's ADDRESS:PORT on that server" },
	{ "lxd l unix:/s\nlxd m https://198.18.9.9:8443 { client-cert /c; client-key /k }\nlibvirt hv qemu:///system\n" "service web {\n frontend 198.18.0.1:80\n primary 198.18.1.2:80\n standby 198.18.2.2:80\n" " standby-container l sb warm\n relieve {\n  migrate-to m sb2 198.18.2.3:80\n  cpu 80\n }\n}\n",
	  "test.conf:11: service 'web': field 'relieve cpu': bad value '80': expected a "
	  "percentage of one CPU, such as 80% (200% is two CPUs)" },
	{ "lxd l unix:/s\nlxd m https://198.18.9.9:8443 { client-cert /c; client-key /k }\nlibvirt hv qemu:///system\n" "service web {\n frontend 198.18.0.1:80\n primary 198.18.1.2:80\n standby 198.18.2.2:80\n" " standby-container l sb warm\n relieve {\n  migrate-to m sb2 198.18.2.3:80\n  host-memory 101%\n }\n}\n",
	  "test.conf:11: service 'web': field 'relieve host-memory': bad value '101%': expected a "
	  "percentage of the LXD server's memory, 1% to 100%, such as 90%" },
	{ "lxd l unix:/s\nlxd m https://198.18.9.9:8443 { client-cert /c; client-key /k }\nlibvirt hv qemu:///system\n" "service web {\n frontend 198.18.0.1:80\n primary 198.18.1.2:80\n standby 198.18.2.2:80\n" " standby-container l sb warm\n relieve {\n  migrate-to m sb2 198.18.2.3:80\n  host-memory 90\n }\n}\n",
	  "test.conf:11: service 'web': field 'relieve host-memory': bad value '90': expected a "
	  "percentage of the LXD server's memory, 1% to 100%, such as 90%" },
	{ "lxd l unix:/s\nlxd m https://198.18.9.9:8443 { client-cert /c; client-key /k }\nlibvirt hv qemu:///system\n" "service web {\n frontend 198.18.0.1:80\n primary 198.18.1.2:80\n standby 198.18.2.2:80\n" " standby-container l sb warm\n relieve {\n  migrate-to m sb2 198.18.2.3:80\n  strategy vm\n }\n}\n",
	  "test.conf:11: service 'web': relieve: strategy vm needs 'promote-to'" },
	{ "lxd l unix:/s\nlxd m https://198.18.9.9:8443 { client-cert /c; client-key /k }\nlibvirt hv qemu:///system\n" "service web {\n frontend 198.18.0.1:80\n primary 198.18.1.2:80\n standby 198.18.2.2:80\n" " standby-container l sb warm\n relieve {\n  promote-to hv web2 198.18.1.3:80 root@198.18.1.3\n }\n}\n",
	  "test.conf:10: service 'web': relieve promote-to needs a 'sync' block (its key copies "
	  "the container into the VM)" },
	{ "lxd l unix:/s\nlxd m https://198.18.9.9:8443 { client-cert /c; client-key /k }\nlibvirt hv qemu:///system\n" "service web {\n frontend 198.18.0.1:80\n primary 198.18.1.2:80\n standby 198.18.2.2:80\n" " standby-container l sb warm\n sync {\n  source root@198.18.1.2\n  key /k\n }\n relieve {\n  promote-to hv web2 198.18.1.3:80 198.18.1.3\n }\n}\n",
	  "test.conf:14: service 'web': field 'relieve promote-to': bad value '198.18.1.3': "
	  "expected USER@HOST for ssh to the VM after its address" },
	{ "lxd l unix:/s\nlxd m https://198.18.9.9:8443 { client-cert /c; client-key /k }\nlibvirt hv qemu:///system\n" "service web {\n frontend 198.18.0.1:80\n primary 198.18.1.2:80\n standby 198.18.2.2:80\n" " standby-container l sb warm\n relieve {\n  migrate-to m sb2 198.18.2.3:80 root@198.18.2.3\n }\n}\n",
	  "test.conf:10: service 'web': relieve migrate-to root@198.18.2.3 needs a 'sync' block "
	  "(its key copies the container into its copy)" },
	{ "lxd l unix:/s\nlxd m https://198.18.9.9:8443 { client-cert /c; client-key /k }\nlibvirt hv qemu:///system\n" "service web {\n frontend 198.18.0.1:80\n primary 198.18.1.2:80\n standby 198.18.2.2:80\n" " standby-container l sb warm\n relieve {\n  migrate-to m sb2 198.18.2.3:80 198.18.2.3\n }\n}\n",
	  "test.conf:10: service 'web': field 'relieve migrate-to': bad value '198.18.2.3': "
	  "expected USER@HOST for ssh into the copy after its address, or nothing" },
	{ "lxd l unix:/s\nlxd m https://198.18.9.9:8443 { client-cert /c; client-key /k }\nlibvirt hv qemu:///system\n" "service web {\n frontend 198.18.0.1:80\n primary 198.18.1.2:80\n standby 198.18.2.2:80\n" " relieve {\n  migrate-to m sb2 198.18.2.3:80\n }\n}\n",
	  "test.conf:8: service 'web': relieve needs 'standby-container' (the container it "
	  "moves or replaces)" },
};

static void
test_bad(void **state)
{
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char err[512] = "";
		struct vcr_conf *c = parse(bad[i].text, err, sizeof(err));
		if (c != NULL || strcmp(err, bad[i].msg) != 0)
			print_error("case %zu:\n  want: %s\n  got:  %s\n", i, bad[i].msg,
			    c ? "(accepted)" : err);
		assert_null(c);
		assert_string_equal(err, bad[i].msg);
	}
}

static void
test_nul_byte(void **state)
{
	char err[256];
	static const char text[] = "log-level info\n\0garbage";

	assert_null(conf_parse("test.conf", text, sizeof(text) - 1, err, sizeof(err)));
	assert_string_equal(err, "test.conf:1: file contains a NUL byte: not a text file");
}

static void
test_missing_file(void **state)
{
	char err[256];

	assert_null(conf_load("/nonexistent/vcrd.conf", err, sizeof(err)));
	assert_string_equal(err, "/nonexistent/vcrd.conf: cannot open: No such file or directory");
}

static void
test_equal(void **state)
{
	char err[512];
	struct vcr_conf *a = parse(good, err, sizeof(err));
	struct vcr_conf *b = parse(good, err, sizeof(err));

	assert_true(svc_conf_equal(conf_find(a, "web"), conf_find(b, "web")));
	conf_find(b, "web")->check.fall = 4;
	assert_false(svc_conf_equal(conf_find(a, "web"), conf_find(b, "web")));
	conf_free(a);
	conf_free(b);
}

static void
test_durations(void **state)
{
	unsigned ms;

	assert_int_equal(parse_duration_ms("150ms", &ms), 0);
	assert_int_equal(ms, 150);
	assert_int_equal(parse_duration_ms("2s", &ms), 0);
	assert_int_equal(ms, 2000);
	assert_int_equal(parse_duration_ms("1m", &ms), 0);
	assert_int_equal(ms, 60000);
	assert_int_equal(parse_duration_ms("-1s", &ms), -1);
	assert_int_equal(parse_duration_ms("5", &ms), -1);
	assert_int_equal(parse_duration_ms("99999999999s", &ms), -1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_good),
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_recovery),
		cmocka_unit_test(test_relieve_ssh),
		cmocka_unit_test(test_bad),
		cmocka_unit_test(test_nul_byte),
		cmocka_unit_test(test_missing_file),
		cmocka_unit_test(test_equal),
		cmocka_unit_test(test_durations),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
