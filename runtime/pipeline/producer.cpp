#include "runtime/pipeline/producer.hpp"

#include "runtime/pipeline/layout.hpp"
#include "runtime/task/codec.hpp"

#include <future>

namespace sy::pipeline {

void declare_and_publish(broker::connection& conn, const std::shared_ptr<broker::kv_bucket>& tasks,
                         task t, send_handler done) {
  t.status = task_status::declared;
  t.last_update = unix_now();
  auto key = task_key(t);
  auto bytes = std::make_shared<std::string>(encode(t));
  broker::outgoing_message msg;
  msg.subject = unrouted_subject(t.priority);
  msg.msg_id = t.uid;
  auto uid = t.uid;
  auto self = conn.shared_from_this();
  tasks->put_async(
      key, *bytes,
      [self, tasks, key, bytes, msg = std::move(msg), uid,
       done = std::move(done)](expected<std::uint64_t> stored) mutable {
        if (!stored)
          return done(make_error(stored.error().code,
                                 "cannot record task " + uid + ": " + stored.error().message));
        msg.data = std::move(*bytes);
        self->js_publish_async(
            msg, [tasks, key, uid, done = std::move(done)](expected<broker::pub_ack> ack) {
              if (ack) return done(uid);
              // A record without its message would keep the analysis open. If this
              // erase fails too, the caller still learns that the send failed and
              // `switchyard cancel` removes the record.
              tasks->erase_async(key, [](expected<std::uint64_t>) {});
              done(make_error(ack.error().code,
                              "cannot publish task " + uid + ": " + ack.error().message));
            });
      });
}

producer::producer(std::shared_ptr<broker::connection> conn,
                   std::shared_ptr<broker::kv_bucket> tasks)
    : conn_(std::move(conn)), tasks_(std::move(tasks)) {}

expected<producer> producer::open(std::shared_ptr<broker::connection> conn) {
  auto tasks = broker::kv_bucket::open(conn, tasks_bucket);
  if (!tasks) return tasks.error();
  return producer{std::move(conn), std::make_shared<broker::kv_bucket>(std::move(*tasks))};
}

void producer::send_async(task t, send_handler done) {
  declare_and_publish(*conn_, tasks_, std::move(t), std::move(done));
}

expected<std::string> producer::send(task t, std::chrono::milliseconds timeout) {
  auto result = std::make_shared<std::promise<expected<std::string>>>();
  auto future = result->get_future();
  send_async(std::move(t), [result](expected<std::string> r) { result->set_value(std::move(r)); });
  if (future.wait_for(timeout) != std::future_status::ready)
    return make_error(errc::unavailable, "no answer from the broker within " +
                                             std::to_string(timeout.count()) + " ms");
  return future.get();
}

} // namespace sy::pipeline
