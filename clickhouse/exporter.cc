// The export thread: sends what the local store holds after the saved cursor as INSERTs,
// and saves the cursor after each acknowledged batch. The records come from the writer's
// handoff when it holds the ones right after the cursor (the steady state), else from the
// store (a backlog: after an outage, a restart, or writes the handoff did not keep). While
// ClickHouse is down the backlog stays in the store (ingest is never waited for) and is
// retried with back-off.
#include <pthread.h>
#include <spdlog/spdlog.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>

#include "clickhouse/clickhouse.h"
#include "clickhouse/handoff.h"
#include "clickhouse/http.h"
#include "clickhouse/rows.h"

namespace resyncwatch {

class ClickHouseExporter::Impl {
 public:
  Impl(Store* store, const ExporterOptions& options, uint64_t store_id, ExportCursor cursor)
      : store_(store),
        options_(options),
        http_(options.clickhouse),
        origin_columns_(clickhouse::OriginColumns({store_id, options.collector_name})),
        cursor_(std::move(cursor)),
        handoff_(origin_columns_, options.handoff_max_bytes) {}

  void Start() {
    // Without the handoff every record is read from the store, which is always right.
    if (options_.handoff_max_bytes > 0) tapped_ = store_->SetExportTap(&handoff_).ok();
    thread_ = std::thread([this] { Run(); });
  }
  ~Impl() {
    if (tapped_) (void)store_->SetExportTap(nullptr);  // before handoff_ goes
    {
      std::lock_guard lock(mu_);
      stop_ = true;
    }
    cv_.notify_all();
    if (thread_.joinable()) thread_.join();
  }

  ExporterStats stats() const {
    ExporterStats s;
    s.exported_events = exported_events_.load();
    s.exported_raw = exported_raw_.load();
    s.batches = batches_.load();
    s.failed_batches = failed_batches_.load();
    s.backlog = backlog_.load();
    s.dropped_partitions = dropped_partitions_.load();
    s.up = up_.load();
    s.sent_from_handoff = sent_from_handoff_.load();
    s.sent_from_store = sent_from_store_.load();
    s.handoff_passed = handoff_.passed_records();
    return s;
  }

 private:
  using Clock = std::chrono::steady_clock;

  void Run();
  // Sends one batch from the cursor; false when there was nothing to send.
  Result<bool> SendBatch();
  // Takes the handoff's chunks that continue the cursor as the batch's rows; false when it
  // holds none (the store has them).
  bool TakeFromHandoff(size_t* events, size_t* raw, ExportCursor* next);
  // Waits up to `us` or until stopped or notified; false once stopped.
  bool Wait(int64_t us) {
    std::unique_lock lock(mu_);
    cv_.wait_for(lock, std::chrono::microseconds(us), [this] { return stop_; });
    return !stop_;
  }
  bool stopping() {
    std::lock_guard lock(mu_);
    return stop_;
  }
  void UpdateBacklog() {
    Result<uint64_t> next = store_->NextSeq();
    if (next.ok()) backlog_ = *next > cursor_.seq ? *next - cursor_.seq : 0;
  }
  void Failed(const Status& why);
  // Drops ClickHouse's expired day partitions when retention is on and it is time.
  void ApplyRetention();

  Store* store_;
  const ExporterOptions options_;
  const clickhouse::Http http_;
  const std::string origin_columns_;  // the first columns of every row, encoded once
  ExportCursor cursor_;               // the export thread's own
  clickhouse::Handoff handoff_;
  bool tapped_ = false;                                    // the store hands its writes to handoff_
  std::vector<const clickhouse::Handoff::Chunk*> chunks_;  // the batch's, from the handoff
  // A batch's rows read from the store, kept between batches for their capacity.
  clickhouse::RowBuffer event_body_, raw_body_;
  // The INSERT bodies: the handoff's chunks, or the rows above.
  std::vector<std::string_view> event_pieces_, raw_pieces_;
  const std::string event_insert_ = "INSERT INTO events (" +
                                    std::string(clickhouse::kEventInsertColumns) +
                                    ") FORMAT TabSeparated";
  const std::string raw_insert_ =
      "INSERT INTO raw (" + std::string(clickhouse::kRawInsertColumns) + ") FORMAT TabSeparated";
  bool schema_ready_ = false;
  int64_t retry_us_ = 0;
  Clock::time_point last_warning_{};
  uint64_t suppressed_ = 0;

  std::atomic<uint64_t> exported_events_{0}, exported_raw_{0}, batches_{0}, failed_batches_{0};
  std::atomic<uint64_t> backlog_{0}, dropped_partitions_{0};
  std::atomic<uint64_t> sent_from_handoff_{0}, sent_from_store_{0};
  Clock::time_point next_retention_{};  // the first pass runs at once
  std::atomic<bool> up_{false};

  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
  std::thread thread_;
};

void ClickHouseExporter::Impl::Failed(const Status& why) {
  up_ = false;
  ++failed_batches_;
  retry_us_ =
      retry_us_ == 0 ? options_.retry_min_us : std::min(retry_us_ * 2, options_.retry_max_us);
  const auto now = Clock::now();
  if (last_warning_ == Clock::time_point{} ||
      now - last_warning_ >= std::chrono::microseconds(options_.warn_interval_us)) {
    spdlog::warn(
        "clickhouse export failing ({} records waiting in the store{}): {}", backlog_.load(),
        suppressed_ ? ", " + std::to_string(suppressed_) + " more failures not logged" : "",
        why.message());
    last_warning_ = now;
    suppressed_ = 0;
  } else {
    ++suppressed_;
  }
}

bool ClickHouseExporter::Impl::TakeFromHandoff(size_t* events, size_t* raw, ExportCursor* next) {
  chunks_.clear();
  // Inside a span the store path goes on to its end: spans and chunks both end where a
  // Write did, so past the span the cursor is where a chunk starts.
  if (!tapped_ || cursor_.span_end != 0) return false;
  handoff_.Take(cursor_.seq, options_.max_batch_rows, &chunks_);
  if (chunks_.empty()) return false;
  for (const clickhouse::Handoff::Chunk* chunk : chunks_) {
    if (chunk->n_events > 0) event_pieces_.push_back(chunk->events.view());
    if (chunk->n_raw > 0) raw_pieces_.push_back(chunk->raw.view());
    *events += chunk->n_events;
    *raw += chunk->n_raw;
  }
  *next = ExportCursor();
  next->seq = chunks_.back()->end;
  return true;
}

Result<bool> ClickHouseExporter::Impl::SendBatch() {
  event_pieces_.clear();
  raw_pieces_.clear();
  size_t events = 0, raw = 0;
  ExportCursor next;
  const bool from_handoff = TakeFromHandoff(&events, &raw, &next);
  if (!from_handoff) {
    // Each record is encoded as the store decodes it (into one reused object): no copy of
    // the batch is kept but its rows.
    event_body_.clear();
    raw_body_.clear();
    const ExportVisitor encode{[&](const Event& e) {
                                 clickhouse::AppendEventRow(origin_columns_, e, &event_body_);
                                 ++events;
                               },
                               [&](const RawDatagram& r) {
                                 clickhouse::AppendRawRow(origin_columns_, r, &raw_body_);
                                 ++raw;
                               }};
    Status s = store_->VisitForExport(cursor_, options_.max_batch_rows, encode, &next);
    if (!s.ok()) return s;
    event_pieces_.push_back(event_body_.view());
    raw_pieces_.push_back(raw_body_.view());
  }
  if (events == 0 && raw == 0) {
    if (next == cursor_) return false;
    if (Status s = store_->SaveExportCursor(next); !s.ok()) return s;
    cursor_ = std::move(next);
    return true;
  }
  if (events > 0) {
    if (Status s = http_.Execute(event_insert_, event_pieces_); !s.ok()) return s;
  }
  if (raw > 0) {
    if (Status s = http_.Execute(raw_insert_, raw_pieces_); !s.ok()) return s;
  }
  // Acknowledged: only now may the cursor move (a crash before this sends the batch again,
  // which the tables fold away).
  if (Status s = store_->SaveExportCursor(next); !s.ok()) return s;
  cursor_ = std::move(next);
  if (from_handoff) handoff_.Release(chunks_.size());
  (from_handoff ? sent_from_handoff_ : sent_from_store_) += events + raw;
  exported_events_ += events;
  exported_raw_ += raw;
  ++batches_;
  return true;
}

void ClickHouseExporter::Impl::ApplyRetention() {
  if (options_.retention_us <= 0 || Clock::now() < next_retention_) return;
  next_retention_ = Clock::now() + std::chrono::microseconds(options_.retention_interval_us);
  const int64_t now_us = std::chrono::duration_cast<std::chrono::microseconds>(
                             std::chrono::system_clock::now().time_since_epoch())
                             .count();
  int dropped = 0;
  Status s = DropExpiredClickHousePartitions(options_.clickhouse, now_us - options_.retention_us,
                                             &dropped);
  dropped_partitions_ += dropped;
  if (dropped > 0) spdlog::info("clickhouse retention: dropped {} day partitions", dropped);
  // Not an export failure: the next pass tries again.
  if (!s.ok()) spdlog::warn("clickhouse retention failed: {}", s.message());
}

void ClickHouseExporter::Impl::Run() {
  pthread_setname_np(pthread_self(), "rw-clickhouse");
  Clock::time_point last_send = Clock::now();
  while (!stopping()) {
    if (!schema_ready_) {
      Status s = CreateClickHouseSchema(options_.clickhouse);
      if (!s.ok()) {
        UpdateBacklog();
        Failed(s);
        if (!Wait(retry_us_)) return;
        continue;
      }
      schema_ready_ = true;
      // The backlog first: "up with nothing waiting" must not be seen before it is true.
      UpdateBacklog();
      up_ = true;
    }
    ApplyRetention();
    UpdateBacklog();
    const uint64_t waiting = backlog_.load();
    const auto since_send = Clock::now() - last_send;
    if (waiting == 0 || (waiting < options_.min_batch_rows &&
                         since_send < std::chrono::microseconds(options_.max_delay_us))) {
      if (!Wait(waiting == 0 ? options_.max_delay_us / 4 : options_.max_delay_us / 10)) return;
      continue;
    }
    Result<bool> sent = SendBatch();
    if (!sent.ok()) {
      Failed(sent.status());
      if (!Wait(retry_us_)) return;
      continue;
    }
    if (!*sent) {  // the stored seqs are not readable yet (or no longer): look again soon
      if (!Wait(options_.max_delay_us / 4)) return;
      continue;
    }
    if (!up_.exchange(true) || retry_us_ != 0) {
      spdlog::info("clickhouse export running again");
      retry_us_ = 0;
    }
    last_send = Clock::now();
    // A full batch means more is waiting: go on at once.
  }
}

ClickHouseExporter::ClickHouseExporter(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
ClickHouseExporter::~ClickHouseExporter() = default;

Result<std::unique_ptr<ClickHouseExporter>> ClickHouseExporter::Start(
    Store* store, const ExporterOptions& options) {
  if (Status s = ValidateClickHouseOptions(options.clickhouse); !s.ok()) return s;
  Result<uint64_t> id = store->ExportStoreId();
  if (!id.ok()) return id.status();
  Result<ExportCursor> cursor = store->LoadExportCursor();
  if (!cursor.ok()) return cursor.status();
  auto impl = std::make_unique<Impl>(store, options, *id, *cursor);
  impl->Start();
  return std::unique_ptr<ClickHouseExporter>(new ClickHouseExporter(std::move(impl)));
}

ExporterStats ClickHouseExporter::stats() const { return impl_->stats(); }

std::string ClickHouseExporter::RenderMetrics() const {
  const ExporterStats s = stats();
  std::string out;
  auto metric = [&](const char* name, const char* type, const char* help, uint64_t value) {
    out += std::string("# HELP ") + name + " " + help + "\n# TYPE " + name + " " + type + "\n" +
           name + " " + std::to_string(value) + "\n";
  };
  metric("resyncwatch_clickhouse_exported_events_total", "counter",
         "Events ClickHouse acknowledged (a batch sent again counts again).", s.exported_events);
  metric("resyncwatch_clickhouse_exported_raw_total", "counter",
         "Raw datagrams ClickHouse acknowledged.", s.exported_raw);
  metric("resyncwatch_clickhouse_batches_total", "counter", "INSERT batches acknowledged.",
         s.batches);
  metric("resyncwatch_clickhouse_failed_batches_total", "counter",
         "INSERTs or schema checks that failed (retried with back-off).", s.failed_batches);
  metric("resyncwatch_clickhouse_dropped_partitions_total", "counter",
         "Day partitions dropped by --clickhouse-retention.", s.dropped_partitions);
  metric("resyncwatch_clickhouse_backlog", "gauge",
         "Records stored locally and not yet acknowledged by ClickHouse.", s.backlog);
  metric("resyncwatch_clickhouse_up", "gauge", "1 when the last export call succeeded.",
         s.up ? 1 : 0);
  return out;
}

}  // namespace resyncwatch
