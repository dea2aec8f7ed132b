// Replays every file of a fuzz corpus directory through LLVMFuzzerTestOneInput (non-fuzz builds).
// Fails if the directory is missing or empty, so a target without a corpus cannot pass silently.
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s CORPUS_DIR\n", argv[0]);
    return 2;
  }
  std::error_code ec;
  size_t n = 0;
  for (const auto& e : std::filesystem::recursive_directory_iterator(argv[1], ec)) {
    if (!e.is_regular_file()) continue;
    std::ifstream in(e.path(), std::ios::binary);
    std::vector<uint8_t> buf((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    LLVMFuzzerTestOneInput(buf.data(), buf.size());
    n++;
  }
  if (ec || n == 0) {
    std::fprintf(stderr, "no corpus at %s\n", argv[1]);
    return 1;
  }
  std::printf("replayed %zu inputs from %s\n", n, argv[1]);
  return 0;
}
