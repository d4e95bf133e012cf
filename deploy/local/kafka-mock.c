/*
 * A real Kafka-protocol broker for tests and local runs, from librdkafka's mock cluster.
 *
 *   kafka-mock <brokers> <topic:partitions>[,<topic:partitions>...] [control-port]
 *
 * Prints "CONTROL 127.0.0.1:<port>" (when a control port is given) and then "BOOTSTRAP <host:port,...>" on
 * stdout once the cluster and the control socket are up, then runs until SIGTERM/SIGINT.
 * The mock has no CreateTopics admin API, so topics are created here.
 * If control-port is given, it listens on 127.0.0.1:<port> for one-line commands (fault drills):
 *   broker_down <id> | broker_up <id> | push_error <api-key> <count> <error-code> | ping
 *   push_errors <api-key> <code>[,<code>...]   a sequence of different errors for the next requests of that API
 *   leader <topic> <partition> <broker-id>     move a partition's leadership (the mock does not do it on broker_down)
 *   coordinator <group|transaction> <key> <broker-id>   move a group's (or transactional id's) coordinator
 * Each connection carries one command and gets one line back: OK, PONG or an error text.
 */
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static volatile sig_atomic_t running = 1;
static void stop(int sig) { (void)sig; running = 0; }

static void handle_command(rd_kafka_mock_cluster_t *mc, char *line, char *reply, size_t rlen) {
  int a = 0, b = 0, c = 0;
  char topic[200];
  char codes[200];
  if (sscanf(line, "leader %199s %d %d", topic, &a, &b) == 3) {
    rd_kafka_resp_err_t e = rd_kafka_mock_partition_set_leader(mc, topic, a, b);
    snprintf(reply, rlen, "%s\n", e ? rd_kafka_err2str(e) : "OK");
  } else if (sscanf(line, "coordinator %15s %199s %d", codes, topic, &a) == 3) {
    rd_kafka_resp_err_t e = rd_kafka_mock_coordinator_set(mc, codes, topic, a);
    snprintf(reply, rlen, "%s\n", e ? rd_kafka_err2str(e) : "OK");
  } else if (sscanf(line, "push_errors %d %199s", &a, codes) == 2) {
    rd_kafka_resp_err_t errs[64];
    size_t n = 0;
    for (char *tok = strtok(codes, ","); tok && n < 64; tok = strtok(NULL, ",")) errs[n++] = (rd_kafka_resp_err_t)atoi(tok);
    if (n == 0) {
      snprintf(reply, rlen, "ERR no error codes\n");
    } else {
      rd_kafka_mock_push_request_errors_array(mc, (int16_t)a, n, errs);
      snprintf(reply, rlen, "OK\n");
    }
  } else if (sscanf(line, "broker_down %d", &a) == 1) {
    rd_kafka_resp_err_t e = rd_kafka_mock_broker_set_down(mc, a);
    snprintf(reply, rlen, "%s\n", e ? rd_kafka_err2str(e) : "OK");
  } else if (sscanf(line, "broker_up %d", &a) == 1) {
    rd_kafka_resp_err_t e = rd_kafka_mock_broker_set_up(mc, a);
    snprintf(reply, rlen, "%s\n", e ? rd_kafka_err2str(e) : "OK");
  } else if (sscanf(line, "push_error %d %d %d", &a, &b, &c) == 3 && b > 0 && b <= 10000) {
    rd_kafka_resp_err_t *errs = calloc((size_t)b, sizeof(*errs));
    for (int i = 0; i < b; i++) errs[i] = (rd_kafka_resp_err_t)c;
    rd_kafka_mock_push_request_errors_array(mc, (int16_t)a, (size_t)b, errs);
    free(errs);
    snprintf(reply, rlen, "OK\n");
  } else if (strncmp(line, "ping", 4) == 0) {
    snprintf(reply, rlen, "PONG\n");
  } else {
    snprintf(reply, rlen, "ERR unknown command\n");
  }
}

int main(int argc, char **argv) {
  if (argc < 3) {
    fprintf(stderr, "usage: %s <brokers> <topic:partitions,...> [control-port]\n", argv[0]);
    return 2;
  }
  int brokers = atoi(argv[1]);
  if (brokers < 1 || brokers > 16) { fprintf(stderr, "brokers must be 1..16, got %s\n", argv[1]); return 2; }
  char errstr[512];
  rd_kafka_conf_t *conf = rd_kafka_conf_new();
  if (rd_kafka_conf_set(conf, "log_level", "3", errstr, sizeof errstr) != RD_KAFKA_CONF_OK) {
    fprintf(stderr, "%s\n", errstr);
    return 1;
  }
  rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof errstr);
  if (!rk) { fprintf(stderr, "rd_kafka_new: %s\n", errstr); return 1; }
  rd_kafka_mock_cluster_t *mc = rd_kafka_mock_cluster_new(rk, brokers);
  if (!mc) { fprintf(stderr, "mock cluster failed\n"); return 1; }

  char *topics = strdup(argv[2]);
  for (char *tok = strtok(topics, ","); tok; tok = strtok(NULL, ",")) {
    char *colon = strchr(tok, ':');
    int parts = colon ? atoi(colon + 1) : 1;
    if (colon) *colon = '\0';
    rd_kafka_resp_err_t e = rd_kafka_mock_topic_create(mc, tok, parts, brokers < 3 ? brokers : 3);
    if (e) { fprintf(stderr, "topic %s: %s\n", tok, rd_kafka_err2str(e)); return 1; }
  }
  free(topics);

  signal(SIGTERM, stop);
  signal(SIGINT, stop);
  signal(SIGPIPE, SIG_IGN);

  /* The control socket is bound before BOOTSTRAP is printed, so a printed BOOTSTRAP means fully ready. */
  int srv = -1;
  if (argc > 3) {
    int cport = atoi(argv[3]);
    if (cport <= 0 || cport > 65535) { fprintf(stderr, "bad control port %s\n", argv[3]); return 2; }
    srv = socket(AF_INET, SOCK_STREAM, 0);
    int one = 1;
    setsockopt(srv, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in addr = {0};
    addr.sin_family = AF_INET;
    addr.sin_port = htons((uint16_t)cport);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (srv < 0 || bind(srv, (struct sockaddr *)&addr, sizeof addr) != 0 || listen(srv, 4) != 0) {
      perror("control socket");
      return 1;
    }
    printf("CONTROL 127.0.0.1:%d\n", cport);
  }
  printf("BOOTSTRAP %s\n", rd_kafka_mock_cluster_bootstraps(mc));
  fflush(stdout);
  while (running) {
    if (srv < 0) { usleep(200000); continue; }
    fd_set fds; FD_ZERO(&fds); FD_SET(srv, &fds);
    struct timeval tv = {0, 200000};
    if (select(srv + 1, &fds, NULL, NULL, &tv) <= 0) continue;
    int cl = accept(srv, NULL, NULL);
    if (cl < 0) continue;
    char buf[256]; ssize_t n = read(cl, buf, sizeof buf - 1);
    if (n > 0) {
      buf[n] = '\0';
      char reply[256];
      handle_command(mc, buf, reply, sizeof reply);
      ssize_t w = write(cl, reply, strlen(reply)); (void)w;
    }
    close(cl);
  }
  rd_kafka_mock_cluster_destroy(mc);
  rd_kafka_destroy(rk);
  return 0;
}
