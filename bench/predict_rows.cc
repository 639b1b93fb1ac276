// Writes a deterministic CSV of standard-normal features for bench/predict_bench.sh:
//
//   predict_rows ROWS COLS [DIGITS=7] [MISSING_PERCENT=1] [SEED=1] > rows.csv
//
// Header f0..f{COLS-1}; values with DIGITS significant digits (as %.{DIGITS}g); about
// MISSING_PERCENT percent of the fields are empty (missing). The same arguments give the same bytes
// on every machine (splitmix64 + Box-Muller, no library random engine).
#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

namespace {

uint64_t state;

uint64_t Next() {  // splitmix64
  uint64_t z = (state += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

double Uniform() { return (static_cast<double>(Next() >> 11) + 0.5) * 0x1.0p-53; }

}  // namespace

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: %s ROWS COLS [DIGITS=7] [MISSING_PERCENT=1] [SEED=1]\n", argv[0]);
    return 2;
  }
  const long long rows = std::atoll(argv[1]);
  const int cols = std::atoi(argv[2]);
  const int digits = argc > 3 ? std::atoi(argv[3]) : 7;
  const double missing = (argc > 4 ? std::atof(argv[4]) : 1.0) / 100.0;
  state = argc > 5 ? std::strtoull(argv[5], nullptr, 10) : 1;
  std::string out;
  for (int j = 0; j < cols; ++j) out += (j ? ",f" : "f") + std::to_string(j);
  out += '\n';
  char buf[64];
  for (long long r = 0; r < rows; ++r) {
    for (int j = 0; j < cols; ++j) {
      if (j) out += ',';
      double u1 = Uniform(), u2 = Uniform(), u3 = Uniform();
      if (u3 < missing) continue;
      double v = std::sqrt(-2 * std::log(u1)) * std::cos(2 * M_PI * u2);
      auto res = std::to_chars(buf, buf + sizeof buf, static_cast<float>(v),
                               std::chars_format::general, digits);
      out.append(buf, res.ptr);
    }
    out += '\n';
    if (out.size() > (1 << 20)) {
      std::fwrite(out.data(), 1, out.size(), stdout);
      out.clear();
    }
  }
  std::fwrite(out.data(), 1, out.size(), stdout);
  return std::fflush(stdout) == 0 ? 0 : 1;
}
