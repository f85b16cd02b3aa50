// A library that shares the process's one runtime with its host program, the way Ray
// libraries call an idempotent `ensure_initialized(namespace)`: the library's calls join the
// runtime if the program made one, or make it, in the library's namespace. Its named,
// detached catalogue actor is shared by every driver of a cluster in that namespace, and
// outlives the driver that created it (it lives on a worker).
//
// The program runs as two drivers, one after the other: the first registers datasets in the
// catalogue, the second finds them there, adds one and removes the catalogue. In-process,
// `both` runs the two phases in one process and prints what the two drivers print together.
//
// Usage: library_init [both|first|second]
#include <cereal/types/map.hpp>
#include <cereal/types/string.hpp>
#include <cereal/types/vector.hpp>
#include <weft/remote.hpp>
#include <weft/weft.hpp>

#include <cstdio>
#include <cstring>
#include <map>
#include <string>
#include <vector>

namespace kg {

/// Joins the process's runtime if it exists (whatever namespace the host program chose), else
/// starts it from the environment in namespace `ns`. Safe to call from every entry point.
weft::runtime& ensure_initialized(const std::string& ns) {
  if (weft::is_initialized()) return weft::init();
  weft::config cfg = weft::config::from_env();
  cfg.namespace_ = ns;
  return weft::init(cfg);
}

/// The datasets known to the library, with their row counts.
class catalogue {
 public:
  std::size_t register_dataset(const std::string& name, long rows) {
    rows_[name] = rows;
    return rows_.size();
  }
  std::vector<std::string> datasets() const {
    std::vector<std::string> out;
    for (const auto& [name, rows] : rows_)
      out.push_back(name);
    return out;
  }
  long rows(const std::string& name) const {
    auto found = rows_.find(name);
    return found == rows_.end() ? 0 : found->second;
  }

 private:
  std::map<std::string, long> rows_;
};

/// The library's catalogue in the runtime's namespace: the existing one, or a new one.
weft::actor<catalogue> open_catalogue(weft::runtime& rt) {
  return rt.get_or_spawn<catalogue>(
      weft::actor_options{.name = "catalogue", .lifetime = weft::lifetime::detached});
}

}  // namespace kg

WEFT_ACTOR(kg::catalogue, &kg::catalogue::register_dataset, &kg::catalogue::datasets,
           &kg::catalogue::rows);

namespace {

void print_catalogue(const char* who, const weft::actor<kg::catalogue>& cat) {
  const std::vector<std::string> names = cat.call(&kg::catalogue::datasets).get();
  std::printf("%s: the catalogue holds %zu datasets:", who, names.size());
  for (const std::string& name : names)
    std::printf(" %s (%ld rows)", name.c_str(), cat.call(&kg::catalogue::rows, name).get());
  std::printf("\n");
}

// The first driver: the library starts the runtime, registers datasets.
void first_driver() {
  weft::runtime& rt = kg::ensure_initialized("kg");
  std::printf("first: %s runtime in namespace '%s'\n",
              &kg::ensure_initialized("kg") == &rt ? "one shared" : "SEVERAL",
              rt.settings().namespace_.c_str());
  weft::config other = weft::config::from_env();
  other.namespace_ = "other";
  try {
    weft::init(other);
    std::printf("first: FAILED: init with another namespace was accepted\n");
  } catch (const weft::config_error& e) {
    std::printf("first: %s\n", e.what());
  }
  auto cat = kg::open_catalogue(rt);
  cat.call(&kg::catalogue::register_dataset, std::string("roads"), 1200L);
  cat.call(&kg::catalogue::register_dataset, std::string("rivers"), 300L);
  cat.call(&kg::catalogue::register_dataset, std::string("cities"), 4500L);
  print_catalogue("first", cat);
  // Another namespace has its own catalogue.
  auto scratch = rt.get_or_spawn<kg::catalogue>(weft::actor_options{
      .name = "catalogue", .namespace_ = "scratch", .lifetime = weft::lifetime::detached});
  print_catalogue("first (namespace scratch)", scratch);
  rt.kill(scratch);
}

// The second driver: finds the catalogue the first one made, adds to it, removes it.
void second_driver() {
  weft::runtime& rt = kg::ensure_initialized("kg");
  auto cat = kg::open_catalogue(rt);
  print_catalogue("second", cat);
  cat.call(&kg::catalogue::register_dataset, std::string("parks"), 80L);
  print_catalogue("second", cat);
  rt.kill(cat);
}

}  // namespace

int main(int argc, char** argv) {
  const char* phase = argc > 1 ? argv[1] : "both";
  if (std::strcmp(phase, "first") == 0) {
    first_driver();
  } else if (std::strcmp(phase, "second") == 0) {
    second_driver();
  } else if (std::strcmp(phase, "both") == 0) {
    first_driver();
    second_driver();
  } else {
    std::fprintf(stderr, "usage: library_init [both|first|second]\n");
    return 2;
  }
  return 0;
}
