// cuda_host.py: a CUDA thread block on the host. Every thread of the block is a fiber (its own
// stack, switched cooperatively), so a kernel that needs the rest of its block runs unchanged:
// `__syncthreads()` is a real barrier of the block's fibers, `__shfl_down_sync` and
// `__shfl_xor_sync` real exchanges between the 32 fibers of a warp, `__shared__` memory is
// one copy for the block, and `extern __shared__` is a buffer of exactly the launch's dynamic
// size, poisoned with NaN bytes before each block and followed by a canary checked after it.
//
// Between barriers the fibers run in a chosen order (HostSchedule): a missing barrier shows
// only under some orders, so the tests run several. A barrier that can never complete (some
// threads exited or wait at another barrier) stops the launch with every thread's state.
//
// Switching: a fiber starts once per launch through ucontext (makecontext/setcontext) and is
// then switched with _setjmp/_longjmp, which do not save the signal mask (a system call).
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <ucontext.h>

#include <functional>
#include <random>
#include <string>
#include <vector>

struct host_dim3 { unsigned int x, y, z; };

// The launch, as cuda_host.py passes it (a ctypes Structure with the same fields).
struct HostLaunch {
    unsigned int grid[3], block[3];
    long long shared_bytes;
    int schedule;  // HostSchedule
    unsigned int seed;
};
enum HostSchedule { HOST_FORWARD = 0, HOST_REVERSE = 1, HOST_SHUFFLED = 2, HOST_WARP_GREEDY = 3 };
enum HostState { HOST_READY, HOST_AT_BLOCK_BARRIER, HOST_AT_WARP_BARRIER, HOST_DONE };

struct HostFiber {
    ucontext_t start;     // where a fresh fiber begins (host_fiber_main)
    jmp_buf resume;       // where a started fiber continues
    bool started = false;
    host_dim3 idx;
    int linear = 0, warp = 0, lane = 0;
    HostState state = HOST_READY;
    int block_barriers = 0, warp_barriers = 0;  // passed in this block (for the report)
    std::vector<char> stack;
};

static const long long HOST_STACK = 256 * 1024;
static const int HOST_CANARY = 64;  // bytes after dynamic shared memory, checked per block

static std::vector<HostFiber> host_fibers;
static HostFiber* host_current = nullptr;
static jmp_buf host_scheduler;
static std::function<void()>* host_body = nullptr;
static bool host_in_fiber = false;
static host_dim3 blockIdx, blockDim, gridDim;
static std::vector<unsigned char> host_dynamic_shared;
static std::vector<unsigned char> host_warp_slots;  // 32 lanes x 16 bytes per warp
static std::string host_error;

#define threadIdx (host_current->idx)

extern "C" const char* host_last_error() { return host_error.c_str(); }

// ---------------------------------------------------------------------------- switching
static void host_to_scheduler() {
    if (_setjmp(host_current->resume) == 0) _longjmp(host_scheduler, 1);
}

static void host_fiber_main() {
    for (;;) {  // one pass per block; the scheduler resumes a DONE fiber for the next block
        (*host_body)();
        host_current->state = HOST_DONE;
        host_to_scheduler();
    }
}

static void host_run(HostFiber& fiber) {
    host_current = &fiber;
    if (_setjmp(host_scheduler) != 0) return;  // the fiber yielded or finished
    if (!fiber.started) {
        fiber.started = true;
        getcontext(&fiber.start);
        fiber.start.uc_stack.ss_sp = fiber.stack.data();
        fiber.start.uc_stack.ss_size = fiber.stack.size();
        fiber.start.uc_link = nullptr;  // host_fiber_main never returns
        makecontext(&fiber.start, host_fiber_main, 0);
        setcontext(&fiber.start);
    }
    _longjmp(fiber.resume, 1);
}

// ----------------------------------------------------------------------- CUDA's features
void __syncthreads() {
    host_current->state = HOST_AT_BLOCK_BARRIER;
    host_to_scheduler();
}

static void host_warp_barrier() {
    host_current->state = HOST_AT_WARP_BARRIER;
    host_to_scheduler();
}

// Every lane deposits its value, the warp meets, each lane reads lane `source`'s (its own
// when `source` lies past the warp's end), the warp meets again (so no deposit overwrites a
// slot still to be read).
template <typename T> T host_shuffle(T value, int source) {
    static_assert(sizeof(T) <= 16, "shuffle of a type wider than 16 bytes");
    unsigned char* slots = &host_warp_slots[(size_t)host_current->warp * 32 * 16];
    memcpy(slots + host_current->lane * 16, &value, sizeof(T));
    host_warp_barrier();
    int lanes = (int)(host_fibers.size() - (size_t)host_current->warp * 32);
    if (source >= 32 || source >= lanes) source = host_current->lane;
    T got;
    memcpy(&got, slots + source * 16, sizeof(T));
    host_warp_barrier();
    return got;
}

// Lane i gets lane i + delta's value.
template <typename T> T __shfl_down_sync(unsigned int, T value, int delta) {
    return host_shuffle(value, host_current->lane + delta);
}

// Lane i gets lane (i xor lane_mask)'s value (a butterfly: both lanes of a pair swap).
template <typename T> T __shfl_xor_sync(unsigned int, T value, int lane_mask) {
    return host_shuffle(value, host_current->lane ^ lane_mask);
}

template <typename T> T* host_shared() { return (T*)host_dynamic_shared.data(); }

// ----------------------------------------------------------------------------- scheduling
static const char* host_state_name(HostState state) {
    switch (state) {
        case HOST_READY: return "ready";
        case HOST_AT_BLOCK_BARRIER: return "at __syncthreads";
        case HOST_AT_WARP_BARRIER: return "at a warp shuffle";
        default: return "exited";
    }
}

static void host_report(const char* what) {
    char line[256];
    snprintf(line, sizeof line, "%s in block (%u, %u, %u); threads:\n", what, blockIdx.x,
             blockIdx.y, blockIdx.z);
    host_error = line;
    int shown = 0;
    for (HostFiber& f : host_fibers) {
        if (shown++ == 64) { host_error += "  ...\n"; break; }
        snprintf(line, sizeof line, "  thread %d (warp %d lane %d): %s, passed %d barriers\n",
                 f.linear, f.warp, f.lane, host_state_name(f.state), f.block_barriers);
        host_error += line;
    }
}

// The next fiber to run, or -1 when none is ready.
static int host_pick(int schedule, int last, std::mt19937& random) {
    int n = (int)host_fibers.size();
    if (schedule == HOST_WARP_GREEDY && last >= 0) {
        int warp = host_fibers[last].warp;  // keep running the warp that ran last
        for (int t = warp * 32; t < n && t < warp * 32 + 32; ++t)
            if (host_fibers[t].state == HOST_READY) return t;
    }
    std::vector<int> ready;
    for (int t = 0; t < n; ++t)
        if (host_fibers[t].state == HOST_READY) ready.push_back(t);
    if (ready.empty()) return -1;
    if (schedule == HOST_SHUFFLED) return ready[random() % ready.size()];
    if (schedule == HOST_REVERSE) return ready.back();
    return ready.front();  // forward; warp-greedy: the lowest warp goes first, and ahead
}

static bool host_warp_waits(int warp) {
    int n = (int)host_fibers.size();
    for (int t = warp * 32; t < n && t < warp * 32 + 32; ++t)
        if (host_fibers[t].state != HOST_AT_WARP_BARRIER) return false;
    return true;
}

static void host_release_warp(int warp) {
    int n = (int)host_fibers.size();
    for (int t = warp * 32; t < n && t < warp * 32 + 32; ++t) {
        host_fibers[t].state = HOST_READY;
        host_fibers[t].warp_barriers++;
    }
}

// Nobody is ready: release every warp whose lanes all wait at a shuffle, else the block
// barrier if every thread waits there; false if neither can ever complete.
static bool host_release() {
    int warps = (int)(host_fibers.size() + 31) / 32;
    bool released = false;
    for (int w = 0; w < warps; ++w) {
        if (host_warp_waits(w)) {
            host_release_warp(w);
            released = true;
        }
    }
    if (released) return true;
    for (HostFiber& f : host_fibers)
        if (f.state != HOST_AT_BLOCK_BARRIER) return false;
    for (HostFiber& f : host_fibers) {
        f.state = HOST_READY;
        f.block_barriers++;
    }
    return true;
}

static bool host_run_block(const HostLaunch& launch, std::mt19937& random) {
    memset(host_dynamic_shared.data(), 0xff, host_dynamic_shared.size());  // NaN everywhere
    for (HostFiber& f : host_fibers) {
        f.state = HOST_READY;
        f.block_barriers = f.warp_barriers = 0;
    }
    int last = -1;
    for (;;) {
        bool greedy = launch.schedule == HOST_WARP_GREEDY;
        if (greedy && last >= 0 && host_warp_waits(host_fibers[last].warp)) {
            host_release_warp(host_fibers[last].warp);  // that warp runs ahead, alone
        }
        int next = host_pick(launch.schedule, last, random);
        if (next >= 0) {
            host_run(host_fibers[next]);
            last = next;
            continue;
        }
        bool done = true;
        for (HostFiber& f : host_fibers) done = done && f.state == HOST_DONE;
        if (done) break;
        if (!host_release()) {
            host_report("a barrier that can never complete");
            return false;
        }
        if (host_fibers[0].state == HOST_READY && host_fibers.back().state == HOST_READY) {
            last = -1;  // the block barrier opened: warp-greedy starts again from warp 0
        }
    }
    size_t end = (size_t)launch.shared_bytes;
    for (size_t b = end; b < end + HOST_CANARY; ++b) {
        if (host_dynamic_shared[b] != 0xff) {
            char line[160];
            snprintf(line, sizeof line,
                     "a write past the end of dynamic shared memory (%lld bytes) in block "
                     "(%u, %u, %u), at byte %zu",
                     launch.shared_bytes, blockIdx.x, blockIdx.y, blockIdx.z, b);
            host_error = line;
            return false;
        }
    }
    return true;
}

// Run `body` as the kernel of `launch`: every block in turn, every thread a fiber. 0 when it
// completed; 1 with host_last_error() set when a barrier deadlocked or memory was overrun.
static int host_launch(const HostLaunch* launch, std::function<void()>& body) {
    gridDim = {launch->grid[0], launch->grid[1], launch->grid[2]};
    blockDim = {launch->block[0], launch->block[1], launch->block[2]};
    size_t threads = (size_t)blockDim.x * blockDim.y * blockDim.z;
    if (host_fibers.size() != threads) host_fibers = std::vector<HostFiber>(threads);
    for (size_t t = 0; t < threads; ++t) {
        HostFiber& f = host_fibers[t];
        f.started = false;  // a fresh start for every launch: no frame of an old one survives
        if (f.stack.empty()) f.stack.resize(HOST_STACK);
        f.linear = (int)t;
        f.warp = (int)(t / 32);
        f.lane = (int)(t % 32);
        f.idx = {(unsigned)(t % blockDim.x), (unsigned)(t / blockDim.x % blockDim.y),
                 (unsigned)(t / ((size_t)blockDim.x * blockDim.y))};
    }
    host_dynamic_shared.assign((size_t)launch->shared_bytes + HOST_CANARY, 0xff);
    host_warp_slots.assign((threads + 31) / 32 * 32 * 16, 0);
    host_body = &body;
    host_in_fiber = true;
    std::mt19937 random(launch->seed);
    int status = 0;
    for (unsigned z = 0; z < gridDim.z && status == 0; ++z)
        for (unsigned y = 0; y < gridDim.y && status == 0; ++y)
            for (unsigned x = 0; x < gridDim.x && status == 0; ++x) {
                blockIdx = {x, y, z};
                if (!host_run_block(*launch, random)) status = 1;
            }
    host_in_fiber = false;
    host_current = nullptr;
    return status;
}
