// floor.cpp: how fast the fastest JSON parser we know of, simdjson's
// On Demand API, reads the body of owl's HTTP session benchmark, as a
// lower bound for owl's own request decoder (internal/session). It reads
// every field of every word (the text, the last answer's time, the answer
// counts and the two FSRS floats) and does less than owl does: it assumes
// encoding/json's field order, does not check the time's digits or
// ranges, does not hash the words and does not check the user state.
//
//   g++ -O3 -march=native -std=c++17 floor.cpp -lsimdjson -o floor
//   ./floor BODY.json
#include <simdjson.h>

#include <chrono>
#include <cstdio>
#include <string_view>

using namespace simdjson;

static int two(const char *s) { return (s[0] - '0') * 10 + (s[1] - '0'); }

// seconds reads 2006-01-02T15:04:05[.fraction]Z without checking it.
static long long seconds(std::string_view s, long long *ns) {
  int y = two(s.data()) * 100 + two(s.data() + 2), m = two(s.data() + 5), d = two(s.data() + 8);
  long long f = 0;
  int digits = 0;
  for (size_t i = 20; s.size() > 21 && i + 1 < s.size(); i++, digits++) f = f * 10 + (s[i] - '0');
  for (; digits < 9; digits++) f *= 10;
  *ns = f;
  // Days from civil (Howard Hinnant).
  y -= m <= 2;
  long long era = (y >= 0 ? y : y - 399) / 400;
  unsigned yoe = unsigned(y - era * 400);
  unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
  unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  long long days = era * 146097 + doe - 719468;
  return days * 86400 + two(s.data() + 11) * 3600 + two(s.data() + 14) * 60 + two(s.data() + 17);
}

int main(int argc, char **argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: floor BODY.json\n");
    return 2;
  }
  padded_string body;
  if (auto err = padded_string::load(argv[1]).get(body)) {
    std::fprintf(stderr, "floor: %s: %s\n", argv[1], error_message(err));
    return 1;
  }
  ondemand::parser parser;
  double fsum = 0;
  long long isum = 0;
  size_t words = 0;
  auto read = [&]() {
    ondemand::document doc = parser.iterate(body);
    for (auto field : doc.get_object()) {
      std::string_view key = field.unescaped_key();
      if (key == "length" || key == "seed") {
        isum += int64_t(field.value().get_uint64());
      } else if (key == "user") {
        for (auto uf : field.value().get_object()) {
          if (std::string_view(uf.unescaped_key()) != "words") continue;
          words = 0;
          for (auto w : uf.value().get_array()) {
            ondemand::object o = w.get_object();
            std::string_view text = o.find_field("word").get_string();
            std::string_view last = o.find_field("last").get_string();
            long long ns;
            isum += int64_t(text.size()) + seconds(last, &ns) + ns;
            isum += int64_t(o.find_field("seen").get_uint64()) + int64_t(o.find_field("correct").get_uint64());
            fsum += double(o.find_field("stability").get_double()) + double(o.find_field("difficulty").get_double());
            words++;
          }
        }
      } else {
        isum += int64_t(std::string_view(field.value().get_string()).size());
      }
    }
  };
  for (int i = 0; i < 2000; i++) read();
  for (int run = 0; run < 3; run++) {
    const int n = 20000;
    auto start = std::chrono::steady_clock::now();
    for (int i = 0; i < n; i++) read();
    double us = std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - start).count() / n;
    std::printf("simdjson (%s): %.1f µs per body, %.0f ns per word, %.0f MB/s\n",
                std::string(get_active_implementation()->name()).c_str(), us, us * 1000 / words, body.size() / us);
  }
  // The sums keep the reads from being optimized away.
  std::fprintf(stderr, "checksum %g %lld\n", fsum, isum);
}
