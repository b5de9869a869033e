// Test services keep their event queues small: each queue counts against the user's
// RLIMIT_MSGQUEUE (800 KiB by default), and test files run in parallel.
process.env.HOSTMESH_MQUEUE_MESSAGE_SIZE ??= '2048';
