// Knowledge-graph processors behind a workload distributor. Graph processors (each holding one
// `graph_unit`) extract entities and relations from documents; vector processors (each
// holding one `vector_unit`) embed them. A distributor actor is given handles to all of them
// (a std::vector of actor handles as its constructor argument) and spreads each batch of
// documents over them; the program merges the batch summaries and prints the entities found
// most often. The same documents are then processed here serially: the results must match.
//
// In-process the runtime gets 2 units of each resource unless WEFT_RESOURCES says otherwise.
// In a cluster (WEFT_ADDRESS set) the processors go to workers started with those resources
// (WEFT_RESOURCES=graph_unit=2,vector_unit=2), and the distributor to any worker: it calls the
// processors on their nodes through the handles it was given.
//
// Usage: graph_processors [documents=2000] [batch=100] [processors=2]
#include <cereal/types/map.hpp>
#include <cereal/types/string.hpp>
#include <cereal/types/vector.hpp>
#include <weft/remote.hpp>
#include <weft/weft.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <string>
#include <utility>
#include <vector>

namespace {

// A document: an id and its text.
struct document {
  std::size_t id = 0;
  std::string text;
  template <class Archive>
  void serialize(Archive& a) {
    a(id, text);
  }
};

// What a graph processor found in one document: entity mentions and relations (adjacent
// entities in a sentence).
struct graph_fragment {
  std::map<std::string, int> entities;
  std::vector<std::pair<std::string, std::string>> relations;
  template <class Archive>
  void serialize(Archive& a) {
    a(entities, relations);
  }
};

// A 16-dimensional embedding of a document (hashed words), and its norm.
struct embedding {
  std::array<float, 16> values{};
  double norm() const {
    double s = 0;
    for (float v : values)
      s += static_cast<double>(v) * v;
    return std::sqrt(s);
  }
};

// What a batch gave: documents seen, entity counts, relations, and an embedding checksum.
struct batch_summary {
  std::size_t documents = 0;
  std::map<std::string, int> entities;
  std::size_t relations = 0;
  double norms = 0;
  template <class Archive>
  void serialize(Archive& a) {
    a(documents, entities, relations, norms);
  }
  void merge(const batch_summary& other) {
    documents += other.documents;
    for (const auto& [name, count] : other.entities)
      entities[name] += count;
    relations += other.relations;
    norms += other.norms;
  }
};

std::uint64_t hash_word(const std::string& w) {
  std::uint64_t h = 1469598103934665603ull;
  for (char c : w)
    h = (h ^ static_cast<unsigned char>(c)) * 1099511628211ull;
  return h;
}

std::vector<std::string> words_of(const std::string& text) {
  std::vector<std::string> out;
  std::string word;
  for (char c : text + " ") {
    if (c == ' ' || c == '.') {
      if (!word.empty()) out.push_back(word);
      if (c == '.') out.push_back(".");
      word.clear();
    } else {
      word += c;
    }
  }
  return out;
}

graph_fragment extract(const document& doc) {
  graph_fragment out;
  std::string previous;
  for (const std::string& w : words_of(doc.text)) {
    if (w == ".") {
      previous.clear();
      continue;
    }
    if (w.front() < 'A' || w.front() > 'Z') continue;
    ++out.entities[w];
    if (!previous.empty()) out.relations.emplace_back(previous, w);
    previous = w;
  }
  return out;
}

embedding embed(const document& doc) {
  embedding out;
  for (const std::string& w : words_of(doc.text)) {
    const std::uint64_t h = hash_word(w);
    out.values[h % 16] += static_cast<float>((h >> 8) % 1000) / 1000.0f;
  }
  return out;
}

// Extracts entities and relations; holds a graph_unit for its life.
class graph_processor {
 public:
  graph_fragment process(const document& doc) { return extract(doc); }
};

// Embeds documents; holds a vector_unit for its life.
class vector_processor {
 public:
  embedding process(const document& doc) { return embed(doc); }
};

// Spreads documents over the processors it was given, round robin, and sums up a batch.
class distributor {
 public:
  distributor(std::vector<weft::actor<graph_processor>> graphs,
              std::vector<weft::actor<vector_processor>> vectors)
      : graphs_(std::move(graphs)), vectors_(std::move(vectors)) {}

  batch_summary process(const std::vector<document>& batch) {
    std::vector<weft::ref<graph_fragment>> fragments;
    std::vector<weft::ref<embedding>> embeddings;
    for (const document& doc : batch) {
      fragments.push_back(
          graphs_[next_graph_++ % graphs_.size()].call(&graph_processor::process, doc));
      embeddings.push_back(
          vectors_[next_vector_++ % vectors_.size()].call(&vector_processor::process, doc));
    }
    batch_summary out;
    out.documents = batch.size();
    for (const graph_fragment& f : weft::get(fragments)) {
      for (const auto& [name, count] : f.entities)
        out.entities[name] += count;
      out.relations += f.relations.size();
    }
    for (const embedding& e : weft::get(embeddings))
      out.norms += e.norm();
    return out;
  }

 private:
  std::vector<weft::actor<graph_processor>> graphs_;
  std::vector<weft::actor<vector_processor>> vectors_;
  std::size_t next_graph_ = 0;
  std::size_t next_vector_ = 0;
};

}  // namespace

WEFT_ACTOR(graph_processor, &graph_processor::process);
WEFT_ACTOR(vector_processor, &vector_processor::process);
WEFT_ACTOR(distributor, &distributor::process);

namespace {

std::size_t arg_or(int argc, char** argv, int i, std::size_t fallback) {
  if (argc <= i) return fallback;
  long v = std::strtol(argv[i], nullptr, 10);
  if (v <= 0) {
    std::fprintf(stderr, "argument %d must be a positive number, got '%s'\n", i, argv[i]);
    std::exit(2);
  }
  return static_cast<std::size_t>(v);
}

// Synthetic documents: sentences naming people, places and organisations.
std::vector<document> make_documents(std::size_t n) {
  static const char* names[] = {"Ada",   "Turing",  "Lovelace", "Hopper", "Geneva",  "Kyoto",
                                "Lagos", "Nairobi", "Acme",     "Globex", "Initech", "Umbrella"};
  static const char* verbs[] = {"met", "visited", "founded", "left", "joined", "advised"};
  std::vector<document> docs;
  std::uint64_t state = 42;
  auto next = [&state] {
    state = state * 6364136223846793005ull + 1442695040888963407ull;
    return state >> 33;
  };
  for (std::size_t i = 0; i < n; ++i) {
    document d;
    d.id = i;
    const std::size_t sentences = 1 + next() % 3;
    for (std::size_t s = 0; s < sentences; ++s) {
      d.text += names[next() % 12];
      d.text += " ";
      d.text += verbs[next() % 6];
      d.text += " ";
      d.text += names[next() % 12];
      d.text += " in ";
      d.text += names[next() % 12];
      d.text += ". ";
    }
    docs.push_back(std::move(d));
  }
  return docs;
}

}  // namespace

int main(int argc, char** argv) {
  const std::size_t documents = arg_or(argc, argv, 1, 2000);
  const std::size_t batch_size = arg_or(argc, argv, 2, 100);
  const std::size_t processors = arg_or(argc, argv, 3, 2);

  weft::config cfg = weft::config::from_env();
  if (!cfg.cluster.enabled() && cfg.resources.empty())
    cfg.resources = {{"graph_unit", 2}, {"vector_unit", 2}};
  weft::runtime rt{cfg};

  std::vector<weft::actor<graph_processor>> graphs;
  std::vector<weft::actor<vector_processor>> vectors;
  for (std::size_t i = 0; i < processors; ++i) {
    graphs.push_back(
        rt.spawn<graph_processor>(weft::actor_options{.resources = {{"graph_unit", 1}}}));
    vectors.push_back(
        rt.spawn<vector_processor>(weft::actor_options{.resources = {{"vector_unit", 1}}}));
  }
  auto distribute = rt.spawn<distributor>(graphs, vectors);

  // Batches go to the distributor in order; it spreads each over the processors.
  const std::vector<document> docs = make_documents(documents);
  std::vector<weft::ref<batch_summary>> summaries;
  for (std::size_t begin = 0; begin < docs.size(); begin += batch_size) {
    std::vector<document> batch(
        docs.begin() + static_cast<std::ptrdiff_t>(begin),
        docs.begin() + static_cast<std::ptrdiff_t>(std::min(begin + batch_size, docs.size())));
    summaries.push_back(distribute.call(&distributor::process, std::move(batch)));
  }
  batch_summary total;
  for (const batch_summary& s : weft::get(summaries))
    total.merge(s);

  // The same work, serially, here.
  batch_summary serial;
  serial.documents = docs.size();
  for (const document& d : docs) {
    const graph_fragment f = extract(d);
    for (const auto& [name, count] : f.entities)
      serial.entities[name] += count;
    serial.relations += f.relations.size();
    serial.norms += embed(d).norm();
  }

  std::vector<std::pair<int, std::string>> ranked;
  for (const auto& [name, count] : total.entities)
    ranked.emplace_back(-count, name);
  std::sort(ranked.begin(), ranked.end());
  std::printf("processed %zu documents in %zu batches on %zu graph and %zu vector processors\n",
              total.documents, summaries.size(), graphs.size(), vectors.size());
  std::printf("%zu distinct entities, %zu relations, embedding norms %.3f\n", total.entities.size(),
              total.relations, total.norms);
  std::printf("most mentioned:");
  for (std::size_t i = 0; i < std::min<std::size_t>(5, ranked.size()); ++i)
    std::printf(" %s (%d)", ranked[i].second.c_str(), -ranked[i].first);
  std::printf("\n");
  for (const auto& [name, units] : rt.cluster_resources())
    std::printf("resources: %s %lld in all, %lld free\n", name.c_str(),
                static_cast<long long>(units),
                static_cast<long long>(rt.available_resources()[name]));

  const bool same = serial.documents == total.documents && serial.entities == total.entities &&
                    serial.relations == total.relations &&
                    std::abs(serial.norms - total.norms) < 1e-6 * serial.norms;
  if (!same) {
    std::fprintf(stderr, "FAILED: the distributed and serial results differ\n");
    return 1;
  }
  std::printf("ok: the same result as serially\n");
  return 0;
}
