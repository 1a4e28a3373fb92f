// The driver a fuzz target is linked with when it is not built for libFuzzer: it runs
// the target once on every file named on the command line (a directory stands for the
// files in it), so the normal test run replays each corpus through the plain build and
// an input that once crashed a target keeps being tried. Flags ("-runs=…") are ignored,
// so one command line works for both builds. Exit status 0 when every input was run; a
// defect found aborts or traps inside the target and so ends the process.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size);

namespace {

bool run_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    std::fprintf(stderr, "replay: cannot read %s\n", path.c_str());
    return false;
  }
  std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  // A copy of exactly `size` bytes, so AddressSanitizer sees a read past the end.
  std::vector<std::uint8_t> copy(bytes.begin(), bytes.end());
  LLVMFuzzerTestOneInput(copy.empty() ? nullptr : copy.data(), copy.size());
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  std::size_t inputs = 0;
  bool ok = true;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg.starts_with("-")) continue;
    std::error_code ec;
    std::vector<std::filesystem::path> paths;
    if (std::filesystem::is_directory(arg, ec)) {
      for (const auto& entry : std::filesystem::directory_iterator(arg, ec))
        if (entry.is_regular_file()) paths.push_back(entry.path());
      std::sort(paths.begin(), paths.end());
    } else {
      paths.emplace_back(arg);
    }
    if (ec) {
      std::fprintf(stderr, "replay: %s: %s\n", arg.c_str(), ec.message().c_str());
      ok = false;
    }
    for (const auto& p : paths) {
      if (!run_file(p)) ok = false;
      ++inputs;
    }
  }
  std::printf("replayed %zu inputs\n", inputs);
  return ok && inputs > 0 ? 0 : 1;
}
