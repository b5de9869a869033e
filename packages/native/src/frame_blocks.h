// Memory for frames assembled from several ring messages, kept for the next such frame.
#pragma once

#include <cstddef>

namespace hostmesh {

// A block of at least `length` bytes, its capacity in `*capacity`: one kept from an earlier
// frame when one fits (pages touched already, bytes what that frame left: not zeroed), else
// a fresh one. nullptr when the system has no memory to give.
void* TakeFrameBlock(size_t length, size_t* capacity);

// Hands a block back: kept for the next TakeFrameBlock, the largest kept ones unmapped to stay
// within kFrameBlocksKeptBytes (a block larger than that is unmapped itself). Any thread.
void GiveFrameBlock(void* block, size_t capacity);

// Bytes of the blocks kept now.
size_t KeptFrameBlockBytes();

// Unmaps every kept block: memory back to the system, at the cost of faults for the next frames.
void TrimFrameBlocks();

// What the cache keeps at most: one frame of the default largest payload (64 MiB) and its header.
constexpr size_t kFrameBlocksKeptBytes = (64u << 20) + (64u << 10);

}  // namespace hostmesh
