#include "runtime/pipeline/analysis_events.hpp"

#include "runtime/broker/consumer_spec.hpp"
#include "runtime/broker/stream_spec.hpp"
#include "runtime/pipeline/layout.hpp"

namespace sy::pipeline {

expected<std::unique_ptr<broker::pull_consumer>>
follow_analysis_events(const std::shared_ptr<broker::connection>& conn, const std::string& durable,
                       std::function<void(const broker::message&)> on_event) {
  broker::consumer_spec spec;
  spec.stream = events_stream;
  spec.durable = durable;
  spec.filter_subject = "sy.events.analysis.>";
  spec.max_ack_pending = -1;
  if (auto r = broker::ensure_consumer(*conn, spec); !r) return r.error();
  broker::pull_options popts;
  popts.stream = spec.stream;
  popts.consumer = spec.durable;
  popts.window = 1024;
  popts.batch = 256;
  popts.release_on_return = true;
  popts.on_message = [on_event = std::move(on_event)](broker::message m) {
    (void)m.ack();
    on_event(m);
  };
  return broker::pull_consumer::start(conn, std::move(popts));
}

expected<std::optional<std::string>> last_analysis_event(broker::connection& conn,
                                                         std::string_view root_uid) {
  // The last message by subject: an index lookup on the server. Counting
  // the subject instead (stream info) would spare the body, but can make
  // nats-server 2.9 walk every subject of the stream.
  return broker::last_message_data(conn, events_stream, analysis_event_subject(root_uid));
}

} // namespace sy::pipeline
