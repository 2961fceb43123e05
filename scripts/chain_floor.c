/*
 * The idle latency floor of a chain of JetStream hops (docs/BENCHMARKS.md).
 *
 * An idle analysis of the latency scenario crosses four stored messages in
 * sequence: the root, its fork, the fork's Finished record and the analysis
 * event, with a node process reading and writing in between and the bench
 * at both ends. This program runs that chain with nothing else: no records,
 * no decoding, no actors. Stage k of a relay process pulls from stream
 * CF_k and publishes what it got to stream CF_(k+1); the observer publishes
 * to CF_1 and times the arrival on CF_4. Pulls are "next" requests to an
 * inbox, acks go to the message's reply subject, and connections send at
 * once (SendAsap), as in the pipeline.
 *
 *   chain_floor URL setup          create the streams and consumers
 *   chain_floor URL relay          run the three relay stages until killed
 *   chain_floor URL observe N      send N messages one at a time, print
 *                                  "p50_ms p99_ms" of send to arrival
 *
 * scripts/chain_floor.py starts a nats-server and runs it.
 */
#include <nats/nats.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

enum { stages = 4 };

static void check(natsStatus s, const char* what) {
  if (s == NATS_OK) return;
  fprintf(stderr, "chain_floor: %s: %s\n", what, natsStatus_GetText(s));
  exit(1);
}

static double now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static natsConnection* connect_to(const char* url) {
  natsOptions* opts = NULL;
  natsConnection* nc = NULL;
  check(natsOptions_Create(&opts), "options");
  check(natsOptions_SetURL(opts, url), "url");
  check(natsOptions_SetSendAsap(opts, true), "send asap");
  check(natsConnection_Connect(&nc, opts), "connect");
  natsOptions_Destroy(opts);
  return nc;
}

static void setup(jsCtx* js) {
  for (int k = 1; k <= stages; ++k) {
    char name[16], subject[16];
    snprintf(name, sizeof name, "CF_%d", k);
    snprintf(subject, sizeof subject, "cf.%d", k);
    const char* subjects[] = {subject};
    jsStreamConfig sc;
    jsStreamConfig_Init(&sc);
    sc.Name = name;
    sc.Subjects = subjects;
    sc.SubjectsLen = 1;
    sc.Storage = js_FileStorage;
    /* The root and the fork wait in work queues, records and events not. */
    sc.Retention = k <= 2 ? js_WorkQueuePolicy : js_LimitsPolicy;
    check(js_AddStream(NULL, js, &sc, NULL, NULL), "add stream");
    jsConsumerConfig cc;
    jsConsumerConfig_Init(&cc);
    cc.Durable = "chain";
    cc.AckPolicy = js_AckExplicit;
    check(js_AddConsumer(NULL, js, name, &cc, NULL, NULL), "add consumer");
  }
}

struct stage {
  natsConnection* nc;
  jsCtx* js;
  int k; /* pulls from CF_k */
  char inbox[64];
  /* observer only */
  pthread_mutex_t mu;
  pthread_cond_t cv;
  int arrived;
};

static void pull_next(struct stage* st) {
  char subject[64];
  snprintf(subject, sizeof subject, "$JS.API.CONSUMER.MSG.NEXT.CF_%d.chain", st->k);
  /* One message, a request that lives 30 s (a 408 status asks again). */
  natsStatus s = natsConnection_PublishRequestString(st->nc, subject, st->inbox,
                                                     "{\"batch\":1,\"expires\":30000000000}");
  if (s != NATS_CONNECTION_CLOSED) /* the observer is done */
    check(s, "next request");
}

static bool is_status(natsMsg* m) {
  return natsMsg_GetReply(m) == NULL;
}

static void on_relay(natsConnection* nc, natsSubscription* sub, natsMsg* m, void* closure) {
  (void)nc;
  (void)sub;
  struct stage* st = closure;
  if (!is_status(m)) {
    char subject[16];
    snprintf(subject, sizeof subject, "cf.%d", st->k + 1);
    check(js_PublishAsync(st->js, subject, natsMsg_GetData(m), natsMsg_GetDataLength(m), NULL),
          "publish");
    check(natsConnection_PublishString(st->nc, natsMsg_GetReply(m), "+ACK"), "ack");
  }
  natsMsg_Destroy(m);
  pull_next(st);
}

static void on_arrival(natsConnection* nc, natsSubscription* sub, natsMsg* m, void* closure) {
  (void)nc;
  (void)sub;
  struct stage* st = closure;
  if (!is_status(m)) {
    check(natsConnection_PublishString(st->nc, natsMsg_GetReply(m), "+ACK"), "ack");
    pthread_mutex_lock(&st->mu);
    st->arrived++;
    pthread_cond_signal(&st->cv);
    pthread_mutex_unlock(&st->mu);
  }
  natsMsg_Destroy(m);
  pull_next(st);
}

static void start_stage(struct stage* st, natsMsgHandler handler) {
  natsSubscription* sub = NULL;
  natsInbox* inbox = NULL;
  check(natsInbox_Create(&inbox), "inbox");
  snprintf(st->inbox, sizeof st->inbox, "%s", (const char*)inbox);
  natsInbox_Destroy(inbox);
  check(natsConnection_Subscribe(&sub, st->nc, st->inbox, handler, st), "subscribe");
  check(natsConnection_Flush(st->nc), "flush");
  pull_next(st);
}

static int by_value(const void* a, const void* b) {
  double x = *(const double*)a, y = *(const double*)b;
  return (x > y) - (x < y);
}

int main(int argc, char** argv) {
  if (argc < 3) {
    fprintf(stderr, "usage: chain_floor URL setup|relay|observe N\n");
    return 2;
  }
  natsConnection* nc = connect_to(argv[1]);
  jsCtx* js = NULL;
  check(natsConnection_JetStream(&js, nc, NULL), "jetstream");
  const char* mode = argv[2];
  if (strcmp(mode, "setup") == 0) {
    setup(js);
  } else if (strcmp(mode, "relay") == 0) {
    static struct stage relays[stages - 1];
    for (int k = 1; k < stages; ++k) {
      relays[k - 1] = (struct stage){.nc = nc, .js = js, .k = k};
      start_stage(&relays[k - 1], on_relay);
    }
    for (;;)
      nats_Sleep(1000);
  } else if (strcmp(mode, "observe") == 0 && argc == 4) {
    int n = atoi(argv[3]);
    if (n <= 0) {
      fprintf(stderr, "chain_floor: observe needs a positive count, not %s\n", argv[3]);
      return 2;
    }
    static struct stage obs;
    obs.nc = nc;
    obs.js = js;
    obs.k = stages;
    pthread_mutex_init(&obs.mu, NULL);
    pthread_cond_init(&obs.cv, NULL);
    start_stage(&obs, on_arrival);
    double* lat = calloc((size_t)n, sizeof *lat);
    const char body[200] = {0};
    for (int i = 0; i < n; ++i) {
      double t0 = now_ms();
      check(js_PublishAsync(js, "cf.1", body, sizeof body, NULL), "publish");
      struct timespec deadline;
      clock_gettime(CLOCK_REALTIME, &deadline);
      deadline.tv_sec += 10;
      pthread_mutex_lock(&obs.mu);
      while (obs.arrived <= i)
        if (pthread_cond_timedwait(&obs.cv, &obs.mu, &deadline) != 0) {
          fprintf(stderr,
                  "chain_floor: message %d did not arrive within 10 s (is the relay "
                  "running?)\n",
                  i);
          exit(1);
        }
      pthread_mutex_unlock(&obs.mu);
      lat[i] = now_ms() - t0;
    }
    qsort(lat, (size_t)n, sizeof *lat, by_value);
    printf("%.3f %.3f\n", lat[n / 2], lat[(n * 99) / 100]);
    free(lat);
  } else {
    fprintf(stderr, "chain_floor: unknown mode %s\n", mode);
    return 2;
  }
  jsCtx_Destroy(js);
  natsConnection_Destroy(nc);
  return 0;
}
