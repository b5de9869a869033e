#include "frame_blocks.h"

#include <iterator>
#include <map>
#include <mutex>
#include <utility>
#include <vector>
#include <sys/mman.h>

namespace hostmesh {

// A frame too large for one ring message is assembled in memory of its own. Fresh memory
// for each one cost a page fault per 4 KiB (~200 per 1 MiB frame, 10–18 µs each on a VM):
// a 1 MiB echo took 4–7 ms against 0.4 ms with the pages reused. So blocks are kept, by
// capacity, up to a bound, rather than handed back to the system as malloc does.
namespace {

constexpr size_t kGranule = 64u << 10;

std::mutex blocks_mutex;
std::multimap<size_t, void*> kept_blocks;
size_t kept_bytes = 0;

}  // namespace

void* TakeFrameBlock(size_t length, size_t* capacity) {
  {
    std::lock_guard<std::mutex> lock(blocks_mutex);
    auto found = kept_blocks.lower_bound(length);
    // Not one much larger than asked: that would keep its extra pages from a frame that fits them.
    if (found != kept_blocks.end() && found->first <= 2 * length + kGranule) {
      void* block = found->second;
      *capacity = found->first;
      kept_bytes -= found->first;
      kept_blocks.erase(found);
      return block;
    }
  }
  size_t rounded = (length + kGranule - 1) / kGranule * kGranule;
  void* block = mmap(nullptr, rounded, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (block == MAP_FAILED) return nullptr;
  *capacity = rounded;
  return block;
}

void GiveFrameBlock(void* block, size_t capacity) {
  std::vector<std::pair<size_t, void*>> dropped;
  if (capacity > kFrameBlocksKeptBytes) {
    dropped.emplace_back(capacity, block);
  } else {
    std::lock_guard<std::mutex> lock(blocks_mutex);
    // The block just used is kept; the largest kept ones make room (a 64 MiB frame once must
    // not leave every later 1 MiB frame without a block).
    while (kept_bytes + capacity > kFrameBlocksKeptBytes) {
      auto largest = std::prev(kept_blocks.end());
      dropped.emplace_back(largest->first, largest->second);
      kept_bytes -= largest->first;
      kept_blocks.erase(largest);
    }
    kept_blocks.emplace(capacity, block);
    kept_bytes += capacity;
  }
  for (auto& [size, address] : dropped) munmap(address, size);
}

size_t KeptFrameBlockBytes() {
  std::lock_guard<std::mutex> lock(blocks_mutex);
  return kept_bytes;
}

void TrimFrameBlocks() {
  std::multimap<size_t, void*> dropped;
  {
    std::lock_guard<std::mutex> lock(blocks_mutex);
    dropped.swap(kept_blocks);
    kept_bytes = 0;
  }
  for (auto& [size, address] : dropped) munmap(address, size);
}

}  // namespace hostmesh
