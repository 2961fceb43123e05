#pragma once

namespace sy::broker {

/// Holds back the socket writes of this thread's publishes and acks until
/// the outermost batch on the thread ends, then writes each connection's
/// buffer with one system call. Without a batch, a publish on a `send_asap`
/// connection is written at once, one system call (and one wake-up of the
/// server) per message; under load that is most of a node's CPU
/// (docs/BENCHMARKS.md, "Writes in batches").
///
/// A batch must not wait for anything while it is open: what it holds back
/// reaches the server only when it ends (or when another publish on the
/// same connection writes the buffer). Blocking requests write everything
/// buffered before them. Connections without `send_asap` are not batched
/// (nats.c writes them within 1 ms). Thread-local; nests; not movable.
class write_batch {
public:
  write_batch() noexcept;
  /// Ends the batch (see `end`) unless it was ended.
  ~write_batch();
  write_batch(const write_batch&) = delete;
  write_batch& operator=(const write_batch&) = delete;

  /// Ends the batch. The outermost batch writes what this thread held back,
  /// unless `more_coming`: then the writes wait for the thread's next
  /// batch, for at most 16 batches in a row and 0.5 ms. Should that batch
  /// not come within 1 ms, a thread of the broker layer writes them; it is
  /// not woken when `next_is_certain` (the caller ends another batch on this
  /// thread in any case, as a delivery thread with messages queued does).
  void end(bool more_coming = false, bool next_is_certain = false);

private:
  bool open_ = true;
};

} // namespace sy::broker
