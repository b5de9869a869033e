{
  "targets": [
    {
      "target_name": "hostmesh_native",
      "sources": [
        "src/binding.cc",
        "src/errors.cc",
        "src/shm_segment.cc",
        "src/fd_watcher.cc",
        "src/doorbell.cc",
        "src/spin.cc",
        "src/mqueue.cc",
        "src/semaphore.cc",
        "src/fifo.cc",
        "src/peer_cred.cc",
        "src/pidfd.cc",
        "src/pages.cc",
        "src/uncounted_buffer.cc",
        "src/frame_blocks.cc",
        "src/ownership.cc"
      ],
      "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")"],
      "defines": ["NAPI_VERSION=8", "NAPI_CPP_EXCEPTIONS", "NODE_ADDON_API_DISABLE_DEPRECATED"],
      "cflags!": ["-fno-exceptions"],
      "cflags_cc!": ["-fno-exceptions", "-std=gnu++17"],
      "cflags_cc": ["-std=c++17", "-O2", "-Wall", "-Wextra", "-fexceptions"],
      "libraries": ["-lrt", "-lpthread"]
    }
  ]
}
