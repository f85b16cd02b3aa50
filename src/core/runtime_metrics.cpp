// runtime_core::metrics_text: a runtime's own figures as Prometheus metrics, read at scrape time
// from the counters the runtime keeps anyway, so serving them costs the task path nothing.

#include <string>

#include "metrics_registry.hpp"
#include "runtime_core.hpp"

namespace weft::detail {

namespace {

void add(metric_snapshot& out, const char* name, const char* type, const char* help, double value) {
  out.push_back({name, type, help, {{"", {}, value}}});
}

void add_tasks(metric_snapshot& out, const runtime_stats& s) {
  add(out, "weft_tasks_submitted_total", "counter",
      "Tasks submitted to this runtime (then() included).", static_cast<double>(s.submitted));
  add(out, "weft_tasks_completed_total", "counter", "Tasks whose callable returned.",
      static_cast<double>(s.completed));
  add(out, "weft_tasks_failed_total", "counter",
      "Tasks that ended with an exception, after their retries.", static_cast<double>(s.failed));
  add(out, "weft_tasks_cancelled_total", "counter", "Tasks cancelled before they started.",
      static_cast<double>(s.cancelled));
  add(out, "weft_tasks_retried_total", "counter",
      "Extra attempts made because of task_options::retries.", static_cast<double>(s.retried));
  add(out, "weft_tasks_live", "gauge", "Tasks submitted and not finished (queued or running).",
      static_cast<double>(s.live));
  add(out, "weft_actors_alive", "gauge", "Actors spawned on this runtime and not ended.",
      static_cast<double>(s.actors));
}

void add_arena(metric_snapshot& out, const arena_stats& a) {
  const auto d = [](std::uint64_t v) { return static_cast<double>(v); };
  add(out, "weft_arena_objects", "gauge", "Live arena objects, in memory or spilled.",
      d(a.objects));
  add(out, "weft_arena_bytes_in_memory", "gauge", "Bytes of arena objects in memory.",
      d(a.bytes_in_memory));
  add(out, "weft_arena_bytes_spilled", "gauge", "Bytes of arena objects now spilled to disk.",
      d(a.bytes_spilled));
  add(out, "weft_arena_bytes_pinned", "gauge",
      "Bytes of arena objects that cannot leave memory (not serializable, or read by get).",
      d(a.bytes_pinned));
  add(out, "weft_arena_budget_bytes", "gauge", "The arena's memory budget.", d(a.budget));
  add(out, "weft_arena_bytes_remote", "gauge",
      "Encoded bytes of objects other nodes own that were not pulled here.", d(a.bytes_remote));
  add(out, "weft_arena_spills_total", "counter", "Objects moved out of memory.", d(a.spills));
  add(out, "weft_arena_spill_writes_total", "counter", "Spills that wrote a file.",
      d(a.spill_writes));
  add(out, "weft_arena_spill_failures_total", "counter",
      "Spill writes that failed (the object stayed in memory).", d(a.spill_failures));
  add(out, "weft_arena_restores_total", "counter", "Objects read back from the spill store.",
      d(a.restores));
  add(out, "weft_arena_lost_total", "counter", "Objects found missing or corrupted when restored.",
      d(a.lost));
  add(out, "weft_arena_pulls_total", "counter", "Objects pulled from other nodes.", d(a.pulls));
}

void add_resources(metric_snapshot& out, const resource_map& total, const resource_map& free) {
  metric_family t{"weft_resource_total", "gauge", "Units of each resource this runtime has.", {}};
  metric_family f{"weft_resource_available", "gauge", "Units of each resource free now.", {}};
  for (const auto& [name, count] : total) {
    t.samples.push_back({"", {{"resource", name}}, static_cast<double>(count)});
    auto it = free.find(name);
    f.samples.push_back(
        {"", {{"resource", name}}, static_cast<double>(it == free.end() ? 0 : it->second)});
  }
  out.push_back(std::move(t));
  out.push_back(std::move(f));
}

}  // namespace

std::string runtime_core::metrics_text() const {
  metric_snapshot out;
  add(out, "weft_threads", "gauge", "Worker threads of this runtime.", threads_);
  add_tasks(out, stats());
  add_arena(out, objects_->stats());
  add_resources(out, resources_.capacity(), resources_.available());
  if (router_) router_->collect_metrics(out);
  for (metric_family& f : application_metrics())
    out.push_back(std::move(f));
  return render_prometheus(out);
}

}  // namespace weft::detail
